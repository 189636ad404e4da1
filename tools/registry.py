"""The planner's tools: typed LangChain tools in a registry that validates what it registers.

Every tool is a :class:`~langchain_core.tools.StructuredTool` whose ``args_schema`` is a pydantic model. The
model-facing part of that schema (``tool.tool_call_schema``) is what the planner asks a model to fill; one more
field, ``inputs``, is injected by the executor (LangChain's ``InjectedToolArg``) and carries the results of the
task's dependencies, the model chosen for the task and the request's language. A tool returns a
:class:`TaskOutput`.

A task's arguments refer to earlier results in two ways:

* a **typed reference**: a field the tool declares in ``metadata["references"]`` holds a task id (``"t1"``), and
  the tool reads that task's table or value through :class:`TaskInputs`;
* a **resource placeholder** inside any string argument, HuggingGPT's ``<resource>-t1``, replaced by that task's
  text (or its number, for the calculator) before the tool runs.

Tool metadata says what the registry and the planner need to know::

    metadata={
        "task_type": "table",            # one of TASK_TYPES
        "references": ("left", "right"), # fields holding task ids
        "needs_model": False,            # the select step picks a model for the task
    }
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import pandas as pd
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, ValidationError

from kubeai.errors import ToolError

__all__ = [
    "RESOURCE",
    "TASK_ID_PATTERN",
    "TASK_TYPES",
    "TableRef",
    "TaskInputs",
    "TaskOutput",
    "ToolRegistry",
    "referenced_ids",
]

TASK_TYPES = (
    "metric_query",
    "doc_qa",
    "summarize",
    "translate",
    "classify",
    "extract",
    "calculate",
    "table",
    "chart",
)
"""The task types a tool may declare; model selection filters model cards by them."""

TASK_ID_PATTERN = r"^t[0-9]{1,2}$"
"""Task ids are ``t1`` .. ``t99``."""

TableRef = Annotated[str, Field(pattern=TASK_ID_PATTERN, description="id of an earlier task whose table this uses")]
"""An argument naming an earlier task whose table the tool uses (declare it in ``metadata["references"]``)."""

RESOURCE = re.compile(r"<resource>-(t[0-9]{1,2})")
"""HuggingGPT's placeholder for an earlier task's result inside a string argument."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_INPUTS = "inputs"


@dataclass(frozen=True, kw_only=True)
class TaskOutput:
    """What one task produced.

    Attributes:
        text: A short human-readable statement of the result; the response step quotes it, and a
            ``<resource>-tN`` placeholder is replaced by it.
        table: A result table, for table operations and charts downstream.
        value: A single number, for the calculator downstream.
        chart: A Plotly figure as JSON.
        details: JSON-ready extras for traces (the SQL that ran, the documents a passage came from).
    """

    text: str
    table: pd.DataFrame | None = None
    value: float | None = None
    chart: dict[str, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TaskInputs:
    """What the executor hands a tool besides its arguments.

    Attributes:
        task_id: The task being run.
        results: The outputs of the task's dependencies, by task id.
        model: The model chosen for the task by the select step (``None``: the client's default).
        language: The request's language, ``en`` or ``zh``.
        request: The user's whole request, for tools that need its wording.
    """

    task_id: str = "t1"
    results: Mapping[str, TaskOutput] = field(default_factory=dict)
    model: str | None = None
    language: str = "en"
    request: str = ""

    def output(self, ref: str) -> TaskOutput:
        """The output of task ``ref``.

        Raises:
            ToolError: ``ref`` is not among this task's dependencies.
        """
        try:
            return self.results[ref]
        except KeyError:
            raise ToolError(f"task {self.task_id} uses {ref}, which is not one of its finished dependencies") from None

    def table(self, ref: str) -> pd.DataFrame:
        """The result table of task ``ref``.

        Raises:
            ToolError: ``ref`` is unknown or produced no table.
        """
        table = self.output(ref).table
        if table is None:
            raise ToolError(f"task {ref} produced no table for task {self.task_id} to use")
        return table

    def value(self, ref: str) -> float:
        """The single number task ``ref`` produced: its ``value``, or its table's only numeric cell.

        Raises:
            ToolError: ``ref`` is unknown or did not produce exactly one number.
        """
        output = self.output(ref)
        if output.value is not None:
            return output.value
        table = output.table
        if table is not None and len(table) == 1:
            numbers = [v for v in table.iloc[0].tolist() if _is_number(v)]
            if len(numbers) == 1:
                return float(numbers[0])
        raise ToolError(f"task {ref} did not produce a single number for task {self.task_id} to use")

    def fill(self, text: str, *, numbers: bool = False) -> str:
        """``text`` with every ``<resource>-tN`` replaced by task tN's text (its number when ``numbers``)."""

        def substitute(match: re.Match[str]) -> str:
            ref = match.group(1)
            return repr(self.value(ref)) if numbers else self.output(ref).text

        return RESOURCE.sub(substitute, text)


def referenced_ids(tool: BaseTool, args: Mapping[str, Any]) -> set[str]:
    """The task ids ``args`` refer to: typed reference fields plus ``<resource>-tN`` placeholders."""
    refs: set[str] = set()
    for name in tool.metadata.get("references", ()) if tool.metadata else ():
        value = args.get(name)
        if isinstance(value, str):
            refs.add(value)
    for value in _strings(args.values()):
        refs.update(RESOURCE.findall(value))
    return refs


class ToolRegistry:
    """Tools by name; registration checks each tool is one the planner can describe, validate and run.

    Args:
        tools: Tools to register at once.
    """

    def __init__(self, tools: Iterable[BaseTool] = ()) -> None:
        self._tools: dict[str, BaseTool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: BaseTool) -> None:
        """Add a tool.

        Raises:
            ValueError: The name is malformed or taken, the description is empty, the arguments are not a
                pydantic model with an injected ``inputs`` field, the task type is unknown, or a declared
                reference field does not exist.
        """
        name = tool.name
        if not _NAME.match(name):
            raise ValueError(f"tool name {name!r} must be lower_snake_case, 2-40 characters")
        if name in self._tools:
            raise ValueError(f"tool {name!r} is registered twice")
        if not tool.description.strip():
            raise ValueError(f"tool {name!r} needs a description: the planner shows it to the model")
        schema = tool.args_schema
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ValueError(f"tool {name!r} needs a pydantic args_schema")
        if _INPUTS not in schema.model_fields or _INPUTS in _properties(tool):
            raise ValueError(f"tool {name!r} needs an injected `inputs` field (Annotated[..., InjectedToolArg])")
        meta = tool.metadata or {}
        if meta.get("task_type") not in TASK_TYPES:
            raise ValueError(f"tool {name!r} declares task type {meta.get('task_type')!r}; use one of {TASK_TYPES}")
        for ref in meta.get("references", ()):
            if ref not in schema.model_fields or ref == _INPUTS:
                raise ValueError(f"tool {name!r} declares reference field {ref!r}, which its arguments lack")
        self._tools[name] = tool

    def __iter__(self) -> Iterator[BaseTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> tuple[str, ...]:
        """Registered tool names, in registration order."""
        return tuple(self._tools)

    def get(self, name: str) -> BaseTool:
        """The tool registered as ``name``.

        Raises:
            ToolError: No such tool.
        """
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError(f"there is no tool {name!r}; the tools are: {', '.join(self._tools)}", tool=name) from None

    def task_type(self, name: str) -> str:
        """The task type tool ``name`` performs."""
        return str(self.get(name).metadata["task_type"])  # type: ignore[index]

    def needs_model(self, name: str) -> bool:
        """Whether tool ``name`` runs on a model that the select step chooses."""
        return bool((self.get(name).metadata or {}).get("needs_model", False))

    def args_model(self, name: str) -> type[BaseModel]:
        """The model-facing argument schema of tool ``name`` (without the injected ``inputs``)."""
        return _call_schema(self.get(name))

    def check_args(self, name: str, args: Mapping[str, Any]) -> list[str]:
        """Problems with ``args`` for tool ``name``, one sentence each; empty when they validate."""
        if name not in self._tools:
            return [f"there is no tool {name!r}; use one of: {', '.join(self._tools)}"]
        try:
            self.args_model(name).model_validate(dict(args))
        except ValidationError as exc:
            problems = []
            for error in exc.errors()[:3]:
                where = ".".join(str(p) for p in error["loc"]) or "arguments"
                problems.append(f"argument `{where}` of {name}: {error['msg']}")
            return problems
        return []

    async def run(self, name: str, args: Mapping[str, Any], inputs: TaskInputs) -> TaskOutput:
        """Run tool ``name`` on validated ``args`` with the executor's ``inputs``.

        Raises:
            ToolError: The arguments do not validate, or the tool failed (its own ToolError or any
                :class:`~kubeai.errors.KubeAIError` underneath, reworded to name the tool).
        """
        tool = self.get(name)
        problems = self.check_args(name, args)
        if problems:
            raise ToolError(problems[0], tool=name)
        output = await tool.ainvoke({**args, _INPUTS: inputs})
        if not isinstance(output, TaskOutput):
            raise ToolError(f"tool {name!r} returned {type(output).__name__}, not a TaskOutput", tool=name)
        return output


def _call_schema(tool: BaseTool) -> type[BaseModel]:
    schema = tool.tool_call_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ValueError(f"tool {tool.name!r} needs a pydantic args_schema")
    return schema


def _properties(tool: BaseTool) -> dict[str, Any]:
    properties = _call_schema(tool).model_json_schema().get("properties", {})
    return properties if isinstance(properties, dict) else {}


def _strings(values: Iterable[Any]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | tuple):
            yield from _strings(value)
        elif isinstance(value, Mapping):
            yield from _strings(value.values())


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not pd.api.types.is_number(value):
        return False
    try:
        return not math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
