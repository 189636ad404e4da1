"""Declarative charts: a chart is chosen from a result's shape, never written by a model.

:func:`choose_chart` picks a :class:`ChartSpec` (line for a time series, bar for categories, a single-value card,
or a table) from a DataFrame or plain columns and the column roles and labels the query declared;
:func:`build_figure` turns the spec into a validated Plotly figure; :func:`figure_json` and :func:`export_chart`
serialise it (``.json``, self-contained ``.html``, ``.png`` through kaleido and a local Chromium).
:func:`chart_tool` is the planner's ``chart`` tool over an earlier task's table. See
``docs/warehouses-and-charts.md``.
"""

from __future__ import annotations

from tools.charts.export import export_chart, figure_json
from tools.charts.figure import build_figure
from tools.charts.spec import ChartData, ChartKind, ChartSpec, choose_chart
from tools.charts.tool import chart_tool

__all__ = [
    "ChartData",
    "ChartKind",
    "ChartSpec",
    "build_figure",
    "chart_tool",
    "choose_chart",
    "export_chart",
    "figure_json",
]
