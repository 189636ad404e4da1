"""The declarative chart spec and the rules that choose it from a result's shape.

Nothing a model writes is executed: the chart kind follows from which columns are time, dimension and metric
columns (declared by the query, or inferred from the values) and how many rows and categories there are. The data
is a DataFrame or plain columns (``{name: [values]}``); both are read the same way.

* ``card``: one row, one metric, no dimension (a single number such as "GMV last month").
* ``line``: a time column plus metrics, optionally split by one dimension with at most :data:`MAX_SERIES` values.
* ``bar``: one dimension (plus optionally a second as the series) and metrics, at most :data:`MAX_BAR_CATEGORIES`
  categories; horizontal when there are more than :data:`HORIZONTAL_AFTER_CATEGORIES` categories or a label is
  longer than :data:`HORIZONTAL_AFTER_LABEL_WIDTH` display columns (a Chinese character counts two).
* ``table``: everything else (no metric, no rows, more than two dimensions, too many categories or series).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from kubeai.errors import ChartError
from tools.charts._table import ChartData, as_columns, distinct, infer_role, is_missing, row_count

__all__ = [
    "HORIZONTAL_AFTER_CATEGORIES",
    "HORIZONTAL_AFTER_LABEL_WIDTH",
    "MAX_BAR_CATEGORIES",
    "MAX_SERIES",
    "ChartData",
    "ChartKind",
    "ChartSpec",
    "choose_chart",
    "display_width",
]

ChartKind = Literal["line", "bar", "card", "table"]

MAX_BAR_CATEGORIES = 50
MAX_SERIES = 12
HORIZONTAL_AFTER_CATEGORIES = 12
HORIZONTAL_AFTER_LABEL_WIDTH = 12


@dataclass(frozen=True, kw_only=True)
class ChartSpec:
    """A chart described as data; :func:`tools.charts.build_figure` renders it.

    Attributes:
        kind: ``line``, ``bar``, ``card`` or ``table``.
        title: Chart title (any language).
        x: The x column: time for ``line``, categories for ``bar``; ``None`` for ``card`` and ``table``.
        y: Metric columns plotted (exactly one for ``card``); empty for ``table``.
        series: A dimension column whose values become separate lines or bar groups, or ``None``.
        unit: Unit shown with values, e.g. ``元``, ``%`` or ``orders``.
        horizontal: For ``bar``: categories on the y axis (many or long labels).
        columns: For ``table``: the columns shown, in order; empty means all.
        labels: Display names of columns (e.g. ``成交额（CNY）`` for ``gmv``), used for axis titles, trace and
            legend names, the card title and table headers; a column without one shows its name.
    """

    kind: ChartKind
    title: str = ""
    x: str | None = None
    y: tuple[str, ...] = ()
    series: str | None = None
    unit: str | None = None
    horizontal: bool = False
    columns: tuple[str, ...] = field(default=())
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in get_args(ChartKind):
            raise ChartError(f"Chart kind {self.kind!r} is unknown; use one of line, bar, card or table.")
        object.__setattr__(self, "y", tuple(self.y))
        object.__setattr__(self, "columns", tuple(self.columns))
        if not isinstance(self.labels, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.labels.items()
        ):
            raise ChartError("Chart labels must map column names to display names (strings).")
        object.__setattr__(self, "labels", dict(self.labels))
        if self.kind in {"line", "bar"} and (self.x is None or not self.y):
            raise ChartError(f"A {self.kind} chart needs an x column and at least one y column; set x and y.")
        if self.kind == "card" and len(self.y) != 1:
            raise ChartError(f"A card shows exactly one metric, got y={self.y!r}; pass a single y column.")
        if self.series is not None and self.kind not in {"line", "bar"}:
            raise ChartError(f"A {self.kind} chart has no series; set series only on line and bar charts.")
        if self.series is not None and len(self.y) != 1:
            raise ChartError("A chart split by series plots exactly one metric; pass a single y column.")

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-ready data (tuples become lists)."""
        data = asdict(self)
        data["y"] = list(self.y)
        data["columns"] = list(self.columns)
        data["labels"] = dict(self.labels)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChartSpec:
        """Rebuild a spec from :meth:`as_dict` output, validating every field.

        Raises:
            kubeai.errors.ChartError: A key is unknown or a value has the wrong type.
        """
        known = {"kind", "title", "x", "y", "series", "unit", "horizontal", "columns", "labels"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ChartError(f"Chart spec has unknown keys {unknown}; use only {sorted(known)}.")
        for key in ("title",):
            if not isinstance(data.get(key, ""), str):
                raise ChartError(f"Chart spec field {key!r} must be a string.")
        for key in ("x", "series", "unit"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ChartError(f"Chart spec field {key!r} must be a string or null.")
        for key in ("y", "columns"):
            value = data.get(key, ())
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ChartError(f"Chart spec field {key!r} must be a list of column names.")
        if not isinstance(data.get("horizontal", False), bool):
            raise ChartError("Chart spec field 'horizontal' must be true or false.")
        if not isinstance(data.get("labels", {}), Mapping):
            raise ChartError("Chart spec field 'labels' must map column names to display names.")
        return cls(
            kind=data.get("kind"),  # type: ignore[arg-type]  # validated in __post_init__
            title=data.get("title", ""),
            x=data.get("x"),
            y=tuple(data.get("y", ())),
            series=data.get("series"),
            unit=data.get("unit"),
            horizontal=data.get("horizontal", False),
            columns=tuple(data.get("columns", ())),
            labels=data.get("labels", {}),
        )


def display_width(text: str) -> int:
    """Columns ``text`` takes on screen: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1 for ch in text)


def _roles(
    columns: Mapping[str, Sequence[Any]],
    time_columns: Sequence[str],
    dimension_columns: Sequence[str],
    metric_columns: Sequence[str],
) -> tuple[list[str], list[str], list[str]]:
    """Time, dimension and metric columns: declared roles first, the rest inferred from their values."""
    present = list(columns)
    declared = {*time_columns, *dimension_columns, *metric_columns}
    times = [c for c in time_columns if c in present]
    dims = [c for c in dimension_columns if c in present and c not in times]
    metrics = [c for c in metric_columns if c in present and c not in times and c not in dims]
    for name in present:
        if name in declared:
            continue
        {"time": times, "dimension": dims, "metric": metrics}[infer_role(columns[name])].append(name)
    return times, dims, metrics


def choose_chart(
    data: ChartData,
    *,
    time_columns: Sequence[str] = (),
    dimension_columns: Sequence[str] = (),
    metric_columns: Sequence[str] = (),
    title: str = "",
    unit: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> ChartSpec:
    """Choose the chart for a query result from its shape.

    Args:
        data: The result: a DataFrame, or plain columns (``{name: [values]}``, in column order).
        time_columns: Columns the query grouped by time (date, month, ...); date columns are found anyway.
        dimension_columns: Columns the query grouped by (region, channel, ...); text columns are found anyway.
        metric_columns: The measures; numeric columns not declared otherwise are treated as metrics.
        title: Chart title.
        unit: Unit of the metrics, shown on the axis or card when no label says it.
        labels: Display names of columns for axes, legends, the card and table headers (see :class:`ChartSpec`).

    Returns:
        A spec that :func:`tools.charts.build_figure` can render for this data.
    """
    columns = as_columns(data)
    shown = dict(labels or {})
    table = ChartSpec(kind="table", title=title, unit=unit, columns=tuple(columns), labels=shown)
    times, dims, metrics = _roles(columns, time_columns, dimension_columns, metric_columns)
    rows = row_count(columns)
    if rows == 0 or not metrics:
        return table
    if rows == 1 and len(metrics) == 1 and not dims:
        if is_missing(columns[metrics[0]][0]):
            return table
        return ChartSpec(kind="card", title=title, y=(metrics[0],), unit=unit, labels=shown)
    if times:
        return _time_chart(columns, times, dims, metrics, title=title, unit=unit, labels=shown) or table
    return _bar_chart(columns, dims, metrics, title=title, unit=unit, labels=shown) or table


def _time_chart(
    columns: Mapping[str, Sequence[Any]],
    times: list[str],
    dims: list[str],
    metrics: list[str],
    *,
    title: str,
    unit: str | None,
    labels: dict[str, str],
) -> ChartSpec | None:
    extra = times[1:] + dims
    if not extra:
        return ChartSpec(kind="line", title=title, x=times[0], y=tuple(metrics), unit=unit, labels=labels)
    if len(extra) == 1 and len(metrics) == 1 and len(distinct(columns[extra[0]])) <= MAX_SERIES:
        return ChartSpec(
            kind="line", title=title, x=times[0], y=(metrics[0],), series=extra[0], unit=unit, labels=labels
        )
    return None


def _bar_chart(
    columns: Mapping[str, Sequence[Any]],
    dims: list[str],
    metrics: list[str],
    *,
    title: str,
    unit: str | None,
    labels: dict[str, str],
) -> ChartSpec | None:
    if not dims or len(dims) > 2:
        return None
    x = dims[0]
    categories = distinct(columns[x])
    if len(categories) > MAX_BAR_CATEGORIES:
        return None
    series = None
    if len(dims) == 2:
        if len(metrics) != 1 or len(distinct(columns[dims[1]])) > MAX_SERIES:
            return None
        series = dims[1]
    widest = max((display_width(str(v)) for v in categories if v is not None), default=0)
    horizontal = len(categories) > HORIZONTAL_AFTER_CATEGORIES or widest > HORIZONTAL_AFTER_LABEL_WIDTH
    y = (metrics[0],) if series else tuple(metrics)
    return ChartSpec(kind="bar", title=title, x=x, y=y, series=series, unit=unit, horizontal=horizontal, labels=labels)
