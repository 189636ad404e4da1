"""What the evaluation runner needs of an agent, as small Protocols that ``app/`` fills in with the real agents.

The harness stands beside ``agents/`` and uses only the layers below it, so it never imports an agent: the caller
passes an :class:`EvalAgents` holding two openers, one per kind of dataset the runner evaluates.

- ``metrics_qa``: :class:`OpenMetricsAgent` opens a :class:`MetricsAnswerer` for one variant; its ``ask`` returns
  a :class:`MetricsAnswer`.
- ``planning``: :class:`OpenPlanner` opens a :class:`Planner` for one variant; its ``plan`` returns a
  :class:`PlanOutcome`, or raises :class:`~kubeai.errors.PlanningError` carrying the model's last draft.

Only the fields the runner scores and records are named here, so a scripted stand-in needs nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from evals.scorers import PlanNode
from kubeai.config import ProjectConfig
from serving.client import ModelClient

__all__ = [
    "EvalAgents",
    "MetricsAnswer",
    "MetricsAnswerer",
    "OpenMetricsAgent",
    "OpenPlanner",
    "PlanOutcome",
    "Planner",
]


class MetricsAnswer(Protocol):
    """What one metric question produced, as the runner scores and records it."""

    @property
    def path(self) -> str:
        """How it was answered (``structured``, ``sql``, ``tuned``, ...)."""
        ...

    @property
    def sql(self) -> str | None:
        """The gated SQL that ran, if any."""
        ...

    @property
    def frame(self) -> pd.DataFrame:
        """The result table (empty when nothing ran)."""
        ...

    @property
    def answer(self) -> str:
        """The answer in words."""
        ...

    @property
    def abstained(self) -> bool:
        """Whether the agent declined to answer."""
        ...

    @property
    def reason(self) -> str:
        """Why it abstained (empty otherwise)."""
        ...

    @property
    def chart(self) -> Mapping[str, Any] | None:
        """The Plotly figure as JSON, if one was drawn."""
        ...

    @property
    def chart_kind(self) -> str | None:
        """The kind of chart drawn."""
        ...

    @property
    def timings(self) -> Mapping[str, float]:
        """Seconds per stage."""
        ...

    @property
    def tokens(self) -> Mapping[str, Mapping[str, int]]:
        """Prompt and completion tokens per stage."""
        ...

    @property
    def prompt_fit(self) -> Sequence[Mapping[str, Any]]:
        """Per prompt: tokens, budget, what was left out, ``cut_off`` and ``too_long``."""
        ...


class MetricsAnswerer(Protocol):
    """A metrics agent opened for one variant: answers one question at a time, with no thread."""

    @property
    def tuned_model(self) -> str | None:
        """The catalog's fine-tuned adapter the agent asks first (``None`` when it has none)."""
        ...

    async def ask(self, question: str) -> MetricsAnswer:
        """Answer ``question``.

        Raises:
            ModelServerUnavailableError: The model server cannot be reached (the run stops).
            KubeAIError: Anything else that kept this question from an answer (asked again next run).
        """
        ...


class OpenMetricsAgent(Protocol):
    """Opens a metrics agent set by ``config`` (strategy, retrieval, adapter) on a catalog and warehouse."""

    def __call__(
        self, config: ProjectConfig, *, catalog_path: Path, db_url: str, model: str, llm: ModelClient | None
    ) -> AbstractAsyncContextManager[MetricsAnswerer]:
        """An async context manager that opens the agent and closes it after."""
        ...


class PlanOutcome(Protocol):
    """What planning one request produced, as the runner scores and records it."""

    @property
    def plan(self) -> Sequence[PlanNode]:
        """The planned tasks."""
        ...

    @property
    def attempts(self) -> int:
        """Plans asked of the model."""
        ...

    @property
    def repairs(self) -> Sequence[str]:
        """Dependencies the planner added."""
        ...

    @property
    def demo_ids(self) -> Sequence[str]:
        """The demonstrations shown to the planner."""
        ...

    @property
    def timings(self) -> Mapping[str, float]:
        """Seconds per stage."""
        ...

    @property
    def tokens(self) -> Mapping[str, Mapping[str, int]]:
        """Prompt and completion tokens per stage."""
        ...


class Planner(Protocol):
    """A planner opened for one variant: plans a request without running it."""

    @property
    def max_plan_attempts(self) -> int:
        """How many plans it asks for before it gives up."""
        ...

    async def plan(self, request: str) -> PlanOutcome:
        """Plan ``request``.

        Raises:
            PlanningError: No valid plan within ``max_plan_attempts`` (its ``draft`` is scored).
            ModelServerUnavailableError: The model server cannot be reached (the run stops).
            KubeAIError: Anything else (asked again next run).
        """
        ...


class OpenPlanner(Protocol):
    """Opens a planner with every tool, showing ``demos`` demonstrations."""

    def __call__(
        self, config: ProjectConfig, *, llm: ModelClient | None, model: str, demos: int
    ) -> AbstractAsyncContextManager[Planner]:
        """An async context manager that opens the planner and closes it after."""
        ...


@dataclass(frozen=True, kw_only=True)
class EvalAgents:
    """The agents an evaluation run asks, one opener per dataset kind.

    Attributes:
        metrics: Opens a metrics agent for a ``metrics_qa`` variant.
        planner: Opens a planner for a ``planning`` variant.
    """

    metrics: OpenMetricsAgent
    planner: OpenPlanner
