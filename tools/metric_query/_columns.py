"""What each result column holds, as the catalog says: its kind, unit, format and labels.

The compiler knows every column's role when it builds the SQL, so it says so here, once, instead of charts and
answers re-inferring it from dtypes. Also the rules for rates: when a value comes out in percent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from knowledge.catalog.models import Catalog, Metric
from tools.metric_query._validate import GroupColumn, Plan, PlannedCalculation, growth_name

__all__ = [
    "ColumnFormat",
    "ColumnKind",
    "OutputColumn",
    "calculation_in_percent",
    "group_column",
    "growth_column",
    "in_percent",
    "metric_column",
    "previous_column",
    "share_column",
    "value_columns",
]

ColumnKind = Literal["dimension", "metric", "calculation", "previous", "growth", "change_pct", "share"]
ColumnFormat = Literal[
    "text", "number", "integer", "currency", "percent", "fraction", "date", "YYYY-MM", "YYYY-Qn", "YYYY"
]
_GRAIN_ZH = {"day": "日", "week": "周", "month": "月", "quarter": "季度", "year": "年"}


@dataclass(frozen=True, kw_only=True)
class OutputColumn:
    """One column of the result.

    Attributes:
        name: The column name in the result.
        kind: ``dimension`` (a group), ``metric`` (its value), ``calculation`` (an ad-hoc ratio or difference),
            ``previous`` (a value in the previous period), ``growth`` (change from the previous value as a
            fraction: 0.125 means +12.5 %), ``change_pct`` (the same in percent: 12.5 means +12.5 %), or ``share``
            (a share of the total, or of the group, a fraction between 0 and 1).
        source: The dimension, metric or calculation the column comes from.
        grain: The time grain of a time-dimension column, else ``None``.
        unit: The unit of the values (``CNY``, ``orders``, ``CNY/orders``), or ``None``.
        format: How the values read: ``currency``, ``integer``, ``number``; ``fraction`` (0.125 reads 12.5 %)
            or ``percent`` (12.5 reads 12.5 %); for time buckets ``date``, ``YYYY-MM``, ``YYYY-Qn`` (text) or
            ``YYYY`` (an integer year); ``text`` for other dimensions.
        label_en: The column's label in English, from the catalog.
        label_zh: The column's label in Chinese, from the catalog.
    """

    name: str
    kind: ColumnKind
    source: str
    grain: str | None = None
    unit: str | None = None
    format: ColumnFormat = "number"
    label_en: str = ""
    label_zh: str = ""


def in_percent(catalog: Catalog, metric: Metric) -> bool:
    """Whether a metric's rate comes out in percent (a percent-format metric under ``rate_format: percent``)."""
    return metric.format == "percent" and catalog.conventions.rate_format == "percent"


def _is_rate(item: PlannedCalculation) -> bool:
    """An ad-hoc ratio of two metrics of one unit (or none) is a rate; CNY per order is not."""
    return item.calculation.op == "ratio" and item.left.unit == item.right.unit


def calculation_in_percent(catalog: Catalog, item: PlannedCalculation) -> bool:
    """Whether a calculation comes out in percent: a rate under ``rate_format: percent``, or a difference of such."""
    if item.calculation.op == "ratio":
        return _is_rate(item) and catalog.conventions.rate_format == "percent"
    return in_percent(catalog, item.left)


def _metric_format(catalog: Catalog, metric: Metric) -> ColumnFormat:
    if metric.format == "percent":
        return "percent" if in_percent(catalog, metric) else "fraction"
    return metric.format


def _calculation_column(catalog: Catalog, item: PlannedCalculation) -> OutputColumn:
    left, right = item.left, item.right
    unit: str | None
    fmt: ColumnFormat
    if item.calculation.op == "difference":
        unit, fmt = left.unit, _metric_format(catalog, left)
        label_en, label_zh = f"{left.label.en} minus {right.label.en}", f"{left.label.zh}减{right.label.zh}"
    else:
        rate = _is_rate(item)
        unit = None if rate else (f"{left.unit}/{right.unit}" if left.unit and right.unit else left.unit)
        fmt = ("percent" if calculation_in_percent(catalog, item) else "fraction") if rate else "number"
        label_en, label_zh = f"{left.label.en} per {right.label.en}", f"{left.label.zh}/{right.label.zh}"
    return OutputColumn(
        name=item.name,
        kind="calculation",
        source=item.name,
        unit=unit,
        format=fmt,
        label_en=label_en,
        label_zh=label_zh,
    )


def metric_column(catalog: Catalog, metric: Metric) -> OutputColumn:
    """The column a metric's value comes out in: its name, unit, format under the catalog's rules, and labels."""
    return OutputColumn(
        name=metric.name,
        kind="metric",
        source=metric.name,
        unit=metric.unit,
        format=_metric_format(catalog, metric),
        label_en=metric.label.en,
        label_zh=metric.label.zh,
    )


def value_columns(catalog: Catalog, plan: Plan) -> list[OutputColumn]:
    """The values the query shows: its metrics, then its calculations."""
    metrics = [metric_column(catalog, m) for m in plan.metrics]
    return [*metrics, *(_calculation_column(catalog, item) for item in plan.calculations)]


def group_column(catalog: Catalog, group: GroupColumn) -> OutputColumn:
    """A dimension column; a time bucket carries its grain and the catalog's format for it."""
    dimension = group.dimension
    label_en, label_zh = dimension.label.en, dimension.label.zh
    fmt: ColumnFormat = "number" if dimension.type == "number" else "text"
    if group.grain is not None:
        label_en, label_zh = f"{label_en} ({group.grain})", f"{label_zh}（{_GRAIN_ZH[group.grain]}）"
        fmt = catalog.conventions.grain_format(group.grain)  # type: ignore[assignment]
    return OutputColumn(
        name=group.name,
        kind="dimension",
        source=dimension.name,
        grain=group.grain,
        format=fmt,
        label_en=label_en,
        label_zh=label_zh,
    )


def previous_column(shown: OutputColumn, *, year_back: bool) -> OutputColumn:
    """A value in the previous period (or a year earlier): same unit and format."""
    return replace(
        shown,
        name=f"{shown.name}_previous",
        kind="previous",
        label_en=f"{shown.label_en} ({'a year earlier' if year_back else 'previous period'})",
        label_zh=f"{shown.label_zh}（{'去年同期' if year_back else '上期'}）",
    )


def growth_column(catalog: Catalog, shown: OutputColumn) -> OutputColumn:
    """Growth against the previous value: a fraction, or in percent as the catalog's ``growth_format`` says."""
    percent = catalog.conventions.growth_format == "percent"
    return OutputColumn(
        name=growth_name(catalog, shown.name),
        kind="change_pct" if percent else "growth",
        source=shown.name,
        format="percent" if percent else "fraction",
        label_en=f"{shown.label_en} growth",
        label_zh=f"{shown.label_zh}增长率",
    )


def share_column(shown: OutputColumn) -> OutputColumn:
    """A value's share of the total (or of its group), a fraction."""
    return OutputColumn(
        name=f"{shown.name}_share",
        kind="share",
        source=shown.name,
        format="fraction",
        label_en=f"{shown.label_en} share",
        label_zh=f"{shown.label_zh}占比",
    )
