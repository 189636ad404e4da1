"""Render a :class:`~tools.charts.spec.ChartSpec` and a DataFrame into a Plotly figure.

Figures are built from ``plotly.graph_objects`` classes, which validate every property, and carry only data:
no callbacks, no templates fetched at run time. Fonts list CJK families first so Chinese labels render in the
browser and in PNG export (install ``fonts-noto-cjk`` on Debian).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from kubeai.errors import ChartError
from tools.charts.spec import ChartSpec

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["FONT_FAMILY", "MAX_TABLE_ROWS", "build_figure"]

FONT_FAMILY = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
MAX_TABLE_ROWS = 500


def build_figure(spec: ChartSpec, frame: pd.DataFrame) -> go.Figure:
    """Build the Plotly figure a spec describes.

    Args:
        spec: The chart, usually from :func:`tools.charts.choose_chart`.
        frame: The data; every column the spec names must be in it.

    Returns:
        A validated figure: ``line`` and ``bar`` as traces, ``card`` as an Indicator, ``table`` as a Table of
        at most :data:`MAX_TABLE_ROWS` rows.

    Raises:
        kubeai.errors.ChartError: The spec names a column the frame lacks, or a card's value is not a number.
    """
    import plotly.graph_objects as go

    named = [c for c in (spec.x, *spec.y, spec.series, *spec.columns) if c is not None]
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise ChartError(
            f"The chart names columns {missing} that the result does not have; choose the chart from this result."
        )
    try:
        if spec.kind == "card":
            fig = _card(spec, frame)
        elif spec.kind == "table":
            fig = _table(spec, frame)
        elif spec.kind == "line":
            fig = _xy(spec, frame.sort_values(spec.x) if spec.x else frame, line=True)
        else:
            fig = _xy(spec, frame, line=False)
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


def _values(series: pd.Series) -> list[Any]:
    """Plain Python values for plotly (NaN/NaT become None)."""
    return [None if _missing(v) else v for v in series.tolist()]


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _axis_title(spec: ChartSpec) -> str:
    name = spec.y[0] if len(spec.y) == 1 else ""
    if spec.unit:
        return f"{name} ({spec.unit})" if name else spec.unit
    return name


def _xy(spec: ChartSpec, frame: pd.DataFrame, *, line: bool) -> go.Figure:
    import plotly.graph_objects as go

    assert spec.x is not None
    traces: list[tuple[str, pd.DataFrame, str]] = []
    if spec.series is not None:
        for key, part in frame.groupby([spec.series], sort=True, dropna=False):
            label = "(null)" if _missing(key[0]) else str(key[0])
            traces.append((label, part, spec.y[0]))
    else:
        traces = [(metric, frame, metric) for metric in spec.y]
    fig = go.Figure()
    for label, part, metric in traces:
        xs, ys = _values(part[spec.x]), _values(part[metric])
        if line:
            mode = "lines+markers" if len(part) <= 60 else "lines"
            fig.add_trace(go.Scatter(x=xs, y=ys, name=label, mode=mode))
        elif spec.horizontal:
            fig.add_trace(go.Bar(x=ys, y=[str(v) for v in xs], name=label, orientation="h"))
        else:
            fig.add_trace(go.Bar(x=[str(v) for v in xs], y=ys, name=label))
    value_title, category_title = _axis_title(spec), spec.x
    if spec.kind == "bar" and spec.horizontal:
        fig.update_xaxes(title_text=value_title)
        fig.update_yaxes(title_text=category_title, autorange="reversed", automargin=True)
    else:
        fig.update_xaxes(title_text=category_title)
        fig.update_yaxes(title_text=value_title)
    if spec.kind == "bar":
        fig.update_layout(barmode="group")
    fig.update_layout(showlegend=len(traces) > 1, legend_title_text=spec.series or "")
    return fig


def _card(spec: ChartSpec, frame: pd.DataFrame) -> go.Figure:
    import plotly.graph_objects as go

    raw = frame[spec.y[0]].iloc[0]
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ChartError(f"The card value {raw!r} in column {spec.y[0]!r} is not a number; show a table instead.")
    suffix = "" if not spec.unit else (spec.unit if spec.unit == "%" else f" {spec.unit}")
    number: dict[str, Any] = {"suffix": suffix, "valueformat": ",.0f" if value.is_integer() else ",.2f"}
    return go.Figure(
        go.Indicator(mode="number", value=value, number=number, title={"text": spec.y[0]}),
        layout={"height": 300},
    )


def _cell(value: Any) -> str:
    import pandas as pd

    if _missing(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat(sep=" ")
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def _table(spec: ChartSpec, frame: pd.DataFrame) -> go.Figure:
    import plotly.graph_objects as go

    columns = list(spec.columns) or [str(c) for c in frame.columns]
    shown = frame[columns].head(MAX_TABLE_ROWS)
    cells = [[_cell(v) for v in shown[c].tolist()] for c in columns]
    fig = go.Figure(go.Table(header={"values": columns, "align": "left"}, cells={"values": cells, "align": "left"}))
    if len(frame) > MAX_TABLE_ROWS:
        fig.add_annotation(
            text=f"first {MAX_TABLE_ROWS} of {len(frame)} rows",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=1,
            y=-0.05,
            xanchor="right",
        )
    return fig
