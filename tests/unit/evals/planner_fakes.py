"""A scripted stand-in for the planner agent and a tiny planning dataset, for the runner tests.

The runner opens a planner through the opener it is given (:class:`evals.protocols.OpenPlanner`; ``app/`` passes
the real :class:`agents.planner.PlannerAgent`, which builds the metrics agent and the knowledge base) once per
variant; these tests pass :meth:`PlannerPatch.open` instead, which opens a :class:`FakePlanner` scripting each
request's outcome: a plan, a :class:`~kubeai.errors.PlanningError` with the model's last draft, or a server error.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.planner import PlanRun, TaskReport
from app.eval_agents import open_metrics_agent
from evals.protocols import EvalAgents
from graphs.planner import PlannedTask
from kubeai.config import ProjectConfig
from kubeai.errors import KubeAIError

Reply = Sequence[PlannedTask] | KubeAIError


def task(task_id: str, tool: str, *deps: str) -> PlannedTask:
    """A planned task whose type is its tool's."""
    return PlannedTask(id=task_id, tool=tool, type=tool, args={"text": task_id}, depends_on=deps)


def gold(task_id: str, tool: str, *deps: str) -> dict[str, Any]:
    """A gold task as the dataset writes it."""
    return {"id": task_id, "type": tool, "tool": tool, "depends_on": list(deps)}


PLAN_ITEMS = [
    {"id": "p1", "request": "What was our GMV in November 2025?", "language": "en",
     "tasks": [gold("t1", "metric_query")]},
    {"id": "p2", "request": "Chart monthly GMV for 2025.", "language": "en",
     "tasks": [gold("t1", "metric_query"), gold("t2", "chart", "t1")]},
    {"id": "p3", "request": "总结一下退款政策。", "language": "zh",
     "tasks": [gold("t1", "doc_qa"), gold("t2", "summarize", "t1")]},
    {"id": "p4", "request": "比较华东和华北的GMV。", "language": "zh",
     "tasks": [gold("t1", "metric_query"), gold("t2", "metric_query"), gold("t3", "table_compare", "t1", "t2")]},
]  # fmt: skip


def write_planning_dataset(folder: Path, items: Sequence[Mapping[str, Any]] = PLAN_ITEMS) -> Path:
    """A ``planning`` dataset folder holding ``items``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yaml").write_text(
        f"name: {folder.name}\nversion: '1.0'\nkind: planning\nitems: requests.jsonl\n", encoding="utf-8"
    )
    (folder / "requests.jsonl").write_text(
        "\n".join(json.dumps(i, ensure_ascii=False) for i in items), encoding="utf-8"
    )
    return folder


@dataclass(kw_only=True)
class FakePlanner:
    """Answers :meth:`plan` from a script keyed by request; records the requests it was asked."""

    script: Mapping[str, Reply]
    asked: list[str] = field(default_factory=list)
    max_plan_attempts: int = 3

    async def plan(self, request: str) -> PlanRun:
        self.asked.append(request)
        reply = self.script[request]
        if isinstance(reply, KubeAIError):
            raise reply
        return PlanRun(
            request=request,
            language="en",
            tasks=tuple(TaskReport(task=t, status="planned") for t in reply),
            answer="",
            cited=(),
            status="planned",
            attempts=1,
            repairs=("t2 dep +t1",) if len(reply) > 1 else (),
            demo_ids=("demo-1",),
            timings={"plan": 0.01, "select": 0.0},
            tokens={"plan": {"prompt": 100, "completion": 20}},
        )


@dataclass(kw_only=True)
class PlannerPatch:
    """A planner opener for the runner: the keyword arguments of every opening, and the planner it opens."""

    planner: FakePlanner
    openings: list[dict[str, Any]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def open(self, config: ProjectConfig, **options: Any) -> AsyncIterator[FakePlanner]:
        """Open the scripted planner (an :class:`evals.protocols.OpenPlanner`), recording the options."""
        self.openings.append(options)
        yield self.planner

    @property
    def agents(self) -> EvalAgents:
        """The agents to run with: this planner and the real metrics agent."""
        return EvalAgents(metrics=open_metrics_agent, planner=self.open)


def scripted_planner(script: Mapping[str, Reply]) -> PlannerPatch:
    """A scripted planner following ``script``, to pass to the runner instead of the real planner agent."""
    return PlannerPatch(planner=FakePlanner(script=script))
