"""The answer sentence: chosen by the result's shape, worded from packaged templates, numbers read from the table.

A 135M model misquotes numbers; the answer must not. So the sentence is composed by code from the result's rows
and what each column holds (role, label, unit and format, from the compiler or inferred), in the question's
language, from the templates in ``prompts/answers.yaml``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml

from graphs.metrics.result import ColumnInfo

__all__ = ["compose_answer", "format_value"]

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


@cache
def _templates() -> dict[str, dict[str, jinja2.Template]]:
    text = resources.files("graphs.metrics.prompts").joinpath("answers.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return {lang: {key: _ENV.from_string(str(t)) for key, t in items.items()} for lang, items in data.items()}


def format_value(value: Any, fmt: str = "number", unit: str | None = None) -> str:
    """A number as a person reads it: thousands separators, 2 decimals, percent for rates.

    ``fmt`` is a column format (:class:`graphs.metrics.result.ColumnInfo`): ``fraction`` values are rates as
    fractions (0.031 reads 3.10%), ``percent`` values are already in percent (3.1 reads 3.10%).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if not isinstance(value, int | float):
        return str(value)
    if fmt == "fraction":
        return f"{value * 100:.2f}%"
    if fmt == "percent":
        return f"{value:.2f}%"
    text = f"{value:,.0f}" if fmt == "integer" or float(value).is_integer() else f"{value:,.2f}"
    return f"{text} {unit}" if unit and fmt == "currency" else text


def compose_answer(
    *,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    column_info: Sequence[ColumnInfo],
    metric_names: Sequence[str],
    language: str,
    period: Sequence[str] | None,
    truncated: bool = False,
) -> str:
    """One or two sentences describing the result table.

    Args:
        columns: The result's column names.
        rows: The result's rows (JSON values).
        column_info: What each column holds: its role, labels, unit and format.
        metric_names: The metrics the query computed, in order; the first found in the table is described.
        language: ``zh`` or ``en``.
        period: The resolved ``[start, end_exclusive)`` ISO dates, if the query had a date range.
        truncated: Whether the row cap cut the result.
    """
    lang = "zh" if language == "zh" else "en"
    t = _templates()[lang]
    period_text = ""
    if period:
        end = date.fromisoformat(period[1]) - timedelta(days=1)
        period_text = t["period"].render(start=period[0], end=end.isoformat())
    if not rows:
        return t["empty"].render(period=period_text)
    described = [c for c in column_info if c["name"] in columns]
    metric = _metric_column(described, metric_names)
    others = [c for c in described if c["role"] != "metric"]
    tail = t["truncated"].render(rows=len(rows)) if truncated else ""
    if metric is None:
        return t["table"].render(rows=len(rows), period=period_text) + tail
    at = list(columns).index(metric["name"])
    label = _label(metric, lang)

    def show(v: Any) -> str:
        return format_value(v, metric["format"], metric["unit"])

    if len(rows) == 1 and not others:
        return t["single"].render(metric=label, period=period_text, value=show(rows[0][at])) + tail
    valued = [row for row in rows if isinstance(row[at], int | float)]
    if len(others) == 1 and valued:
        key = list(columns).index(others[0]["name"])
        if others[0]["role"] == "time":
            ordered = _in_order(rows, key)
            first, last = ordered[0], ordered[-1]
            peak = max(valued, key=lambda row: row[at])
            return (
                t["series"].render(
                    metric=label,
                    period=period_text,
                    first_value=show(first[at]),
                    first_x=_x(first[key]),
                    last_value=show(last[at]),
                    last_x=_x(last[key]),
                    change=_change(first[at], last[at], lang),
                    peak_value=show(peak[at]),
                    peak_x=_x(peak[key]),
                )
                + tail
            )
        ranked = sorted(valued, key=lambda row: row[at], reverse=True)
        top, bottom = ranked[0], ranked[-1]
        return (
            t["ranked"].render(
                metric=label,
                period=period_text,
                count=len(ranked),
                dimension=_label(others[0], lang),
                top=top[key],
                top_value=show(top[at]),
                bottom=bottom[key],
                bottom_value=show(bottom[at]),
            )
            + tail
        )
    return t["table"].render(rows=len(rows), period=period_text) + tail


def _metric_column(info: Sequence[ColumnInfo], names: Sequence[str]) -> ColumnInfo | None:
    """The column to describe: the first named metric in the table, else the first measure."""
    measures = [c for c in info if c["role"] == "metric"]
    for name in names:
        for column in measures:
            if column["name"] == name:
                return column
    return measures[0] if measures else None


def _label(column: ColumnInfo, lang: str) -> str:
    return (column["label_zh"] if lang == "zh" else column["label_en"]) or column["name"]


def _in_order(rows: Sequence[Sequence[Any]], key: int) -> list[Sequence[Any]]:
    """Rows in the order of column ``key`` (ISO dates, month or quarter text, years), missing values last."""
    try:
        return sorted(rows, key=lambda row: (row[key] is None, 0 if row[key] is None else row[key]))
    except TypeError:  # mixed types: order as text
        return sorted(rows, key=lambda row: (row[key] is None, str(row[key])))


def _x(value: Any) -> str:
    return str(value)[:10]


def _change(first: Any, last: Any, lang: str) -> str:
    if not isinstance(first, int | float) or not isinstance(last, int | float) or first == 0:
        return "无可比基数" if lang == "zh" else "no base to compare"
    pct = (last - first) / abs(first) * 100
    if lang == "zh":
        return f"{'增长' if pct >= 0 else '下降'} {abs(pct):.1f}%"
    return f"{'up' if pct >= 0 else 'down'} {abs(pct):.1f}%"
