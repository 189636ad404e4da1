"""The answer sentence: chosen by the result's shape, worded from packaged templates, numbers read from the table.

A 135M model misquotes numbers; the answer must not. So the sentence is composed by code from the DataFrame and
the catalog's labels and formats, in the question's language, from the templates in ``prompts/answers.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import pandas as pd
import yaml

from knowledge.catalog import Catalog

__all__ = ["compose_answer", "format_value"]

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


@cache
def _templates() -> dict[str, dict[str, jinja2.Template]]:
    text = resources.files("graphs.metrics.prompts").joinpath("answers.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return {lang: {key: _ENV.from_string(str(t)) for key, t in items.items()} for lang, items in data.items()}


def format_value(value: Any, fmt: str = "number", unit: str | None = None) -> str:
    """A number as a person reads it: thousands separators, 2 decimals, percent for ratios."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if not isinstance(value, int | float):
        return str(value)
    if fmt == "percent":
        return f"{value * 100:.2f}%"
    text = f"{value:,.0f}" if fmt == "integer" or float(value).is_integer() else f"{value:,.2f}"
    return f"{text} {unit}" if unit and fmt == "currency" else text


def compose_answer(
    *,
    frame: pd.DataFrame,
    catalog: Catalog,
    metric_names: Sequence[str],
    language: str,
    period: Sequence[str] | None,
    truncated: bool = False,
) -> str:
    """One or two sentences describing the result table.

    Args:
        frame: The query result.
        catalog: For metric labels, formats and units.
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
    if frame.empty:
        return t["empty"].render(period=period_text)
    metric_col, label, fmt, unit = _metric_column(frame, catalog, metric_names, lang)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    others = [c for c in frame.columns if c not in numeric]
    tail = t["truncated"].render(rows=len(frame)) if truncated else ""
    if metric_col is None:
        return t["table"].render(rows=len(frame), period=period_text) + tail

    def show(v: Any) -> str:
        return format_value(_scalar(v), fmt, unit)

    if len(frame) == 1 and not others:
        return t["single"].render(metric=label, period=period_text, value=show(frame[metric_col].iloc[0])) + tail
    if len(others) == 1:
        key = others[0]
        if pd.api.types.is_datetime64_any_dtype(frame[key]) or _looks_temporal(frame[key]):
            ordered = frame.sort_values(key)
            first, last = ordered.iloc[0], ordered.iloc[-1]
            peak = ordered.iloc[int(ordered[metric_col].to_numpy().argmax())]
            return (
                t["series"].render(
                    metric=label,
                    period=period_text,
                    first_value=show(first[metric_col]),
                    first_x=_x(first[key]),
                    last_value=show(last[metric_col]),
                    last_x=_x(last[key]),
                    change=_change(first[metric_col], last[metric_col], lang),
                    peak_value=show(peak[metric_col]),
                    peak_x=_x(peak[key]),
                )
                + tail
            )
        ranked = frame.dropna(subset=[metric_col]).sort_values(metric_col, ascending=False)
        if not ranked.empty:
            top, bottom = ranked.iloc[0], ranked.iloc[-1]
            return (
                t["ranked"].render(
                    metric=label,
                    period=period_text,
                    count=len(ranked),
                    dimension=_dimension_label(catalog, str(key), lang),
                    top=top[key],
                    top_value=show(top[metric_col]),
                    bottom=bottom[key],
                    bottom_value=show(bottom[metric_col]),
                )
                + tail
            )
    return t["table"].render(rows=len(frame), period=period_text) + tail


def _metric_column(
    frame: pd.DataFrame, catalog: Catalog, names: Sequence[str], lang: str
) -> tuple[str | None, str, str, str | None]:
    for name in names:
        if name in frame.columns and pd.api.types.is_numeric_dtype(frame[name]):
            metric = catalog.metric(name)
            if metric is None:
                return name, name, "number", None
            label = metric.label.zh if lang == "zh" else metric.label.en
            return name, label, metric.format, metric.unit
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    return (numeric[0], str(numeric[0]), "number", None) if numeric else (None, "", "number", None)


def _dimension_label(catalog: Catalog, column: str, lang: str) -> str:
    dimension = catalog.dimension(column)
    if dimension is None:
        return column
    return dimension.label.zh if lang == "zh" else dimension.label.en


def _scalar(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _looks_temporal(series: pd.Series) -> bool:
    sample = series.dropna().astype(str).head(5)
    return bool(len(sample)) and bool(sample.str.match(r"^\d{4}-\d{2}(-\d{2})?").all())


def _x(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)[:10]


def _change(first: Any, last: Any, lang: str) -> str:
    a, b = float(_scalar(first)), float(_scalar(last))
    if a == 0:
        return "无可比基数" if lang == "zh" else "no base to compare"
    pct = (b - a) / abs(a) * 100
    if lang == "zh":
        return f"{'增长' if pct >= 0 else '下降'} {abs(pct):.1f}%"
    return f"{'up' if pct >= 0 else 'down'} {abs(pct):.1f}%"
