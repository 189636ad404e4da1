"""Chart input read one way: a DataFrame or plain columns (a mapping of column name to values).

The metrics graph keeps its result as JSON rows and hands the chart plain columns, so it never builds a DataFrame
to draw one; the planner's chart tool and notebooks pass a DataFrame. Both are read here into ``{name: [values]}``
and everything downstream works on those lists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ChartData",
    "Role",
    "as_columns",
    "distinct",
    "infer_role",
    "is_midnight",
    "is_missing",
    "row_count",
    "sorted_positions",
]

ChartData: TypeAlias = "pd.DataFrame | Mapping[str, Sequence[Any]]"
"""What the chart functions accept: a DataFrame, or a mapping of column name to its values, in column order."""

Role = Literal["time", "dimension", "metric"]


def as_columns(data: ChartData) -> dict[str, list[Any]]:
    """The data as ``{column: values}`` in column order; a DataFrame's values become plain Python values."""
    if isinstance(data, Mapping):
        columns = {str(name): list(values) for name, values in data.items()}
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            from kubeai.errors import ChartError

            raise ChartError(f"The chart's columns have different lengths {sorted(lengths)}; pass whole columns.")
        return columns
    return {str(name): data[name].tolist() for name in data.columns}


def row_count(columns: Mapping[str, Sequence[Any]]) -> int:
    """How many rows the columns hold."""
    return len(next(iter(columns.values()), ()))


def is_missing(value: Any) -> bool:
    """``None``, NaN, NaT or ``pd.NA``."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def infer_role(values: Sequence[Any]) -> Role:
    """A column's role read from its values: dates are time, numbers (not booleans) are metrics, the rest dimensions.

    Only for columns whose role nobody declared; a column with no values is a dimension.
    """
    present = [v for v in values if not is_missing(v)]
    if not present:
        return "dimension"
    if all(isinstance(v, datetime | date) for v in present):
        return "time"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "metric"
    return "dimension"


def distinct(values: Sequence[Any]) -> list[Any]:
    """The distinct values in order of first appearance, missing values counted once (as ``None``)."""
    seen: dict[Any, Any] = {}
    for value in values:
        key = _key(value)
        seen.setdefault(key, None if is_missing(value) else value)
    return list(seen.values())


def _key(value: Any) -> Any:
    if is_missing(value):
        return None
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def sorted_positions(values: Sequence[Any]) -> list[int]:
    """Row positions in the order of ``values``, missing last; the given order when the values do not compare."""
    positions = list(range(len(values)))
    try:
        return sorted(positions, key=lambda i: (True, 0) if is_missing(values[i]) else (False, values[i]))
    except TypeError:
        return positions


def is_midnight(value: datetime) -> bool:
    """Whether a timestamp is a whole day (shown as a date)."""
    return value.time() == time(0)
