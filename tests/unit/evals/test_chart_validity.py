"""Chart validity: figures from tools.charts and hand-made misfits, checked against result shapes."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from evals.scorers import chart_validity
from tools.charts import ChartSpec, build_figure


def _figure(spec: ChartSpec, frame: pd.DataFrame) -> str:
    return str(build_figure(spec, frame).to_json())


def _rows(frame: pd.DataFrame) -> list[list[Any]]:
    return frame.to_numpy().tolist()


MONTHLY = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]), "gmv": [1.0, 2.0, 3.0]})
REGIONS = pd.DataFrame({"region": ["华东", "华北"], "gmv": [5.0, 4.0]})
TOTAL = pd.DataFrame({"gmv": [43201946.84]})


def test_charts_built_by_the_agent_tools_are_valid() -> None:
    line = chart_validity(
        _figure(ChartSpec(kind="line", x="month", y=("gmv",)), MONTHLY), ["month", "gmv"], _rows(MONTHLY)
    )
    assert (line.valid, line.kind, line.reason) == (True, "line", "")
    bar = chart_validity(
        _figure(ChartSpec(kind="bar", x="region", y=("gmv",)), REGIONS), ["region", "gmv"], _rows(REGIONS)
    )
    assert (bar.valid, bar.kind) == (True, "bar")
    card = chart_validity(_figure(ChartSpec(kind="card", y=("gmv",)), TOTAL), ["gmv"], _rows(TOTAL))
    assert (card.valid, card.kind) == (True, "card")
    table = chart_validity(
        _figure(ChartSpec(kind="table", columns=("region", "gmv")), REGIONS), ["region", "gmv"], _rows(REGIONS)
    )
    assert (table.valid, table.kind) == (True, "table")


def test_a_parsed_mapping_is_accepted() -> None:
    figure = json.loads(_figure(ChartSpec(kind="card", y=("gmv",)), TOTAL))
    assert chart_validity(figure, ["gmv"], _rows(TOTAL)).valid


def test_card_needs_exactly_one_row() -> None:
    figure = _figure(ChartSpec(kind="card", y=("gmv",)), REGIONS)
    verdict = chart_validity(figure, ["region", "gmv"], _rows(REGIONS))
    assert not verdict.valid
    assert verdict.kind == "card"
    assert "one row" in verdict.reason


def test_line_needs_more_than_one_distinct_x() -> None:
    flat = go.Figure(go.Scatter(x=["2025-01", "2025-01"], y=[1, 2], mode="lines")).to_json()
    verdict = chart_validity(flat, ["month", "gmv"], [["2025-01", 1], ["2025-01", 2]])
    assert not verdict.valid
    assert "distinct" in verdict.reason
    single = chart_validity(_figure(ChartSpec(kind="line", x="month", y=("gmv",)), MONTHLY), ["month", "gmv"], [])
    assert not single.valid


def test_bar_with_more_bars_than_rows_or_no_rows() -> None:
    figure = _figure(ChartSpec(kind="bar", x="region", y=("gmv",)), REGIONS)
    assert not chart_validity(figure, ["region", "gmv"], _rows(REGIONS)[:1]).valid
    assert not chart_validity(figure, ["region", "gmv"], []).valid


def test_table_must_show_every_result_column() -> None:
    figure = _figure(ChartSpec(kind="table", columns=("region",)), REGIONS)
    verdict = chart_validity(figure, ["region", "gmv"], _rows(REGIONS))
    assert not verdict.valid
    assert "1 columns" in verdict.reason


def test_invalid_json_unknown_properties_and_unsupported_traces() -> None:
    assert not chart_validity("{not json", ["a"], [[1]]).valid
    bogus = {"data": [{"type": "bar", "x": ["a"], "y": [1], "bogus_property": 3}], "layout": {}}
    verdict = chart_validity(bogus, ["a", "b"], [["a", 1]])
    assert not verdict.valid
    assert verdict.kind is None
    pie = go.Figure(go.Pie(labels=["a"], values=[1])).to_json()
    assert "not line, bar, card or table" in chart_validity(pie, ["a", "b"], [["a", 1]]).reason
    assert "no traces" in chart_validity(go.Figure().to_json(), ["a"], [[1]]).reason


def test_mixed_kinds_are_invalid() -> None:
    fig = go.Figure([go.Bar(x=["a"], y=[1]), go.Scatter(x=["a", "b"], y=[1, 2])])
    verdict = chart_validity(fig.to_json(), ["x", "y"], [["a", 1], ["b", 2]])
    assert not verdict.valid
    assert "mixes" in verdict.reason
