"""Clean training examples before they become chat data: an ordered tuple of small pure stages with a report.

:data:`STAGES` runs in this order, each stage a function ``(examples, context) -> StageOutput`` testable alone:

1. :func:`normalize_questions`: whitespace collapsed and stripped (counted as ``normalized``, not as a
   removal). The characters stay as written: full-width ``，`` and ``？`` are what Chinese users type, so a model
   trained on them sees its users' text. Every comparison below reads the NFKC form (:func:`normalize_text`), so
   ``？`` and ``?`` never make two questions differ.
2. :func:`filter_language`: drop an example whose text is not in its ``language`` (the project's one
   :func:`kubeai.language.detect_language`).
3. :func:`filter_length`: drop a question shorter than ``min_chars`` or longer than ``max_chars``.
4. :func:`drop_exact_duplicates`: the same question (NFKC, casefolded) keeps its first copy; copies that disagree on the
   gold query make the question ambiguous, and every copy goes (``conflicting``).
5. :func:`drop_near_duplicates`: an example near an already kept one *with the same gold query* goes; template
   variants that differ in one slot ask for different queries and stay.
6. :func:`decontaminate`: an example near any evaluation question goes, whatever its query.

Near means a Jaccard similarity of :func:`shingles` at or above a threshold. Candidates come from a ``datasketch``
MinHash LSH index, whose bands are chosen so that a pair exactly at the threshold is a candidate with probability
:data:`CANDIDATE_RECALL`; every candidate is then checked with the exact Jaccard of its shingle sets, so the LSH
decides only which pairs are compared, never what is removed.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from finetune.examples import QueryExample
from kubeai.errors import TrainingError
from kubeai.language import detect_language

if TYPE_CHECKING:
    from datasketch import MinHash

__all__ = [
    "CANDIDATE_RECALL",
    "REMOVAL_REASONS",
    "SHINGLE_SIZES",
    "STAGES",
    "CleaningConfig",
    "CleaningContext",
    "CleaningResult",
    "Stage",
    "StageOutput",
    "clean_examples",
    "decontaminate",
    "drop_exact_duplicates",
    "drop_near_duplicates",
    "filter_language",
    "filter_length",
    "normalize_questions",
    "normalize_text",
    "shingles",
    "tidy_text",
]

SHINGLE_SIZES: Mapping[str, int] = {"en": 4, "zh": 2}
"""Characters per shingle, by the text's detected language.

A Chinese character carries about as much as an English word, so one size cannot fit both: bigrams of Chinese
characters behave like word pairs, while English needs 4-grams of letters before shingles stop being shared by
unrelated sentences ("wh", "at", "th"). On the pairs in ``tests/unit/finetune/test_clean.py`` 4-grams put the
rewordings of an English evaluation question at 0.72 or more and a question of the same shape about another
metric ("total order count in 2025") at 0.51; 3-grams score that other question 0.56, too close to the 0.6
threshold, and 5-grams pull the rewordings down to 0.66. Chinese trigrams score a one-character synonym (一共 for
总共) 0.50, bigrams 0.67.
"""

REMOVAL_REASONS: tuple[str, ...] = (
    "language",
    "length",
    "exact_duplicate",
    "conflicting",
    "near_duplicate",
    "decontaminated",
)
"""The keys of :attr:`CleaningResult.removed`, in stage order; every key is always present."""

CANDIDATE_RECALL = 0.99
"""The probability that the LSH index offers a pair whose Jaccard similarity equals the threshold."""


@dataclass(frozen=True, kw_only=True)
class CleaningConfig:
    """Settings of the cleaning stages; an invalid value raises :class:`~kubeai.errors.TrainingError` naming it.

    Attributes:
        min_chars: Shortest question kept, in characters after normalization.
        max_chars: Longest question kept.
        near_duplicate_threshold: Jaccard similarity of shingles at or above which two examples with the same
            gold query are near duplicates. 0.9 removes case, punctuation and one-letter differences but keeps
            real rewordings ("What was GMV last month?" and "What was the GMV last month?" score 0.69).
        decontamination_threshold: Jaccard similarity at or above which an example is too close to an evaluation
            question. 0.6 removes an evaluation question reworded by a word or a synonym (0.67 to 1.0 on the
            tested pairs in both languages) and keeps a question about another metric of the same shape (0.51);
            like any n-gram decontamination it also removes the same question about another year or period.
            Short Chinese questions share most bigrams with any question of the same frame, so a few about another
            metric go too (of about 1,800 questions filled from the synthesizer's templates, 7 were removed against
            the 310 bundled evaluation questions, 5 of them such Chinese frames at 0.60 to 0.67): the cheap side
            to err on, since a lost example costs little and a leaked one inflates every score.
        num_perm: MinHash permutations; more make the LSH candidates sharper and cost time linearly.
        seed: Seed of the MinHash permutations.
    """

    min_chars: int = 4
    max_chars: int = 200
    near_duplicate_threshold: float = 0.9
    decontamination_threshold: float = 0.6
    num_perm: int = 128
    seed: int = 1

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("min_chars", _is_int(self.min_chars) and self.min_chars >= 1, "an integer >= 1"),
            (
                "max_chars",
                _is_int(self.max_chars) and _is_int(self.min_chars) and self.max_chars >= self.min_chars,
                "an integer >= min_chars",
            ),
            ("near_duplicate_threshold", _is_fraction(self.near_duplicate_threshold), "a number in (0, 1]"),
            ("decontamination_threshold", _is_fraction(self.decontamination_threshold), "a number in (0, 1]"),
            ("num_perm", _is_int(self.num_perm) and 16 <= self.num_perm <= 1024, "an integer in [16, 1024]"),
            ("seed", _is_int(self.seed) and 0 <= self.seed < 2**32, "an integer in [0, 2**32)"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise TrainingError(f"Cleaning field `{name}` must be {expected}, got {getattr(self, name)!r}.")


@dataclass(frozen=True, kw_only=True)
class CleaningContext:
    """What every stage may read besides the examples.

    Attributes:
        config: The thresholds and limits.
        eval_questions: The evaluation questions to keep out of training, as written.
    """

    config: CleaningConfig = field(default_factory=CleaningConfig)
    eval_questions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class StageOutput:
    """What one stage kept and counted.

    Attributes:
        kept: The examples that go on to the next stage, in input order.
        removed: Examples dropped, by reason (keys of :data:`REMOVAL_REASONS`).
        changed: Examples whose question the stage rewrote (only normalization rewrites).
    """

    kept: tuple[QueryExample, ...]
    removed: Mapping[str, int] = field(default_factory=dict)
    changed: int = 0


Stage = Callable[[tuple[QueryExample, ...], CleaningContext], StageOutput]
"""A cleaning step: a pure function from the examples and the context to what it kept and counted."""


@dataclass(frozen=True, kw_only=True)
class CleaningResult:
    """The cleaned examples and what each stage did.

    Attributes:
        kept: The examples that passed every stage, in input order, whitespace tidied (characters as written).
        removed: Examples removed, by reason; every key of :data:`REMOVAL_REASONS` is present.
        normalized: Questions whose whitespace stage 1 tidied (not removals).
        input_count: Examples given; always ``len(kept) + sum(removed.values())``.
    """

    kept: tuple[QueryExample, ...]
    removed: dict[str, int]
    normalized: int
    input_count: int

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data: counts only (:func:`finetune.examples.write_examples` writes the examples)."""
        return {
            "input_count": self.input_count,
            "kept_count": len(self.kept),
            "normalized": self.normalized,
            "removed": dict(self.removed),
        }


def normalize_text(text: str) -> str:
    """Unicode NFKC (full-width ``？`` and letters become ASCII, ``。`` and ``、`` stay), whitespace collapsed.

    The form questions are compared in (duplicates, decontamination); training text keeps its characters
    (:func:`tidy_text`).
    """
    return " ".join(unicodedata.normalize("NFKC", text).split())


def tidy_text(text: str) -> str:
    """Whitespace collapsed and stripped; every other character as written (``，？`` stay full-width)."""
    return " ".join(text.split())


def shingles(text: str) -> frozenset[str]:
    """The character n-grams that near-duplicate checks compare, n from :data:`SHINGLE_SIZES`.

    The text is NFKC-normalized and casefolded, and punctuation is dropped, so case and punctuation never make two
    questions differ; English keeps one space between words, Chinese none. A text shorter than n is one shingle.

    Args:
        text: A question.

    Returns:
        The shingles; empty when the text holds no letter or digit.
    """
    words = "".join(c if c.isalnum() else " " for c in unicodedata.normalize("NFKC", text).casefold()).split()
    language = detect_language(text)
    key = ("" if language == "zh" else " ").join(words)
    size = SHINGLE_SIZES.get(language, SHINGLE_SIZES["en"])
    if len(key) <= size:
        return frozenset({key} if key else ())
    return frozenset(key[i : i + size] for i in range(len(key) - size + 1))


def normalize_questions(examples: tuple[QueryExample, ...], context: CleaningContext) -> StageOutput:
    """Stage 1: every question through :func:`tidy_text`; counts the questions it changed.

    Only whitespace changes: the question is training text, and NFKC would turn the full-width punctuation of a
    Chinese question into ASCII that users do not type. Later stages compare the NFKC form.
    """
    kept = tuple(example.with_question(tidy_text(example.question)) for example in examples)
    changed = sum(before.question != after.question for before, after in zip(examples, kept, strict=True))
    return StageOutput(kept=kept, changed=changed)


def filter_language(examples: tuple[QueryExample, ...], context: CleaningContext) -> StageOutput:
    """Stage 2: drop examples whose question :func:`~kubeai.language.detect_language` places in another language."""
    kept = tuple(example for example in examples if detect_language(example.question) == example.language)
    return StageOutput(kept=kept, removed={"language": len(examples) - len(kept)})


def filter_length(examples: tuple[QueryExample, ...], context: CleaningContext) -> StageOutput:
    """Stage 3: drop questions shorter than ``min_chars`` or longer than ``max_chars`` characters."""
    low, high = context.config.min_chars, context.config.max_chars
    kept = tuple(example for example in examples if low <= len(example.question) <= high)
    return StageOutput(kept=kept, removed={"length": len(examples) - len(kept)})


def drop_exact_duplicates(examples: tuple[QueryExample, ...], context: CleaningContext) -> StageOutput:
    """Stage 4: one copy of each question (NFKC, casefolded); none of a question whose copies disagree on the query.

    Copies that agree count as ``exact_duplicate`` (all but the first); when copies carry different gold
    queries, no single answer is right, so every copy counts as ``conflicting``.
    """
    groups: dict[str, list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault(normalize_text(example.question).casefold(), []).append(index)
    keep: set[int] = set()
    duplicates = conflicting = 0
    for indexes in groups.values():
        if len({_query_key(examples[i].query) for i in indexes}) > 1:
            conflicting += len(indexes)
        else:
            keep.add(indexes[0])
            duplicates += len(indexes) - 1
    kept = tuple(example for index, example in enumerate(examples) if index in keep)
    return StageOutput(kept=kept, removed={"exact_duplicate": duplicates, "conflicting": conflicting})


def drop_near_duplicates(examples: tuple[QueryExample, ...], context: CleaningContext) -> StageOutput:
    """Stage 5: drop an example near an earlier kept example with the same gold query (JSON-equal).

    Near is a Jaccard similarity of :func:`shingles` at or above ``near_duplicate_threshold``. Questions that
    differ in one slot ("GMV last month" and "GMV this month") have different queries, so both stay.
    """
    from datasketch import MinHashLSH

    config = context.config
    threshold = config.near_duplicate_threshold
    sets = [shingles(example.question) for example in examples]
    queries = [_query_key(example.query) for example in examples]
    index = MinHashLSH(num_perm=config.num_perm, params=_lsh_params(threshold, config.num_perm))
    kept: list[QueryExample] = []
    for position, (example, minhash) in enumerate(zip(examples, _minhashes(sets, config), strict=True)):
        if any(
            queries[other] == queries[position] and _jaccard(sets[other], sets[position]) >= threshold
            for other in index.query(minhash)
        ):
            continue
        index.insert(position, minhash)
        kept.append(example)
    return StageOutput(kept=tuple(kept), removed={"near_duplicate": len(examples) - len(kept)})


def decontaminate(examples: tuple[QueryExample, ...], context: CleaningContext) -> StageOutput:
    """Stage 6: drop an example near any evaluation question, whatever its query.

    Near is a Jaccard similarity of :func:`shingles` at or above ``decontamination_threshold``; the evaluation
    questions are normalized as the examples were.
    """
    from datasketch import MinHashLSH

    config = context.config
    threshold = config.decontamination_threshold
    references = list(dict.fromkeys(shingles(normalize_text(question)) for question in context.eval_questions))
    index = MinHashLSH(num_perm=config.num_perm, params=_lsh_params(threshold, config.num_perm))
    for key, minhash in enumerate(_minhashes(references, config)):
        index.insert(key, minhash)
    sets = [shingles(example.question) for example in examples]
    kept = tuple(
        example
        for example, own, minhash in zip(examples, sets, _minhashes(sets, config), strict=True)
        if not any(_jaccard(references[key], own) >= threshold for key in index.query(minhash))
    )
    return StageOutput(kept=kept, removed={"decontaminated": len(examples) - len(kept)})


STAGES: tuple[Stage, ...] = (
    normalize_questions,
    filter_language,
    filter_length,
    drop_exact_duplicates,
    drop_near_duplicates,
    decontaminate,
)
"""The cleaning stages in the order :func:`clean_examples` runs them."""


def clean_examples(
    examples: Iterable[QueryExample],
    *,
    eval_questions: Sequence[str],
    config: CleaningConfig | None = None,
) -> CleaningResult:
    """Run :data:`STAGES` over the examples and report what each removed.

    Args:
        examples: The synthesized and paraphrased examples, in the order to keep (the first of duplicates wins).
        eval_questions: Every evaluation question, e.g. :func:`evals.dataset.eval_questions` of the datasets
            folder; examples near any of them are removed.
        config: Thresholds and limits; ``None`` means the defaults, ``CleaningConfig()``.

    Returns:
        The kept examples in input order, with the count each stage removed and the count normalization changed.

    Raises:
        TrainingError: ``eval_questions`` is a single string rather than a sequence of questions.
    """
    if isinstance(eval_questions, str):
        raise TrainingError("`eval_questions` must be a sequence of questions, not one string; wrap it in a list.")
    context = CleaningContext(config=config or CleaningConfig(), eval_questions=tuple(eval_questions))
    current = tuple(examples)
    input_count = len(current)
    removed = dict.fromkeys(REMOVAL_REASONS, 0)
    normalized = 0
    for stage in STAGES:
        output = stage(current, context)
        current = output.kept
        normalized += output.changed
        for reason, count in output.removed.items():
            removed[reason] += count
    return CleaningResult(kept=current, removed=removed, normalized=normalized, input_count=input_count)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_fraction(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 < value <= 1.0


def _query_key(query: dict[str, Any] | None) -> str:
    return json.dumps(query, sort_keys=True, ensure_ascii=False)


def _jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    union = len(left | right)
    return len(left & right) / union if union else 0.0


def _minhashes(sets: Sequence[frozenset[str]], config: CleaningConfig) -> list[MinHash]:
    from datasketch import MinHash

    batches = [[shingle.encode("utf-8") for shingle in sorted(shingle_set)] for shingle_set in sets]
    return list(MinHash.generator(batches, num_perm=config.num_perm, seed=config.seed))


def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows: the most rows per band (fewest spurious candidates) that still find a pair at the threshold.

    A pair of similarity ``s`` shares a band with probability ``1 - (1 - s**rows) ** bands``; datasketch's own
    choice balances misses against spurious candidates and misses 60 to 70% of the pairs at the threshold.
    """
    for rows in range(num_perm // 2, 0, -1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= CANDIDATE_RECALL:
            return bands, rows
    return num_perm, 1
