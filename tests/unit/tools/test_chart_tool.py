"""The ``chart`` tool: charts chosen from an earlier task's table, and ``bar``/``line`` forced only when they fit."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.io as pio
import pytest

from kubeai.errors import ToolError
from tools.charts import chart_tool
from tools.registry import TaskInputs, TaskOutput, ToolRegistry

BY_REGION = pd.DataFrame({"region": ["华东", "华北", "华南"], "gmv": [1200.0, 800.0, 650.0]})
BY_MONTH = pd.DataFrame({"month": ["2025-01", "2025-02", "2025-03"], "gmv": [900.0, 1000.0, 1100.0]})
BY_DATE = pd.DataFrame({"order_date": pd.date_range("2025-01-01", periods=4, freq="D"), "orders": [5, 7, 6, 9]})
BY_YEAR = pd.DataFrame({"year": [2023, 2024, 2025], "gmv": [1.0, 2.0, 3.0]})
SINGLE = pd.DataFrame({"gmv": [1234.5]})


async def draw(frame: pd.DataFrame, language: str = "en", **args: Any) -> TaskOutput:
    inputs = TaskInputs(task_id="t2", results={"t1": TaskOutput(text="result", table=frame)}, language=language)
    return await ToolRegistry([chart_tool()]).run("chart", {"table": "t1", **args}, inputs)


def trace_types(out: TaskOutput) -> list[str]:
    assert out.chart is not None
    pio.from_json(json.dumps(out.chart), skip_invalid=False)  # valid plotly JSON
    return [trace["type"] for trace in out.chart["data"]]


@pytest.mark.parametrize(
    ("frame", "kind", "trace"),
    [
        (BY_REGION, "bar", "bar"),
        (BY_MONTH, "line", "scatter"),  # a text column named like time is the x axis
        (BY_DATE, "line", "scatter"),
        (BY_YEAR, "line", "scatter"),  # an integer `year` is time, not a metric
        (SINGLE, "card", "indicator"),
    ],
)
async def test_auto_chooses_the_chart_from_the_table_shape(frame: pd.DataFrame, kind: str, trace: str) -> None:
    out = await draw(frame, title="GMV")
    assert out.details["kind"] == kind
    assert trace_types(out) == [trace]
    assert out.chart is not None and out.chart["layout"]["title"]["text"] == "GMV"
    assert out.table is None and out.value is None


async def test_bar_can_be_forced_on_a_time_series() -> None:
    out = await draw(BY_DATE, kind="bar")
    assert out.details["kind"] == "bar"
    assert out.details["spec"]["x"] == "order_date"
    assert trace_types(out) == ["bar"]


async def test_line_and_bar_asked_for_where_they_fit_are_drawn() -> None:
    assert (await draw(BY_MONTH, kind="line")).details["kind"] == "line"
    assert (await draw(BY_REGION, kind="bar")).details["kind"] == "bar"


@pytest.mark.parametrize(("frame", "kind"), [(BY_REGION, "line"), (SINGLE, "bar"), (SINGLE, "line")])
async def test_a_kind_the_data_does_not_fit_is_a_tool_error(frame: pd.DataFrame, kind: str) -> None:
    with pytest.raises(ToolError, match=f"cannot be drawn as a {kind} chart.*use kind auto") as info:
        await draw(frame, kind=kind)
    assert info.value.tool == "chart"


async def test_the_text_describes_the_chart_in_the_request_language() -> None:
    assert (await draw(BY_REGION)).text == "A bar chart of gmv by region."
    assert (await draw(BY_MONTH, language="zh")).text == "gmv随month变化的折线图。"


async def test_an_empty_table_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="has no rows"):
        await draw(BY_REGION.head(0))


async def test_a_task_without_a_table_is_a_tool_error() -> None:
    inputs = TaskInputs(task_id="t2", results={"t1": TaskOutput(text="just text")})
    with pytest.raises(ToolError, match="produced no table"):
        await ToolRegistry([chart_tool()]).run("chart", {"table": "t1"}, inputs)


def test_arguments_are_checked_and_the_table_is_a_reference() -> None:
    tools = ToolRegistry([chart_tool()])
    assert tools.check_args("chart", {"table": "t1", "kind": "pie"})
    assert tools.check_args("chart", {"table": "first"})
    assert tools.check_args("chart", {"table": "t1", "title": "x" * 121})
    assert not tools.check_args("chart", {"table": "t1"})
    tool = tools.get("chart")
    assert tool.metadata is not None and tool.metadata["references"] == ("table",)
    assert not tools.needs_model("chart")
