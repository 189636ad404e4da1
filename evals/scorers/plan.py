"""TaskBench-style plan scores: node F1 and edge F1 of a predicted task graph against the gold one.

Following TaskBench (Shen et al., 2023), a node is identified by its name: the ``tool`` it calls, or its ``type``
when it calls none. Node F1 compares the multisets of node names; edge F1 compares the multisets of
``(source name, target name)`` pairs, one per dependency (``depends_on``), so an edge counts only when both its
ends are matched nodes. Node ids are ignored: a planner may number tasks as it likes.

Precision and recall with an empty denominator are 1.0 when both sides are empty and 0.0 otherwise; F1 is their
harmonic mean (0.0 when both are 0). A plan without edges scored against a gold plan without edges gets edge F1
1.0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

__all__ = ["PlanNode", "PlanScores", "plan_scores"]

K = TypeVar("K", bound=Hashable)


class PlanNode(Protocol):
    """What the scorer reads of a task: :class:`evals.items.PlanTask` and a planner's tasks both fit."""

    @property
    def id(self) -> str:
        """Node id, unique within its plan."""
        ...

    @property
    def type(self) -> str:
        """Task type."""
        ...

    @property
    def tool(self) -> str | None:
        """Tool called, if any."""
        ...

    @property
    def depends_on(self) -> Sequence[str]:
        """Ids of the nodes this one needs."""
        ...


@dataclass(frozen=True, kw_only=True)
class PlanScores:
    """Node and edge precision, recall and F1 of one plan.

    Attributes:
        node_precision: Matched predicted nodes / predicted nodes.
        node_recall: Matched gold nodes / gold nodes.
        node_f1: Harmonic mean of node precision and recall.
        edge_precision: Matched predicted edges / predicted edges.
        edge_recall: Matched gold edges / gold edges.
        edge_f1: Harmonic mean of edge precision and recall.
    """

    node_precision: float
    node_recall: float
    node_f1: float
    edge_precision: float
    edge_recall: float
    edge_f1: float


def _name(node: PlanNode) -> str:
    return node.tool or node.type


def _edges(plan: Sequence[PlanNode]) -> Counter[tuple[str, str]]:
    names = {node.id: _name(node) for node in plan}
    return Counter((names[dep], _name(node)) for node in plan for dep in node.depends_on if dep in names)


def _prf(predicted: Counter[K], gold: Counter[K]) -> tuple[float, float, float]:
    matched = sum((predicted & gold).values())
    n_pred, n_gold = sum(predicted.values()), sum(gold.values())
    empty = 1.0 if n_pred == n_gold == 0 else 0.0
    precision = matched / n_pred if n_pred else empty
    recall = matched / n_gold if n_gold else empty
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def plan_scores(predicted: Sequence[PlanNode], gold: Sequence[PlanNode]) -> PlanScores:
    """Node and edge F1 of a predicted plan.

    Args:
        predicted: The planner's tasks; a dependency on an unknown id is ignored.
        gold: The gold tasks.

    Returns:
        Node and edge precision, recall and F1.
    """
    node_p, node_r, node_f = _prf(Counter(_name(n) for n in predicted), Counter(_name(n) for n in gold))
    edge_p, edge_r, edge_f = _prf(_edges(predicted), _edges(gold))
    return PlanScores(
        node_precision=node_p,
        node_recall=node_r,
        node_f1=node_f,
        edge_precision=edge_p,
        edge_recall=edge_r,
        edge_f1=edge_f,
    )
