"""Render a :class:`~tools.charts.spec.ChartSpec` and its data (a DataFrame or plain columns) into a Plotly figure.

Figures are built from ``plotly.graph_objects`` classes, which validate every property, and carry only data:
no callbacks, no templates fetched at run time. Fonts list CJK families first so Chinese labels render in the
browser and in PNG export (install ``fonts-noto-cjk`` on Debian).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from kubeai.errors import ChartError
from tools.charts._table import ChartData, as_columns, distinct, is_midnight, is_missing, row_count, sorted_positions
from tools.charts.spec import ChartSpec

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["FONT_FAMILY", "MAX_TABLE_ROWS", "build_figure"]

FONT_FAMILY = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
MAX_TABLE_ROWS = 500

Columns = Mapping[str, Sequence[Any]]


def build_figure(spec: ChartSpec, data: ChartData) -> go.Figure:
    """Build the Plotly figure a spec describes.

    Args:
        spec: The chart, usually from :func:`tools.charts.choose_chart`.
        data: The data, a DataFrame or plain columns (``{name: [values]}``); every column the spec names must be
            in it.

    Returns:
        A validated figure: ``line`` and ``bar`` as traces, ``card`` as an Indicator, ``table`` as a Table of
        at most :data:`MAX_TABLE_ROWS` rows. Axis titles, trace names and table headers use the spec's labels.

    Raises:
        kubeai.errors.ChartError: The spec names a column the data lacks, or a card's value is not a number.
    """
    import plotly.graph_objects as go

    columns = as_columns(data)
    named = [c for c in (spec.x, *spec.y, spec.series, *spec.columns) if c is not None]
    missing = [c for c in named if c not in columns]
    if missing:
        raise ChartError(
            f"The chart names columns {missing} that the result does not have; choose the chart from this result."
        )
    try:
        if spec.kind == "card":
            fig = _card(spec, columns)
        elif spec.kind == "table":
            fig = _table(spec, columns)
        else:
            fig = _xy(spec, columns, line=spec.kind == "line")
    except ValueError as exc:  # plotly's property validation
        raise ChartError(f"Plotly rejected the {spec.kind} chart ({exc}); report this as a bug.") from exc
    fig.update_layout(
        title={"text": spec.title},
        font={"family": FONT_FAMILY},
        template="plotly_white",
        margin={"l": 60, "r": 30, "t": 60 if spec.title else 30, "b": 50},
    )
    assert isinstance(fig, go.Figure)
    return fig


def _values(values: Sequence[Any], positions: Sequence[int]) -> list[Any]:
    """Plain Python values for plotly at ``positions`` (NaN/NaT become None)."""
    return [None if is_missing(values[i]) else values[i] for i in positions]


def _label(spec: ChartSpec, column: str) -> str:
    return spec.labels.get(column, column)


def _axis_title(spec: ChartSpec) -> str:
    if len(spec.y) == 1 and spec.y[0] in spec.labels:
        return spec.labels[spec.y[0]]  # a label says the unit itself
    name = spec.y[0] if len(spec.y) == 1 else ""
    if spec.unit:
        return f"{name} ({spec.unit})" if name else spec.unit
    return name


def _xy(spec: ChartSpec, columns: Columns, *, line: bool) -> go.Figure:
    import plotly.graph_objects as go

    assert spec.x is not None
    x_values = columns[spec.x]
    order = sorted_positions(x_values) if line else list(range(len(x_values)))
    traces: list[tuple[str, list[int], str]] = []
    if spec.series is not None:
        keys = columns[spec.series]
        groups = distinct(keys)
        ranked = sorted_positions(groups)
        for key in (groups[i] for i in ranked):
            positions = [i for i in order if (None if is_missing(keys[i]) else keys[i]) == key]
            traces.append(("(null)" if key is None else str(key), positions, spec.y[0]))
    else:
        traces = [(_label(spec, metric), order, metric) for metric in spec.y]
    fig = go.Figure()
    for label, positions, metric in traces:
        xs, ys = _values(x_values, positions), _values(columns[metric], positions)
        if line:
            mode = "lines+markers" if len(positions) <= 60 else "lines"
            fig.add_trace(go.Scatter(x=xs, y=ys, name=label, mode=mode))
        elif spec.horizontal:
            fig.add_trace(go.Bar(x=ys, y=[str(v) for v in xs], name=label, orientation="h"))
        else:
            fig.add_trace(go.Bar(x=[str(v) for v in xs], y=ys, name=label))
    value_title, category_title = _axis_title(spec), _label(spec, spec.x)
    if spec.kind == "bar" and spec.horizontal:
        fig.update_xaxes(title_text=value_title)
        fig.update_yaxes(title_text=category_title, autorange="reversed", automargin=True)
    else:
        fig.update_xaxes(title_text=category_title)
        fig.update_yaxes(title_text=value_title)
    if spec.kind == "bar":
        fig.update_layout(barmode="group")
    legend = _label(spec, spec.series) if spec.series else ""
    fig.update_layout(showlegend=len(traces) > 1, legend_title_text=legend)
    return fig


def _card(spec: ChartSpec, columns: Columns) -> go.Figure:
    import plotly.graph_objects as go

    raw = columns[spec.y[0]][0] if columns[spec.y[0]] else None
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ChartError(f"The card value {raw!r} in column {spec.y[0]!r} is not a number; show a table instead.")
    suffix = "" if not spec.unit else (spec.unit if spec.unit == "%" else f" {spec.unit}")
    number: dict[str, Any] = {"suffix": suffix, "valueformat": ",.0f" if value.is_integer() else ",.2f"}
    return go.Figure(
        go.Indicator(mode="number", value=value, number=number, title={"text": _label(spec, spec.y[0])}),
        layout={"height": 300},
    )


def _cell(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if is_midnight(value) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def _table(spec: ChartSpec, columns: Columns) -> go.Figure:
    import plotly.graph_objects as go

    names = list(spec.columns) or list(columns)
    total = row_count(columns)
    cells = [[_cell(v) for v in columns[c][:MAX_TABLE_ROWS]] for c in names]
    headers = [_label(spec, c) for c in names]
    fig = go.Figure(go.Table(header={"values": headers, "align": "left"}, cells={"values": cells, "align": "left"}))
    if total > MAX_TABLE_ROWS:
        fig.add_annotation(
            text=f"first {MAX_TABLE_ROWS} of {total} rows",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=1,
            y=-0.05,
            xanchor="right",
        )
    return fig
