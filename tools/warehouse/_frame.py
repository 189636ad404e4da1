"""Turn fetched rows into a DataFrame with the same dtypes whichever backend produced them."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["dedupe_columns", "normalise_frame", "rows_to_frame"]


def dedupe_columns(names: Sequence[str]) -> list[str]:
    """Column names made unique (``a``, ``a_2``, ...) so two ``SELECT x, x`` columns do not collide."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}_{count}")
    return out


def rows_to_frame(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A DataFrame of ``rows`` with ``columns``, normalised across drivers.

    Drivers return ``Decimal`` for NUMERIC and ``date``/``datetime`` objects for dates; those become ``float64``
    and ``datetime64`` columns so results from DuckDB, PostgreSQL and SQLAlchemy compare equal and chart alike.
    """
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=dedupe_columns(columns), coerce_float=True)
    for name in frame.columns:
        series = frame[name]
        if series.dtype != object:
            continue
        values = series.dropna()
        if values.empty:
            continue
        if all(isinstance(v, decimal.Decimal) for v in values):
            frame[name] = series.astype("float64")
        elif all(isinstance(v, dt.datetime) for v in values):
            frame[name] = pd.to_datetime(series, utc=any(v.tzinfo is not None for v in values))
        elif all(isinstance(v, dt.date) for v in values):
            frame[name] = pd.to_datetime(series)
    return normalise_frame(frame)


def normalise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns in microseconds, the resolution every backend's timestamps share."""
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name].dtype):
            frame[name] = frame[name].dt.as_unit("us")
    return frame
