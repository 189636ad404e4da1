"""``metric_query``: ask the data warehouse a metric question through a callable the agents layer supplies.

Tools never import agents, so the metrics agent arrives as ``ask``: an async function from a self-contained
question to a :class:`~tools.registry.TaskOutput` (the answer sentence, the result table, the SQL in ``details``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from langchain_core.tools import InjectedToolArg, StructuredTool
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from kubeai.errors import KubeAIError, ModelServerUnavailableError, ToolError
from tools.registry import TaskInputs, TaskOutput

__all__ = ["AskMetrics", "metric_query_tool"]

AskMetrics = Callable[[str], Awaitable[TaskOutput]]
"""Answers one metric question: the agents layer wraps the metrics agent in it."""

_NAME = "metric_query"


class _MetricQueryArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    question: str = Field(
        min_length=1,
        max_length=300,
        description="a self-contained metric question for the data warehouse, in the user's language",
    )
    inputs: Annotated[SkipValidation[TaskInputs], InjectedToolArg] = Field(default_factory=TaskInputs)


def metric_query_tool(ask: AskMetrics) -> StructuredTool:
    """The ``metric_query`` tool.

    Args:
        ask: Answers a metric question. A :class:`~kubeai.errors.ToolError` or
            :class:`~kubeai.errors.ModelServerUnavailableError` it raises passes unchanged; any other
            :class:`~kubeai.errors.KubeAIError` becomes a ToolError with the same sentence.
    """

    async def metric_query(question: str, inputs: TaskInputs) -> TaskOutput:
        try:
            return await ask(inputs.fill(question).strip())
        except (ToolError, ModelServerUnavailableError):
            raise
        except KubeAIError as exc:
            raise ToolError(str(exc), tool=_NAME) from exc

    return StructuredTool.from_function(
        coroutine=metric_query,
        name=_NAME,
        description="Query business metrics (GMV, orders, refunds, users, ...) from the data warehouse as a table.",
        args_schema=_MetricQueryArgs,
        metadata={"task_type": "metric_query", "references": (), "needs_model": False},
    )
