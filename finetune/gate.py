"""The eval gate: a trained adapter replaces the current model only if it measurably does better.

Both are scored on the same held-out questions the trainer never saw, from the evaluation harness's scored
item records (``correct``, ``expect_abstention``, ``abstained``, ``language``, ``latency_s``). The adapter passes
when its accuracy beats the incumbent's by at least the configured margin and it does not abstain on more
answerable questions than the incumbent does (plus an allowance, zero by default).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["GateDecision", "StepScore", "gate_decision", "step_score"]


@dataclass(frozen=True, kw_only=True)
class StepScore:
    """How one step of the method (PROMPT, RAG, RAG + LoRA) did on a question set.

    Attributes:
        step: The step's name.
        items: Questions asked.
        correct: Questions answered right (or rightly declined).
        accuracy: ``correct / items``.
        en: Accuracy on English questions (``None`` when there were none); ``zh`` likewise.
        false_abstentions: Answerable questions it declined.
        abstention_recall: Unanswerable questions it declined, out of all unanswerable ones (``None``: none).
        p50_latency_s: Median seconds per question.
        errors: Questions that ended in an error rather than an answer.
    """

    step: str
    items: int
    correct: int
    accuracy: float
    en: float | None
    zh: float | None
    false_abstentions: int
    abstention_recall: float | None
    p50_latency_s: float | None
    errors: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class GateDecision:
    """Whether the candidate passed, why, and the figures both sides had."""

    passed: bool
    reason: str
    candidate: StepScore
    incumbent: StepScore
    margin: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, as an adapter's card records it."""
        return {
            "passed": self.passed,
            "reason": self.reason,
            "margin": self.margin,
            "candidate": self.candidate.to_json(),
            "incumbent": self.incumbent.to_json(),
        }


def step_score(step: str, records: Sequence[Mapping[str, Any]]) -> StepScore:
    """Score one step from the harness's item records of a ``metrics_qa`` run."""

    def accuracy(rows: Sequence[Mapping[str, Any]]) -> float | None:
        return sum(bool(r.get("correct")) for r in rows) / len(rows) if rows else None

    unanswerable = [r for r in records if r.get("expect_abstention")]
    latencies = [float(r["latency_s"]) for r in records if isinstance(r.get("latency_s"), int | float)]
    correct = sum(bool(r.get("correct")) for r in records)
    return StepScore(
        step=step,
        items=len(records),
        correct=correct,
        accuracy=correct / len(records) if records else 0.0,
        en=accuracy([r for r in records if r.get("language") == "en"]),
        zh=accuracy([r for r in records if r.get("language") == "zh"]),
        false_abstentions=sum(1 for r in records if r.get("abstained") and not r.get("expect_abstention")),
        abstention_recall=(sum(bool(r.get("abstained")) for r in unanswerable) / len(unanswerable))
        if unanswerable
        else None,
        p50_latency_s=statistics.median(latencies) if latencies else None,
        errors=sum(1 for r in records if r.get("error")),
    )


def gate_decision(
    candidate: StepScore, incumbent: StepScore, *, margin: float, max_false_abstentions: int = 0
) -> GateDecision:
    """Pass the candidate only if it beats the incumbent by ``margin`` without more false abstentions.

    Args:
        candidate: The new adapter's score on the held-out questions.
        incumbent: The score of the model it would replace, on the same questions.
        margin: Accuracy (a fraction) the candidate must add.
        max_false_abstentions: False abstentions it may add over the incumbent's.
    """
    if candidate.items != incumbent.items:
        return GateDecision(
            passed=False,
            reason=f"the two were scored on different question sets ({candidate.items} vs {incumbent.items} items)",
            candidate=candidate,
            incumbent=incumbent,
            margin=margin,
        )
    gain = candidate.accuracy - incumbent.accuracy
    extra = candidate.false_abstentions - incumbent.false_abstentions
    if gain + 1e-9 < margin:
        reason = f"accuracy {candidate.accuracy:.1%} vs {incumbent.accuracy:.1%}: a gain below the {margin:.0%} margin"
        passed = False
    elif extra > max_false_abstentions:
        reason = f"{extra} more false abstentions than the model it replaces (allowed: {max_false_abstentions})"
        passed = False
    else:
        reason = (
            f"accuracy {candidate.accuracy:.1%} vs {incumbent.accuracy:.1%} (+{gain:.1%}), no more false abstentions"
        )
        passed = True
    return GateDecision(passed=passed, reason=reason, candidate=candidate, incumbent=incumbent, margin=margin)
