"""Test doubles for the planner graph: scripted chat models and small tools whose behaviour a test controls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import pandas as pd
from langchain_core.tools import InjectedToolArg, StructuredTool
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from kubeai.config import ModelCard, ModelRegistryConfig
from kubeai.errors import ToolError
from serving.client import ModelClient
from serving.registry import ModelRegistry
from tests.unit.fakes import ScriptedChat, scripted_client
from tools.registry import TASK_ID_PATTERN, TaskInputs, TaskOutput, ToolRegistry

Behaviour = Callable[[str, TaskInputs], Awaitable[TaskOutput]]


def scripted(*replies: str | dict[str, Any]) -> tuple[ModelClient, ScriptedChat]:
    """A model client whose every call gets the next scripted reply."""
    return scripted_client(*replies, default_model="base")


class _StepArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str = Field(min_length=1, max_length=40, description="What to do.")
    inputs: Annotated[SkipValidation[TaskInputs], InjectedToolArg] = TaskInputs()


class _TableArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    table: str = Field(pattern=TASK_ID_PATTERN, description="Task id of the table.")
    inputs: Annotated[SkipValidation[TaskInputs], InjectedToolArg] = TaskInputs()


class _TextArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    text: str = Field(min_length=1, max_length=400, description="Text; <resource>-tN for a result.")
    inputs: Annotated[SkipValidation[TaskInputs], InjectedToolArg] = TaskInputs()


def step_tool(behaviour: Behaviour, *, name: str = "step", task_type: str = "calculate") -> StructuredTool:
    """A tool that runs ``behaviour(name_arg, inputs)``."""

    async def run(name: str, inputs: TaskInputs) -> TaskOutput:
        return await behaviour(name, inputs)

    return StructuredTool.from_function(
        coroutine=run,
        name=name,
        description=f"{name} a step. Test tool.",
        args_schema=_StepArgs,
        metadata={"task_type": task_type, "references": (), "needs_model": False},
    )


def rows_tool() -> StructuredTool:
    """A tool that counts the rows of an earlier table."""

    async def run(table: str, inputs: TaskInputs) -> TaskOutput:
        frame = inputs.table(table)
        return TaskOutput(text=f"{len(frame)} rows", value=float(len(frame)))

    return StructuredTool.from_function(
        coroutine=run,
        name="count_rows",
        description="Count the rows of a table.",
        args_schema=_TableArgs,
        metadata={"task_type": "table", "references": ("table",), "needs_model": False},
    )


def echo_model_tool() -> StructuredTool:
    """A model-run text tool that echoes its filled text and the model chosen for it."""

    async def run(text: str, inputs: TaskInputs) -> TaskOutput:
        return TaskOutput(text=f"{inputs.model}: {inputs.fill(text)}")

    return StructuredTool.from_function(
        coroutine=run,
        name="summarize",
        description="Summarize text with a model.",
        args_schema=_TextArgs,
        metadata={"task_type": "summarize", "references": (), "needs_model": True},
    )


async def table_step(name: str, inputs: TaskInputs) -> TaskOutput:
    """A step that returns a small table."""
    return TaskOutput(text=f"table {name}", table=pd.DataFrame({"region": ["a", "b"], "gmv": [1.0, 2.0]}))


def registry(behaviour: Behaviour = table_step) -> ToolRegistry:
    """A registry with ``step``, ``count_rows`` and ``summarize``."""
    return ToolRegistry([step_tool(behaviour), rows_tool(), echo_model_tool()])


def models(*adapters: tuple[str, tuple[str, ...], tuple[str, ...]]) -> ModelRegistry:
    """A model registry with a base model (skills: summarize; languages: en) and the given adapters."""
    data: dict[str, Any] = {
        "base": {
            "name": "base",
            "source": "bundled:smollm2-135m",
            "card": ModelCard(description="Small base model.", skills=("summarize",), languages=("en",)),
        },
        "adapters": [
            {
                "name": name,
                "base": "base",
                "path": "/nonexistent",
                "card": {"description": f"Adapter {name}.", "skills": list(skills), "languages": list(langs)},
            }
            for name, skills, langs in adapters
        ],
    }
    return ModelRegistry(ModelRegistryConfig.model_validate(data))


def task(task_id: str, tool: str, args: dict[str, Any], dep: list[str] | None = None) -> dict[str, Any]:
    """A plan task as the model writes it."""
    return {"id": task_id, "tool": tool, "args": args, "dep": dep or []}


async def pause(seconds: float = 0.0) -> None:
    """Yield to the event loop."""
    await asyncio.sleep(seconds)


def fail_with(message: str) -> Behaviour:
    """A behaviour that raises a ToolError."""

    async def run(name: str, inputs: TaskInputs) -> TaskOutput:
        raise ToolError(message, tool="step")

    return run


REGION_TABLES = {
    "gmv": pd.DataFrame({"region": ["华东", "华南"], "gmv": [300.0, 200.0]}),
    "refund": pd.DataFrame({"region": ["华东", "华南"], "refund_amount": [30.0, 10.0]}),
    "退款": pd.DataFrame({"region": ["华东", "华南"], "refund_amount": [30.0, 10.0]}),
    "成交额": pd.DataFrame({"region": ["华东", "华南"], "gmv": [300.0, 200.0]}),
}


def real_tools(client: ModelClient, asked: list[str] | None = None) -> ToolRegistry:
    """The planner's real toolbox, its metric tool answering GMV or refund amount by region from fixed tables.

    Every question the metric tool is asked is appended to ``asked``.
    """
    from tools.toolbox import planner_registry

    async def ask(question: str) -> TaskOutput:
        if asked is not None:
            asked.append(question)
        for word, table in REGION_TABLES.items():
            if word in question.lower():
                return TaskOutput(text=f"{word} by region", table=table.copy())
        raise ToolError(f"no fixed table for {question!r}", tool="metric_query")

    return planner_registry(llm=client, knowledge=None, ask_metrics=ask)
