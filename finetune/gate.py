"""The eval gate: a trained adapter replaces the current model only if it measurably does better.

Both are scored on the same held-out questions the trainer never saw, from the evaluation harness's scored
item records (``correct``, ``expect_abstention``, ``abstained``, ``language``, ``latency_s``). The adapter passes
when its accuracy beats the incumbent's by at least the configured margin and it does not abstain on more
answerable questions than the incumbent does (plus an allowance, zero by default).

A planning adapter is gated on TaskBench node and edge F1 instead (:func:`planning_gate_decision`), on each
planning set (the planning set and the held-out one), from the harness's ``planning`` item records: a drop on any
set or score beyond an allowance blocks it, and its mean gain over all of them must reach the margin.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "GateDecision",
    "PlanGateDecision",
    "PlanScore",
    "StepScore",
    "gate_decision",
    "plan_score",
    "planning_gate_decision",
    "step_score",
]


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


@dataclass(frozen=True, kw_only=True)
class PlanScore:
    """How a planner (a model with its prompt) did on one planning set.

    Attributes:
        dataset: The planning set's name.
        items: Requests planned.
        node_f1: Mean node F1 over the requests.
        edge_f1: Mean edge F1 over the requests whose gold graph has edges (as the harness's reports count it).
        valid_plan: Share of requests that got a valid plan.
    """

    dataset: str
    items: int
    node_f1: float
    edge_f1: float
    valid_plan: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class PlanGateDecision:
    """Whether a planning adapter passed, why, and both sides' figures per planning set."""

    passed: bool
    reason: str
    candidate: tuple[PlanScore, ...]
    incumbent: tuple[PlanScore, ...]
    margin: float
    max_regression: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, as an adapter's card records it."""
        return {
            "passed": self.passed,
            "reason": self.reason,
            "margin": self.margin,
            "max_regression": self.max_regression,
            "candidate": [score.to_json() for score in self.candidate],
            "incumbent": [score.to_json() for score in self.incumbent],
        }


def plan_score(dataset: str, records: Sequence[Mapping[str, Any]]) -> PlanScore:
    """Score a planner on one planning set from the harness's item records (``node_f1``, ``edge_f1``, ...)."""
    edged = [r for r in records if r.get("gold_edges", 1)]  # an edgeless gold graph scores 1.0 for any such plan
    return PlanScore(
        dataset=dataset,
        items=len(records),
        node_f1=_mean([float(r.get("node_f1") or 0.0) for r in records]),
        edge_f1=_mean([float(r.get("edge_f1") or 0.0) for r in edged]),
        valid_plan=_mean([1.0 if r.get("valid_plan") else 0.0 for r in records]),
    )


def planning_gate_decision(
    candidate: Sequence[PlanScore], incumbent: Sequence[PlanScore], *, margin: float, max_regression: float = 0.0
) -> PlanGateDecision:
    """Pass a planning adapter only if no set's node or edge F1 drops and the mean gain reaches ``margin``.

    Args:
        candidate: The adapter's scores, one per planning set.
        incumbent: The scores of the planner it would replace (the base model with its demonstrations, or the
            adapter promoted before), on the same sets.
        margin: Mean F1 gain, over every set's node and edge F1, the candidate must bring.
        max_regression: How far any one set's node or edge F1 may fall below the incumbent's.
    """

    def decided(passed: bool, reason: str) -> PlanGateDecision:
        return PlanGateDecision(
            passed=passed,
            reason=reason,
            candidate=tuple(candidate),
            incumbent=tuple(incumbent),
            margin=margin,
            max_regression=max_regression,
        )

    sides = {s.dataset: s for s in incumbent}
    if not candidate or {s.dataset: s.items for s in candidate} != {s.dataset: s.items for s in incumbent}:
        return decided(False, "the two were not scored on the same planning sets")
    gains: list[float] = []
    for new in candidate:
        old = sides[new.dataset]
        for score in ("node_f1", "edge_f1"):
            gain = getattr(new, score) - getattr(old, score)
            if gain + 1e-9 < -max_regression:
                name = score.replace("_f1", " F1")
                return decided(
                    False,
                    f"{name} on {new.dataset} fell from {getattr(old, score):.3f} to {getattr(new, score):.3f} "
                    f"(allowed drop: {max_regression:.3f})",
                )
            gains.append(gain)
    mean_gain = sum(gains) / len(gains)
    figures = "; ".join(
        f"{new.dataset}: node {new.node_f1:.3f} vs {sides[new.dataset].node_f1:.3f}, "
        f"edge {new.edge_f1:.3f} vs {sides[new.dataset].edge_f1:.3f}"
        for new in candidate
    )
    if mean_gain + 1e-9 < margin:
        return decided(False, f"a mean F1 gain of {mean_gain:+.3f}, below the {margin:.3f} margin ({figures})")
    return decided(True, f"a mean F1 gain of {mean_gain:+.3f} with no drop ({figures})")


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
