"""The real agents behind the evaluation harness's Protocols: what ``kubeai eval`` and ``kubeai onboard`` pass in.

:mod:`evals` uses only the layers below the agents; :data:`EVAL_AGENTS` opens the metrics agent and the planner
for it, each behind the small interface the runner asks of them (:mod:`evals.protocols`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from agents.metrics import MetricsAgent, MetricsResult
from agents.planner import PlannerAgent, PlanRun
from evals.protocols import EvalAgents, MetricsAnswerer, Planner
from kubeai.config import ProjectConfig
from serving.client import ModelClient

__all__ = ["EVAL_AGENTS", "open_metrics_agent", "open_planner"]


class _Metrics:
    """A metrics agent as the runner asks it: one question at a time, no thread."""

    def __init__(self, agent: MetricsAgent) -> None:
        self._agent = agent

    @property
    def tuned_model(self) -> str | None:
        return self._agent.context.tuned_model

    async def ask(self, question: str) -> MetricsResult:
        return await self._agent.ask(question)


class _Planner:
    """A planner agent as the runner asks it: plan only."""

    def __init__(self, agent: PlannerAgent) -> None:
        self._agent = agent

    @property
    def max_plan_attempts(self) -> int:
        return self._agent.context.max_plan_attempts

    async def plan(self, request: str) -> PlanRun:
        return await self._agent.plan(request)


@contextlib.asynccontextmanager
async def open_metrics_agent(
    config: ProjectConfig, *, catalog_path: Path, db_url: str, model: str, llm: ModelClient | None
) -> AsyncIterator[MetricsAnswerer]:
    """Open the metrics agent on ``catalog_path`` and ``db_url`` as ``config`` sets it (an ``OpenMetricsAgent``)."""
    async with MetricsAgent.open(config, catalog_path=catalog_path, db_url=db_url, model=model, llm=llm) as agent:
        yield _Metrics(agent)


@contextlib.asynccontextmanager
async def open_planner(
    config: ProjectConfig, *, llm: ModelClient | None, model: str, demos: int
) -> AsyncIterator[Planner]:
    """Open the planner with every tool, showing ``demos`` demonstrations (an :class:`OpenPlanner`)."""
    async with PlannerAgent.open(config, llm=llm, model=model, demos=demos) as agent:
        yield _Planner(agent)


EVAL_AGENTS = EvalAgents(metrics=open_metrics_agent, planner=open_planner)
"""The real metrics agent and planner, for :func:`evals.runner.run_evaluation`."""
