"""Per-run collaborators and settings of the task-decomposition graph, read through ``Runtime[Context]``.

Nothing here is checkpointed. The agent that runs the graph builds the tool registry (the metrics agent, document
QA, text tasks, calculator, table operations, charts), the model client and the model registry, and hands them
in; the graph never reads configuration or opens connections itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphs.planner.demonstrations import DemoBank
from graphs.planner.execution import TaskBoard
from knowledge.catalog import Catalog
from serving.client import ModelClient
from serving.registry import ModelRegistry
from tools.registry import ToolRegistry

__all__ = ["Context"]


@dataclass(kw_only=True)
class Context:
    """What one run of the graph works with.

    Attributes:
        tools: The tools a plan may use.
        llm: The model client.
        models: The registered models (base and adapters) with their cards, for model selection.
        demos: Worked plans; the ``demos_k`` nearest to the request go into the plan prompt (0: zero-shot).
        model: The model that plans, selects and responds (``None``: the client's default).
        plan_model: The model that writes plans (and their corrections) instead of ``model``: the planning
            adapter, trained on the plan prompt (served with ``demos_k`` 0); revisions after a failed task stay
            with ``model``.
        max_tasks: The most tasks a plan may have.
        max_plan_attempts: Plans asked of the model (the first plus re-plans with the problems) before giving up.
        max_replans: Revisions of a model's plan after it ran and a task failed or returned nothing (0: none).
        task_timeout_s: Seconds one task may run once its dependencies are done.
        max_parallel: Tasks running at once (tasks waiting for dependencies do not count).
        board: Where running tasks publish their outputs to dependants; fresh for every run.
        catalog: The catalog behind ``metric_query``, whose vocabulary reads the request: metric tasks must keep
            its metrics, period and breakdown, and a request it reads clearly gets a plain plan when the model
            cannot write one (``None``: plans are checked only for their structure).
    """

    tools: ToolRegistry
    llm: ModelClient
    models: ModelRegistry
    demos: DemoBank = field(default_factory=lambda: DemoBank(()))
    model: str | None = None
    plan_model: str | None = None
    demos_k: int = 2
    max_tasks: int = 8
    max_plan_attempts: int = 3
    max_replans: int = 1
    task_timeout_s: float = 300.0
    max_parallel: int = 8
    board: TaskBoard = field(default_factory=TaskBoard)
    catalog: Catalog | None = None
