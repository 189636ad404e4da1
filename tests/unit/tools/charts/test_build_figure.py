from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from kubeai.errors import ChartError
from tools.charts import ChartSpec, build_figure, choose_chart, export_chart, figure_json
from tools.charts.figure import MAX_TABLE_ROWS

MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")


def _roundtrip(fig: go.Figure) -> go.Figure:
    data = figure_json(fig)
    return pio.from_json(json.dumps(data), skip_invalid=False)


def test_line_with_series_has_one_sorted_trace_per_value() -> None:
    frame = pd.DataFrame({"month": list(MONTHS[::-1]) * 2, "channel": ["App"] * 6 + ["小程序"] * 6})
    frame["orders"] = range(12)
    fig = build_figure(choose_chart(frame, title="月度订单"), frame)
    assert [t.name for t in fig.data] == ["App", "小程序"]
    assert all(t.type == "scatter" for t in fig.data)
    xs = list(fig.data[0].x)
    assert xs == sorted(xs)
    assert fig.layout.title.text == "月度订单"
    assert "Noto Sans CJK SC" in fig.layout.font.family
    assert _roundtrip(fig).data[1].name == "小程序"


def test_line_with_several_metrics() -> None:
    frame = pd.DataFrame({"month": MONTHS, "gmv": [1.5] * 6, "orders": [2] * 6})
    fig = build_figure(choose_chart(frame), frame)
    assert [t.name for t in fig.data] == ["gmv", "orders"]


def test_bar_vertical_and_horizontal() -> None:
    frame = pd.DataFrame({"region": ["华东", "华北"], "gmv": [3.0, 1.0]})
    vertical = build_figure(ChartSpec(kind="bar", x="region", y=("gmv",), unit="元"), frame)
    assert vertical.data[0].type == "bar"
    assert list(vertical.data[0].x) == ["华东", "华北"]
    assert vertical.layout.yaxis.title.text == "gmv (元)"
    horizontal = build_figure(ChartSpec(kind="bar", x="region", y=("gmv",), horizontal=True), frame)
    assert horizontal.data[0].orientation == "h"
    assert list(horizontal.data[0].y) == ["华东", "华北"]
    assert horizontal.layout.yaxis.autorange == "reversed"  # first category on top, as the query ordered it


def test_card_is_an_indicator() -> None:
    fig = build_figure(ChartSpec(kind="card", title="GMV", y=("gmv",), unit="元"), pd.DataFrame({"gmv": [1234.5]}))
    (indicator,) = fig.data
    assert indicator.type == "indicator"
    assert indicator.value == 1234.5
    assert indicator.number.suffix == " 元"
    assert _roundtrip(fig).data[0].value == 1234.5


def test_card_of_a_non_number_fails_clearly() -> None:
    with pytest.raises(ChartError, match="is not a number"):
        build_figure(ChartSpec(kind="card", y=("gmv",)), pd.DataFrame({"gmv": ["n/a"]}))


def test_table_formats_cells_and_caps_rows() -> None:
    frame = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=MAX_TABLE_ROWS + 5, freq="D")})
    frame["gmv"] = 1234.5
    frame["city"] = None
    fig = build_figure(ChartSpec(kind="table", title="明细"), frame)
    (table,) = fig.data
    assert table.type == "table"
    assert list(table.header.values) == ["day", "gmv", "city"]
    assert len(table.cells.values[0]) == MAX_TABLE_ROWS
    assert table.cells.values[0][0] == "2024-01-01"
    assert table.cells.values[1][0] == "1,234.50"
    assert table.cells.values[2][0] == ""
    assert f"first {MAX_TABLE_ROWS} of {MAX_TABLE_ROWS + 5} rows" in fig.layout.annotations[0].text


def test_missing_column_is_a_chart_error() -> None:
    with pytest.raises(ChartError, match=r"columns \['gmv'\]"):
        build_figure(ChartSpec(kind="bar", x="region", y=("gmv",)), pd.DataFrame({"region": ["a"], "orders": [1]}))


def test_nulls_become_gaps_not_errors() -> None:
    frame = pd.DataFrame({"month": MONTHS[:3], "gmv": [1.0, None, 3.0]})
    fig = build_figure(choose_chart(frame), frame)
    assert list(fig.data[0].y) == [1.0, None, 3.0]
    figure_json(fig)


def test_hostile_labels_stay_data(tmp_path: Path) -> None:
    evil = "<script>alert('x')</script>"
    frame = pd.DataFrame({"name": [evil, "ok"], "gmv": [1.0, 2.0]})
    fig = build_figure(choose_chart(frame, title=evil), frame)
    html = export_chart(fig, tmp_path / "evil.html").read_text(encoding="utf-8")
    assert evil not in html  # serialised as JSON with <, > escaped


def test_export_json_and_html(tmp_path: Path) -> None:
    frame = pd.DataFrame({"region": ["华东", "华北"], "gmv": [3.0, 1.0]})
    fig = build_figure(choose_chart(frame, title="各区域GMV"), frame)
    json_path = export_chart(fig, tmp_path / "out" / "chart.json")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert "各区域GMV" in json_path.read_text(encoding="utf-8")  # not \u-escaped
    assert pio.from_json(json.dumps(data)).data[0].x == ("华东", "华北")
    html = export_chart(fig, tmp_path / "chart.html").read_text(encoding="utf-8")
    assert '<script src="http' not in html  # plotly.js inlined: works offline
    assert "Plotly.newPlot" in html
    assert len(html) > 1_000_000
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_rejects_unknown_suffix_and_writes_nothing(tmp_path: Path) -> None:
    fig = build_figure(ChartSpec(kind="card", y=("x",)), pd.DataFrame({"x": [1]}))
    with pytest.raises(ChartError, match=r"use a \.json, \.html or \.png"):
        export_chart(fig, tmp_path / "chart.svg")
    assert list(tmp_path.iterdir()) == []


def test_png_without_a_browser_fails_clearly(tmp_path: Path) -> None:
    fig = build_figure(ChartSpec(kind="card", y=("x",)), pd.DataFrame({"x": [1]}))
    with pytest.raises(ChartError, match="No Chrome or Chromium was found"):
        export_chart(fig, tmp_path / "chart.png", browser_path=tmp_path / "no-such-chrome")
    assert list(tmp_path.iterdir()) == []


def test_labels_title_the_axes_traces_card_and_table() -> None:
    labels = {"region": "地区", "gmv": "成交额（CNY）", "orders": "订单量"}
    data = {"region": ["华东", "华北"], "gmv": [3.0, 2.0], "orders": [30, 20]}
    bar = build_figure(ChartSpec(kind="bar", x="region", y=("gmv",), unit="CNY", labels=labels), data)
    assert (bar.layout.xaxis.title.text, bar.layout.yaxis.title.text) == ("地区", "成交额（CNY）")
    two = build_figure(ChartSpec(kind="bar", x="region", y=("gmv", "orders"), labels=labels), data)
    assert [t.name for t in two.data] == ["成交额（CNY）", "订单量"]
    card = build_figure(ChartSpec(kind="card", y=("gmv",), labels=labels), {"gmv": [3.0]})
    assert card.data[0].title.text == "成交额（CNY）"
    table = build_figure(ChartSpec(kind="table", labels=labels), data)
    assert list(table.data[0].header.values) == ["地区", "成交额（CNY）", "订单量"]
    unlabelled = build_figure(ChartSpec(kind="bar", x="region", y=("gmv",), unit="CNY"), data)
    assert (unlabelled.layout.xaxis.title.text, unlabelled.layout.yaxis.title.text) == ("region", "gmv (CNY)")


def test_plain_columns_draw_the_same_figure_as_a_dataframe() -> None:
    frame = pd.DataFrame({"month": list(MONTHS) * 2, "channel": ["App"] * 6 + [None] * 6, "orders": range(12)})
    columns = {name: frame[name].tolist() for name in frame.columns}
    spec = choose_chart(frame, title="月度订单")
    assert figure_json(build_figure(spec, columns)) == figure_json(build_figure(spec, frame))
