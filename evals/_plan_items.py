"""Running ``planning`` items: plan each request and score the task graph against the gold one (TaskBench).

When no valid plan comes back, the model's last draft (carried by :class:`~kubeai.errors.PlanningError`) is
scored, as TaskBench scores what the model wrote.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from evals._records import record_head
from evals.dataset import Dataset
from evals.items import PlanningItem
from evals.protocols import OpenPlanner, Planner
from evals.report import total_tokens
from evals.runfile import PlanStrategySpec, Variant
from evals.scorers import PlanNode, plan_scores
from kubeai.config import ProjectConfig
from kubeai.errors import KubeAIError, ModelServerUnavailableError, PlanningError
from serving.client import ModelClient

__all__ = ["planner_asker", "planner_settings"]

AskPlanner = Callable[[PlanningItem], Awaitable[dict[str, Any]]]


@asynccontextmanager
async def planner_asker(
    config: ProjectConfig,
    *,
    open_planner: OpenPlanner,
    variant: Variant,
    dataset: Dataset,
    strategy: PlanStrategySpec,
    llm: ModelClient | None,
) -> AsyncIterator[AskPlanner]:
    """A planner with every tool (so that gold graphs using metric_query and doc_qa are reachable), plan only."""
    async with open_planner(config, llm=llm, model=variant.model, demos=strategy.demos) as planner:

        async def ask(item: PlanningItem) -> dict[str, Any]:
            return await _evaluate_plan(planner, item, variant, dataset)

        yield ask


def planner_settings(config: ProjectConfig) -> dict[str, Any]:
    """The settings beyond the strategy that decide a plan: part of the variant's fingerprint."""
    # The embedding model ranks the demonstrations the planner is shown.
    return {"embeddings": [config.embeddings.provider, config.embeddings.model]}


async def _evaluate_plan(planner: Planner, item: PlanningItem, variant: Variant, dataset: Dataset) -> dict[str, Any]:
    record = record_head(item, variant, dataset)
    record.update(request=item.request, gold_tasks=[_task_json(_Task.of(task)) for task in item.tasks])
    began = time.perf_counter()
    try:
        run = await planner.plan(item.request)
    except ModelServerUnavailableError:
        raise
    except PlanningError as exc:
        # No valid plan: score what the model last wrote, which is what TaskBench scores too.
        predicted = _draft_tasks(exc.draft)
        record.update(
            valid_plan=False,
            attempts=planner.max_plan_attempts,  # the planner gives up only once its attempts are spent
            repairs=[],
            demo_ids=[],
            problems=list(exc.problems),
            timings={},
            tokens={},
            error=f"{type(exc).__name__}: {exc}",
        )
    except KubeAIError as exc:
        record.update(_failed_plan(f"{type(exc).__name__}: {exc}", time.perf_counter() - began))
        record["retry"] = True  # a timeout or server hiccup is asked again on the next run
        return record
    else:
        predicted = [_Task.of(task) for task in run.plan]
        tokens = {node: dict(counts) for node, counts in run.tokens.items()}
        record.update(
            valid_plan=True,
            attempts=run.attempts,
            repairs=list(run.repairs),
            demo_ids=list(run.demo_ids),
            problems=[],
            timings=dict(run.timings),
            tokens=tokens,
        )
    scores = plan_scores(predicted, item.tasks)
    exact = bool(record["valid_plan"]) and scores.node_f1 == scores.edge_f1 == 1.0
    record.update(
        asdict(scores),
        gold_edges=sum(len(task.depends_on) for task in item.tasks),
        exact_plan=exact,
        correct=exact,
        predicted_tasks=[_task_json(task) for task in predicted],
        latency_s=time.perf_counter() - began,
        total_tokens=total_tokens(record["tokens"]),
    )
    return record


@dataclass(frozen=True, kw_only=True)
class _Task:
    """A task as plans are scored and recorded: a planner's task, a gold task or a task of a rejected draft."""

    id: str
    tool: str | None
    type: str
    depends_on: tuple[str, ...] = ()
    args: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, node: PlanNode) -> _Task:
        return cls(
            id=node.id,
            tool=node.tool,
            type=node.type,
            depends_on=tuple(node.depends_on),
            args=dict(getattr(node, "args", None) or {}),
        )


def _draft_tasks(draft: Sequence[Mapping[str, Any]]) -> list[_Task]:
    """The tasks of a draft the planner rejected (``{"id", "tool", "args", "dep"}``, as the model wrote them).

    A draft task has no type of its own; its tool stands in (scoring names a node by its tool first anyway).
    """
    tasks = []
    for index, raw in enumerate(draft):
        deps = raw.get("dep", raw.get("depends_on")) or ()
        deps = (deps,) if isinstance(deps, str) else deps
        tool = str(raw.get("tool") or "")
        args = raw.get("args")
        tasks.append(
            _Task(
                id=str(raw.get("id") or f"#{index + 1}"),
                tool=tool or None,
                type=tool or "unknown",
                depends_on=tuple(str(d) for d in deps) if isinstance(deps, Sequence) else (),
                args=dict(args) if isinstance(args, Mapping) else {},
            )
        )
    return tasks


def _task_json(task: _Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "tool": task.tool,
        "type": task.type,
        "depends_on": list(task.depends_on),
        "args": dict(task.args),
    }


def _failed_plan(error: str, latency: float) -> dict[str, Any]:
    return {
        "error": error,
        "valid_plan": False,
        "exact_plan": False,
        "correct": False,
        "node_precision": 0.0,
        "node_recall": 0.0,
        "node_f1": 0.0,
        "edge_precision": 0.0,
        "edge_recall": 0.0,
        "edge_f1": 0.0,
        "predicted_tasks": [],
        "attempts": 0,
        "repairs": [],
        "demo_ids": [],
        "problems": [],
        "latency_s": latency,
        "timings": {},
        "tokens": {},
        "total_tokens": 0,
    }
