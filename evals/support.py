"""Compare the customer-service assistant's modes on the held-out questions: score, summarize, report.

The harness stands beside ``agents/`` and never imports the assistant: the caller passes an :data:`AskSupport`
that answers one question in one mode (``app/`` fills it with :class:`agents.support.SupportAssistant`). Every
answer is scored by :mod:`evals.scorers.support`; per mode the summary gives accuracy, fact coverage, refusal
precision and recall and p50 latency, for all items and per language. A mode the caller cannot run (the LoRA
adapter not trained yet) is listed as pending with the reason and the command that runs it.

An answer that fails with a :class:`~kubeai.errors.ModelServerError` is recorded with its error and counts as
wrong; an unreachable server stops the run. :func:`write_support_report` writes ``report.md`` and
``report.json``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evals._records import write_json
from evals.dataset import Dataset
from evals.items import CustomerServiceItem
from evals.scorers.support import AnswerScore, SupportSummary, score_answer, summarize_answers
from kubeai.errors import ModelServerError, ModelServerUnavailableError
from kubeai.files import write_text_atomic

__all__ = [
    "AskSupport",
    "SupportEvalResult",
    "SupportReply",
    "evaluate_support",
    "support_table",
    "write_support_report",
]

SLICES = ("all", "en", "zh")


class SupportReply(Protocol):
    """One answer, as the harness scores it."""

    @property
    def text(self) -> str:
        """The answer."""
        ...

    @property
    def latency_s(self) -> float:
        """Seconds from the question to the answer."""
        ...


AskSupport = Callable[[str, str], Awaitable[SupportReply]]
"""Answers ``(question, mode)``."""


@dataclass(frozen=True, kw_only=True)
class SupportEvalResult:
    """What one comparison found.

    Attributes:
        dataset: The dataset's name and version, e.g. ``customer_service 1``.
        modes: The modes run, in order.
        summaries: Per mode, per slice (``all``, ``en``, ``zh``) the figures.
        records: One per (mode, item): the question, answer, scores, latency or error.
        pending: Modes not run, with why and how to run them.
    """

    dataset: str
    modes: tuple[str, ...]
    summaries: Mapping[str, Mapping[str, SupportSummary]]
    records: Sequence[Mapping[str, Any]]
    pending: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "dataset": self.dataset,
            "modes": list(self.modes),
            "summaries": {m: {s: v.to_json() for s, v in slices.items()} for m, slices in self.summaries.items()},
            "pending": dict(self.pending),
            "records": [dict(r) for r in self.records],
        }


async def evaluate_support(
    dataset: Dataset,
    ask: AskSupport,
    modes: Sequence[str],
    *,
    limit: int | None = None,
    pending: Mapping[str, str] | None = None,
    concurrency: int = 1,
    progress: Callable[[str], None] | None = None,
) -> SupportEvalResult:
    """Ask every item in every mode, one mode after another, and score the answers.

    Args:
        dataset: A ``customer_service`` dataset.
        ask: Answers one question in one mode.
        modes: The modes to run, in order.
        limit: Only the first N items.
        pending: Modes left out, each with why and the command that runs it.
        concurrency: Questions in flight at once within a mode. 1 measures each answer alone; more finishes sooner on
            a server that batches, and each latency then includes the wait for the others.
        progress: Told one line per mode as it starts and one per answer with its verdict and latency.

    Raises:
        DatasetError: The dataset is of another kind.
        ModelServerUnavailableError: The server cannot be reached (the run stops).
    """
    items = dataset.items_of(CustomerServiceItem)[:limit]
    gate = asyncio.Semaphore(concurrency)
    records: list[dict[str, Any]] = []
    summaries: dict[str, dict[str, SupportSummary]] = {}
    for mode in modes:
        if progress is not None:
            progress(f"{mode}: {len(items)} questions, {concurrency} at a time")
        done = 0

        async def one(
            item: CustomerServiceItem, mode: str = mode
        ) -> tuple[AnswerScore | None, float | None, dict[str, Any]]:
            nonlocal done
            record: dict[str, Any] = {"mode": mode, "item_id": item.id, "language": item.language}
            record |= {"question": item.question, "should_refuse": item.should_refuse}
            async with gate:
                try:
                    reply = await ask(item.question, mode)
                except ModelServerUnavailableError:
                    raise
                except ModelServerError as exc:
                    return None, None, record | {"error": str(exc)}
            score = score_answer(item, reply.text)
            done += 1
            if progress is not None:
                verdict = "correct" if score.correct else ("refused" if score.refused else "wrong")
                progress(f"  {mode} {done}/{len(items)} {item.id}: {verdict} in {reply.latency_s:.1f} s")
            return (
                score,
                reply.latency_s,
                record
                | {"answer": reply.text, "latency_s": round(reply.latency_s, 3), "coverage": round(score.coverage, 3)}
                | {"refused": score.refused, "correct": score.correct},
            )

        answered = await asyncio.gather(*(one(item) for item in items))
        scores = [score for score, _latency, _record in answered]
        latencies = [latency for _score, latency, _record in answered]
        records.extend(record for _score, _latency, record in answered)
        summaries[mode] = {}
        for name in SLICES:
            chosen = [i for i, item in enumerate(items) if name in ("all", item.language)]
            if chosen:
                summaries[mode][name] = summarize_answers(
                    [items[i] for i in chosen], [scores[i] for i in chosen], [latencies[i] for i in chosen]
                )
    return SupportEvalResult(
        dataset=f"{dataset.manifest.name} {dataset.manifest.version}",
        modes=tuple(modes),
        summaries=summaries,
        records=records,
        pending=dict(pending or {}),
    )


def support_table(result: SupportEvalResult) -> str:
    """The comparison as a Markdown table: one row per mode and slice, then the pending modes."""
    lines = [
        "| mode | slice | items | accuracy | fact coverage | refusal precision | refusal recall | p50 latency (s) |"
        " errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in result.modes:
        for name, s in result.summaries.get(mode, {}).items():
            lines.append(
                f"| {mode} | {name} | {s.items} | {s.accuracy:.2f} | {s.fact_coverage:.2f} | "
                f"{s.refusal_precision:.2f} | {s.refusal_recall:.2f} | {s.p50_latency_s:.1f} | {s.errors} |"
            )
    for mode in result.pending:
        lines.append(f"| {mode} | pending | | | | | | | |")
    notes = [f"- {mode} pending: {why}" for mode, why in result.pending.items()]
    return "\n".join([*lines, *([""] if notes else []), *notes])


def write_support_report(result: SupportEvalResult, out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.md`` (the table and every answer) and ``report.json`` under ``out_dir``.

    Returns:
        The Markdown and JSON paths.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# Customer-service comparison on {result.dataset}", "", support_table(result), "", "## Answers", ""]
    for record in result.records:
        verdict = "error" if "error" in record else ("correct" if record["correct"] else "wrong")
        answer = record.get("answer", record.get("error", ""))
        lines.append(f"- **{record['mode']} {record['item_id']}** ({verdict}): {record['question']}")
        lines.append(f"  - {' '.join(str(answer).split())}")
    markdown, data = out_dir / "report.md", out_dir / "report.json"
    write_text_atomic(markdown, "\n".join(lines) + "\n")
    write_json(data, result.to_json())
    return markdown, data
