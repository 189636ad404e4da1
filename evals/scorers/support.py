"""The customer-service answer scorer: facts covered, refusals where the documents are silent, and the summary.

One answer to one :class:`~evals.items.CustomerServiceItem` is scored by :func:`score_answer`:

* **Fact coverage**: the share of the item's facts the answer states. A fact is a list of alternatives; it is
  covered when any alternative appears in the answer after :func:`match_key` (Unicode NFKC, casefolded, spaces
  and punctuation removed but currency signs, ``%`` and decimal points kept, so "30 days", "30-Days" and "30days"
  match, Chinese needs no word boundaries, "1,299" matches "1299" and "$12" does not match "1-2"). Chinese and
  English alternatives sit side by side in one fact; full-width "３０天" matches "30天".
* **Refusal**: :func:`is_refusal` finds a packaged phrase (``refusal_phrases.yaml``, English and Chinese) in the
  answer: "I don't know", "转人工", ... .
* **Correct**: all facts covered and no refusal on an answerable item; a refusal on an item that should be
  refused (the documents are silent on it).

:func:`summarize_answers` reports accuracy, mean fact coverage over the answerable items, refusal precision and
recall (:func:`~evals.scorers.abstention.abstention_scores`, a refusal being the positive) and p50 latency, for
all items and per language.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evals.items import CustomerServiceItem
from evals.scorers.abstention import abstention_scores
from evals.scorers.aggregate import percentile
from kubeai.errors import KubeAIError

__all__ = [
    "AnswerScore",
    "SupportSummary",
    "fact_coverage",
    "is_refusal",
    "match_key",
    "refusal_phrases",
    "score_answer",
    "summarize_answers",
]


_KEPT_SIGNS = frozenset("$¥€£%")


def match_key(text: str) -> str:
    """``text`` as facts are matched: NFKC, casefolded, letters, digits and currency signs and ``%`` kept.

    Spaces and punctuation go, except a decimal point between digits, so "2.4 GHz" is not "24 GHz", "$12" is not
    the "12" of "1-2 days", and "30 Days." matches "30 days".
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = [
        c
        for i, c in enumerate(folded)
        if c.isalnum()
        or c in _KEPT_SIGNS
        or (c == "." and 0 < i < len(folded) - 1 and folded[i - 1].isdigit() and folded[i + 1].isdigit())
    ]
    return "".join(kept)


@cache
def refusal_phrases() -> tuple[str, ...]:
    """The packaged refusal phrases of every language, as :func:`match_key` keys.

    Raises:
        KubeAIError: The phrase file is missing or malformed.
    """
    where = "evals/scorers/refusal_phrases.yaml"
    try:
        data = yaml.safe_load(resources.files("evals.scorers").joinpath("refusal_phrases.yaml").read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KubeAIError(f"{where} cannot be read: {exc}.") from None
    if not isinstance(data, Mapping) or not all(isinstance(v, list) for v in data.values()):
        raise KubeAIError(f"{where} must map each language code to a list of phrases.")
    keys = (match_key(str(phrase)) for phrases in data.values() for phrase in phrases)
    return tuple(dict.fromkeys(key for key in keys if key))


def is_refusal(answer: str) -> bool:
    """Whether ``answer`` says it does not know or hands the customer over to a human (a packaged phrase)."""
    key = match_key(answer)
    return any(phrase in key for phrase in refusal_phrases())


def fact_coverage(answer: str, facts: Sequence[Sequence[str]]) -> float:
    """The share of ``facts`` that ``answer`` states (any alternative of a fact counts); 1.0 for no facts."""
    if not facts:
        return 1.0
    key = match_key(answer)
    covered = sum(1 for fact in facts if any(match_key(alt) and match_key(alt) in key for alt in fact))
    return covered / len(facts)


@dataclass(frozen=True, kw_only=True)
class AnswerScore:
    """One answer, scored.

    Attributes:
        coverage: Share of the item's facts stated (1.0 for an item with none).
        refused: The answer refuses or hands over (:func:`is_refusal`).
        correct: All facts covered without refusing, or refused where the item should be refused.
    """

    coverage: float
    refused: bool
    correct: bool


def score_answer(item: CustomerServiceItem, answer: str) -> AnswerScore:
    """Score one answer to one item (see the module docstring for the rules)."""
    coverage = fact_coverage(answer, item.facts)
    refused = is_refusal(answer)
    correct = refused if item.should_refuse else (coverage == 1.0 and not refused)
    return AnswerScore(coverage=coverage, refused=refused, correct=correct)


@dataclass(frozen=True, kw_only=True)
class SupportSummary:
    """The figures of one mode over a set of answers.

    Attributes:
        items: Answers scored.
        accuracy: Share of correct answers.
        fact_coverage: Mean coverage over the items that should be answered (0.0 when there are none).
        refusal_precision: Share of refusals made on items that should be refused (1.0 when none was made).
        refusal_recall: Share of items that should be refused that were (1.0 when there are none).
        p50_latency_s: Median seconds per answer.
        errors: Answers that failed (a server error); they count as wrong and have no latency.
    """

    items: int
    accuracy: float
    fact_coverage: float
    refusal_precision: float
    refusal_recall: float
    p50_latency_s: float
    errors: int = 0

    def to_json(self) -> dict[str, Any]:
        """The figures as JSON-ready data, rounded to 3 decimals."""
        return {
            "items": self.items,
            "accuracy": round(self.accuracy, 3),
            "fact_coverage": round(self.fact_coverage, 3),
            "refusal_precision": round(self.refusal_precision, 3),
            "refusal_recall": round(self.refusal_recall, 3),
            "p50_latency_s": round(self.p50_latency_s, 3),
            "errors": self.errors,
        }


def summarize_answers(
    items: Sequence[CustomerServiceItem],
    scores: Sequence[AnswerScore | None],
    latencies: Sequence[float | None],
) -> SupportSummary:
    """Summarize one mode's answers; ``None`` is an answer that failed (wrong, no latency).

    Raises:
        ValueError: The three sequences differ in length.
    """
    if not len(items) == len(scores) == len(latencies):
        raise ValueError(f"{len(items)} items, {len(scores)} scores and {len(latencies)} latencies; pass one each.")
    answerable = [s.coverage if s else 0.0 for item, s in zip(items, scores, strict=True) if not item.should_refuse]
    refusals = abstention_scores([item.should_refuse for item in items], [bool(s and s.refused) for s in scores])
    return SupportSummary(
        items=len(items),
        accuracy=sum(1 for s in scores if s and s.correct) / len(items) if items else 0.0,
        fact_coverage=sum(answerable) / len(answerable) if answerable else 0.0,
        refusal_precision=refusals.precision,
        refusal_recall=refusals.recall,
        p50_latency_s=percentile([t for t in latencies if t is not None], 50),
        errors=sum(1 for s in scores if s is None),
    )
