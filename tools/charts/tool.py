"""``chart``: the planner's chart tool over an earlier task's table.

The chart is chosen by :func:`~tools.charts.choose_chart` from the table's shape, never written by a model. With
``kind="auto"`` whatever it chooses is drawn (line, bar, a single-value card, or a table). ``bar`` and ``line``
ask for that kind: the tool looks for a column that can serve as the x axis (a time column for a line, a category
or time column for bars) and draws the requested kind when the data fits it; otherwise the task fails with a
sentence saying why.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import pandas as pd
from langchain_core.tools import InjectedToolArg, StructuredTool
from pandas.api import types as ptypes
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from kubeai.errors import ChartError, ToolError
from tools.charts.export import figure_json
from tools.charts.figure import build_figure
from tools.charts.spec import ChartSpec, choose_chart
from tools.registry import TableRef, TaskInputs, TaskOutput

__all__ = ["chart_tool"]

_NAME = "chart"
# Column names that read as time: text columns ("2025-03", "2025-W12") and integer columns (2025, 3) so named.
_TIME_NAME = re.compile(r"(^|_)(date|day|week|month|quarter|year|time|period)s?($|_)|日期|月份|年份|时间", re.I)
_INTEGER_TIME_NAME = re.compile(r"^(\w+_)?(year|quarter|month|week|day)$", re.IGNORECASE)
_SENTENCES = {
    "en": {
        "line": "A line chart of {y} over {x}.",
        "bar": "A bar chart of {y} by {x}.",
        "card": "A card showing {y}.",
        "table": "A table of {rows} rows.",
    },
    "zh": {
        "line": "{y}随{x}变化的折线图。",
        "bar": "按{x}展示{y}的柱状图。",
        "card": "展示{y}的数值卡片。",
        "table": "共 {rows} 行的表格。",
    },
}


class _ChartArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    table: TableRef
    kind: Literal["auto", "bar", "line"] = Field(default="auto", description="auto picks from the data")
    title: str = Field(default="", max_length=120, description="chart title")
    inputs: Annotated[SkipValidation[TaskInputs], InjectedToolArg] = Field(default_factory=TaskInputs)


def chart_tool() -> StructuredTool:
    """The ``chart`` tool: a Plotly chart of an earlier task's table, as JSON."""

    async def chart(table: str, kind: str, title: str, inputs: TaskInputs) -> TaskOutput:
        frame = inputs.table(table)
        if frame.empty:
            raise ToolError(f"task {table}'s table has no rows, so there is nothing to chart.", tool=_NAME)
        title = inputs.fill(title).strip()
        spec = _spec(frame, kind, title=title, ref=table)
        try:
            figure = figure_json(build_figure(spec, frame))
        except ChartError as exc:
            raise ToolError(str(exc), tool=_NAME) from exc
        sentences = _SENTENCES.get(inputs.language, _SENTENCES["en"])
        text = sentences[spec.kind].format(y=", ".join(spec.y), x=spec.x, rows=len(frame))
        return TaskOutput(text=text, chart=figure, details={"kind": spec.kind, "spec": spec.as_dict()})

    return StructuredTool.from_function(
        coroutine=chart,
        name=_NAME,
        description="Draw a chart of an earlier task's table: a line over time or bars by category.",
        args_schema=_ChartArgs,
        metadata={"task_type": "chart", "references": ("table",), "needs_model": False},
    )


def _spec(frame: pd.DataFrame, kind: str, *, title: str, ref: str) -> ChartSpec:
    times = [str(c) for c in frame.columns if _time_like(frame, c)]
    chosen = choose_chart(frame, time_columns=times, title=title)
    if kind in {"auto", chosen.kind}:
        return chosen
    for column in _axis_candidates(frame, kind, times):
        roles: dict[str, Any] = {"time_columns": [column]} if kind == "line" else {"dimension_columns": [column]}
        spec = choose_chart(frame, title=title, **roles)
        if spec.kind == kind:
            return spec
    needs = "a time column" if kind == "line" else "a category column with at most 50 values"
    raise ToolError(
        f"task {ref}'s table (columns {', '.join(map(str, frame.columns))}) cannot be drawn as a {kind} chart: it "
        f"needs {needs} and at least one numeric column; use kind auto.",
        tool=_NAME,
    )


def _time_like(frame: pd.DataFrame, column: Any) -> bool:
    dtype = frame[column].dtype
    if ptypes.is_datetime64_any_dtype(dtype):
        return True
    if ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype):
        return bool(_INTEGER_TIME_NAME.match(str(column)))
    if ptypes.is_numeric_dtype(dtype) or ptypes.is_bool_dtype(dtype):
        return False
    return bool(_TIME_NAME.search(str(column)))


def _axis_candidates(frame: pd.DataFrame, kind: str, times: list[str]) -> list[str]:
    """Columns that could be the x axis: time-like ones for a line; for bars those, then the other text columns."""
    if kind == "line":
        return times
    others = [str(c) for c in frame.columns if str(c) not in times and not _is_measure(frame[c])]
    return times + others


def _is_measure(series: pd.Series) -> bool:
    return bool(ptypes.is_numeric_dtype(series.dtype)) and not ptypes.is_bool_dtype(series.dtype)
