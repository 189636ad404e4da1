"""Chart validity: a Plotly figure parses, and its kind fits the shape of the result it shows.

The figure must load with ``plotly.io.from_json`` (which validates every property) and hold at least one trace.
Its kind is read from the traces: ``indicator`` is a card, ``table`` a table, ``bar`` a bar chart, ``scatter``
a line chart; any other trace type is invalid here. Then the kind must fit the result:

* card: the result has exactly one row and the indicator shows a finite number;
* line: the result has at least two rows and every trace has an x axis with more than one distinct value;
* bar: the result has at least one row and no trace has more points than the result has rows;
* table: the table has one column per result column.

Kinds may not be mixed in one figure. The scorer returns a verdict with a reason; it never raises.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ChartVerdict", "chart_validity"]

_KINDS = {"indicator": "card", "table": "table", "bar": "bar", "scatter": "line", "scattergl": "line"}


@dataclass(frozen=True, kw_only=True)
class ChartVerdict:
    """Whether a figure is valid for its result.

    Attributes:
        valid: The figure parses and fits the result.
        kind: ``card``, ``line``, ``bar`` or ``table`` when it could be told, else ``None``.
        reason: Why it is invalid; empty when valid.
    """

    valid: bool
    kind: str | None
    reason: str = ""


def chart_validity(
    figure: str | Mapping[str, Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> ChartVerdict:
    """Check a Plotly figure against the result it is meant to show.

    Args:
        figure: The figure as Plotly JSON text or its parsed mapping.
        columns: The result's column names.
        rows: The result's rows.

    Returns:
        The verdict.
    """
    import plotly.io as pio

    try:
        text = figure if isinstance(figure, str) else json.dumps(figure)
        fig = pio.from_json(text, skip_invalid=False)
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        return ChartVerdict(valid=False, kind=None, reason=f"the figure is not valid Plotly JSON ({_short(exc)})")
    traces = list(fig.data)
    if not traces:
        return ChartVerdict(valid=False, kind=None, reason="the figure has no traces")
    kinds = {_KINDS.get(trace.type) for trace in traces}
    if None in kinds:
        unknown = sorted({trace.type for trace in traces if trace.type not in _KINDS})
        return ChartVerdict(valid=False, kind=None, reason=f"trace types {unknown} are not line, bar, card or table")
    if len(kinds) != 1:
        return ChartVerdict(valid=False, kind=None, reason=f"the figure mixes chart kinds {sorted(map(str, kinds))}")
    kind = str(kinds.pop())
    reason = _fit(kind, traces, columns, rows)
    return ChartVerdict(valid=not reason, kind=kind, reason=reason)


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def _fit(kind: str, traces: list[Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    checks = {"card": _fit_card, "table": _fit_table, "line": _fit_line, "bar": _fit_bar}
    return checks[kind](traces, columns, rows)


def _fit_card(traces: list[Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if len(rows) != 1:
        return f"a card shows one row but the result has {len(rows)}"
    value = traces[0].value
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "the card shows no finite number"
    return ""


def _fit_table(traces: list[Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    values = traces[0].cells.values if traces[0].cells is not None else None
    shown = len(values) if values is not None else 0
    if shown != len(columns):
        return f"the table shows {shown} columns but the result has {len(columns)}"
    return ""


def _fit_line(traces: list[Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if len(rows) < 2:
        return f"a line chart needs at least two rows but the result has {len(rows)}"
    for trace in traces:
        xs = trace.x if trace.x is not None else ()
        if len({json.dumps(x, default=str) for x in xs}) < 2:
            return "a line needs an x axis with more than one distinct value"
    return ""


def _fit_bar(traces: list[Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "a bar chart needs at least one row"
    for trace in traces:
        axis = trace.y if trace.orientation == "h" else trace.x
        points = len(axis) if axis is not None else 0
        if points == 0:
            return "a bar trace has no bars"
        if points > len(rows):
            return f"a bar trace has {points} bars but the result has only {len(rows)} rows"
    return ""
