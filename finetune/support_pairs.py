"""Question-answer pairs for a customer-service adapter, from product documents and past chats, with a report.

:func:`build_support_data` runs, in order, each step counted in :class:`SupportData.report`:

1. The chat logs through :func:`finetune.chatlogs.exchanges`: personal data scrubbed, greetings, thank-yous,
   too-short and off-topic turns dropped, each customer question paired with the agent's reply.
2. Each log pair through :func:`finetune.support_docs.consistency`: an answer stating a figure or an error code
   the documents do not (``contradicts_docs``) or sharing little with any section (``ungrounded``) is dropped;
   a question nobody answered is ``unanswered``.
3. Pairs from the documents (:func:`doc_pairs`): every FAQ entry, manual section and error-code item, asked with
   the templates of the vocabulary in its own language, answered with the section's own text.
4. With a teacher (:mod:`finetune.support_teacher`), more questions per section and a reworded answer, every one
   through the same checks.
5. Refusals: the off-topic customer questions from the logs, answered with the vocabulary's refusal, so the
   adapter learns to decline what the documents do not cover.
6. All of it through the fine-tuning pipeline's cleaning stages (:func:`finetune.clean.clean_examples`):
   normalization, language, length, exact and near duplicates of a question with the same section,
   decontamination against every evaluation question (``evals/datasets``, the held-out customer questions
   included).

**Without a teacher** the document questions are template wrappers around the FAQ's own questions and the
manual's headings ("What does the manual say about replacing the filter?"), two per section; the answers are
the documents' sentences verbatim. The adapter therefore meets few ways of asking and answers in the manual's
voice; the logs add real customers' wording for the topics they cover. A teacher adds paraphrased questions and
conversational answers, still checked against the documents.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from finetune.chatlogs import Conversation, LogVocabulary, exchanges, log_vocabulary
from finetune.clean import CleaningConfig, clean_examples
from finetune.examples import QueryExample
from finetune.support_docs import DocSection, consistency
from kubeai.errors import TrainingError
from kubeai.files import write_text_atomic

__all__ = [
    "SUPPORT_SYSTEM_PROMPT",
    "PairSource",
    "SupportData",
    "SupportPair",
    "Teacher",
    "build_support_data",
    "chat_record",
    "doc_pairs",
    "read_pairs",
    "write_support_data",
]

SUPPORT_SYSTEM_PROMPT = (
    "You are the customer-service assistant for the AeroPure 3 air purifier. Answer in the customer's language "
    "from the product's manual and FAQ; if they do not cover the question, say so."
)
"""The system message of every training conversation; the tuned assistant must send the same one."""

PairSource = Literal["docs", "logs", "teacher", "refusal"]


@dataclass(frozen=True, kw_only=True)
class SupportPair:
    """One training pair.

    Attributes:
        question: What a customer asks.
        answer: What the assistant should say.
        language: ``en`` or ``zh``.
        source: ``docs`` (template question on a section), ``logs`` (a past chat), ``teacher`` (a teacher's
            question or answer on a section) or ``refusal`` (an off-topic question from the logs).
        provenance: Where it came from: ``section`` (a :class:`DocSection` id), ``conversation`` and ``turn``,
            ``model`` for a teacher.
    """

    question: str
    answer: str
    language: str
    source: PairSource
    provenance: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, one line of ``pairs.jsonl``."""
        return asdict(self)


Teacher = Callable[[Sequence[DocSection]], tuple[list[SupportPair], dict[str, Any]]]
"""Proposes pairs for sections and reports its counts (:func:`finetune.support_teacher.question_teacher`)."""


@dataclass(frozen=True, kw_only=True)
class SupportData:
    """The kept pairs and what every step did.

    Attributes:
        pairs: The pairs that passed every check, documents first, then logs, teacher and refusals.
        report: ``raw`` (conversations, turns), ``pii`` (replaced per kind), ``turns_removed`` (per filter),
            ``log_pairs`` (extracted, removed per reason, kept), ``doc_pairs``, ``teacher``, ``refusals``,
            ``cleaning`` (the pipeline's report), ``kept_pairs``, ``by_source``, ``by_language`` and ``method``.
    """

    pairs: tuple[SupportPair, ...]
    report: dict[str, Any]


def doc_pairs(sections: Sequence[DocSection], vocabulary: LogVocabulary | None = None) -> list[SupportPair]:
    """Template questions on every section, answered with the section's text (see the module's description)."""
    templates = (vocabulary or log_vocabulary()).raw["templates"]
    pairs: list[SupportPair] = []
    for section in sections:
        lang = section.language if section.language in templates else "en"
        for template in templates[lang][section.kind]:
            question = template.format(
                question=_lower_first(section.title) if not template.startswith("{") else section.title,
                title=_lower_first(section.title),
                key=section.title,
            )
            pairs.append(
                SupportPair(
                    question=question,
                    answer=section.text,
                    language=section.language,
                    source="docs",
                    provenance={"section": section.id},
                )
            )
    return pairs


def build_support_data(
    conversations: Sequence[Conversation],
    sections: Sequence[DocSection],
    *,
    eval_questions: Sequence[str],
    teacher: Teacher | None = None,
    vocabulary: LogVocabulary | None = None,
    cleaning: CleaningConfig | None = None,
) -> SupportData:
    """Clean the logs, synthesize pairs from the documents and the logs, and clean them all.

    Args:
        conversations: Past chats (:func:`finetune.chatlogs.load_chats`).
        sections: The product documents (:func:`finetune.support_docs.load_sections`).
        eval_questions: Every evaluation question (:func:`evals.dataset.eval_questions`); pairs near one go.
        teacher: Proposes more pairs per section; ``None`` makes pairs from templates and logs only.
        vocabulary: Filters, templates and refusal text; ``None`` means the packaged one.
        cleaning: The cleaning stages' thresholds; ``None`` means the pipeline's defaults.

    Returns:
        The kept pairs and the report.

    Raises:
        TrainingError: No pair survives, or as raised by the teacher.
    """
    words = vocabulary or log_vocabulary()
    found, off_topic, log_counts = exchanges(conversations, words)
    log_removed = {"unanswered": 0, "contradicts_docs": 0, "ungrounded": 0}
    from_logs: list[SupportPair] = []
    for exchange in found:
        if not exchange.answer:
            log_removed["unanswered"] += 1
            continue
        check = consistency(exchange.answer, sections, language=exchange.language)
        if check.reason is not None or check.section is None:
            log_removed[check.reason or "ungrounded"] += 1
            continue
        from_logs.append(
            SupportPair(
                question=exchange.question,
                answer=exchange.answer,
                language=exchange.language,
                source="logs",
                provenance={
                    "conversation": exchange.conversation,
                    "turn": str(exchange.turn),
                    "section": check.section.id,
                },
            )
        )
    from_docs = doc_pairs(sections, words)
    taught, teacher_report = teacher(sections) if teacher is not None else ([], None)
    refusals = [
        SupportPair(
            question=item.question,
            answer=words.raw["refusal"][item.language],
            language=item.language,
            source="refusal",
            provenance={"conversation": item.conversation, "turn": str(item.turn)},
        )
        for item in off_topic
    ]
    candidates = [*from_docs, *from_logs, *taught, *refusals]
    cleaned = clean_examples(
        (_as_example(index, pair) for index, pair in enumerate(candidates)),
        eval_questions=eval_questions,
        config=cleaning,
    )
    kept = tuple(
        _replace_question(candidates[int((example.provenance or {})["pair"] or 0)], example.question)
        for example in cleaned.kept
    )
    if not kept:
        raise TrainingError("No customer-service pair survived cleaning; check the documents and the chat logs.")
    report: dict[str, Any] = {
        "method": "teacher" if teacher is not None else "templates and logs (no teacher)",
        "raw": {"conversations": log_counts["conversations"], "turns": log_counts["turns"]},
        "pii": log_counts["pii"],
        "turns_removed": log_counts["turns_removed"],
        "turns_kept": log_counts["turns_kept"],
        "log_pairs": {"extracted": len(found), "removed": log_removed, "kept": len(from_logs)},
        "doc_pairs": {"sections": len(sections), "pairs": len(from_docs)},
        "teacher": teacher_report,
        "refusals": len(refusals),
        "candidates": len(candidates),
        "cleaning": cleaned.to_json(),
        "kept_pairs": len(kept),
        "by_source": dict(Counter(pair.source for pair in kept)),
        "by_language": dict(Counter(pair.language for pair in kept)),
    }
    return SupportData(pairs=kept, report=report)


def chat_record(pair: SupportPair) -> dict[str, Any]:
    """The pair as one line of ``train.jsonl`` in the LoRA trainer's format (:func:`finetune.lora.load_examples`)."""
    return {
        "messages": [
            {"role": "system", "content": SUPPORT_SYSTEM_PROMPT},
            {"role": "user", "content": pair.question},
            {"role": "assistant", "content": pair.answer},
        ],
        "language": pair.language,
    }


def write_support_data(folder: Path, data: SupportData) -> dict[str, Path]:
    """Write ``pairs.jsonl``, ``train.jsonl`` and ``data_report.json`` into ``folder``, each atomically.

    The report gains ``data_hash``: the SHA-256 of ``train.jsonl``, which the adapter's card records.

    Returns:
        The three paths by name (``pairs``, ``train``, ``report``).
    """
    paths = {"pairs": folder / "pairs.jsonl", "train": folder / "train.jsonl", "report": folder / "data_report.json"}
    train = "".join(json.dumps(chat_record(pair), ensure_ascii=False) + "\n" for pair in data.pairs)
    write_text_atomic(paths["pairs"], "".join(json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in data.pairs))
    write_text_atomic(paths["train"], train)
    report = {**data.report, "data_hash": hashlib.sha256(train.encode("utf-8")).hexdigest()}
    write_text_atomic(paths["report"], json.dumps(report, ensure_ascii=False, indent=2))
    return paths


def read_pairs(path: Path) -> list[SupportPair]:
    """Read pairs written by :func:`write_support_data`.

    Raises:
        TrainingError: The file is unreadable or a line is not a pair; the message names the line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingError(f"Cannot read pairs from {path}: {exc}.") from None
    pairs: list[SupportPair] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            pairs.append(
                SupportPair(
                    question=str(data["question"]),
                    answer=str(data["answer"]),
                    language=str(data["language"]),
                    source=data["source"],
                    provenance={str(k): str(v) for k, v in data.get("provenance", {}).items()},
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise TrainingError(f"{path} line {number} is not a question-answer pair ({exc}).") from None
    return pairs


def _as_example(index: int, pair: SupportPair) -> QueryExample:
    """A pair in the cleaning stages' shape: its section is its "gold", so near duplicates go per section.

    A refusal has no section; like an abstention in the metrics data, all refusals share one gold.
    """
    section = pair.provenance.get("section")
    return QueryExample(
        question=pair.question,
        language="zh" if pair.language == "zh" else "en",
        query={"section": section} if section else None,
        intent=pair.source,
        provenance={"pair": str(index)},
    )


def _replace_question(pair: SupportPair, question: str) -> SupportPair:
    return SupportPair(
        question=question, answer=pair.answer, language=pair.language, source=pair.source, provenance=pair.provenance
    )


def _lower_first(text: str) -> str:
    """``Replacing the filter`` -> ``replacing the filter``; ``AF-3 filter`` and Chinese stay as they are."""
    first = text.split(" ", 1)[0]
    if text[:1].isascii() and text[:1].isupper() and not first.isupper() and not any(c.isdigit() for c in first):
        return text[0].lower() + text[1:]
    return text
