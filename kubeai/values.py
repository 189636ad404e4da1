"""Values as JSON: the one home of the project's conversion of a result cell to a JSON-ready scalar.

Warehouse drivers, pandas and numpy hand back ``Decimal``, ``numpy.int64``, ``pandas.Timestamp``, ``NaT`` and
``NaN``; every place that writes a result as JSON (the graphs' checkpointed state, an agent's ``to_json``, the
evaluation records) converts each cell with :func:`json_value`, so the same cell is always written the same way.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any

__all__ = ["json_value"]

# pandas' missing markers, named so that this module does not import pandas (NaT is also a datetime).
_MISSING_TYPES = frozenset({"NaTType", "NAType"})


def json_value(value: Any) -> Any:
    """A JSON-ready scalar for one cell of a result.

    Returns:
        ``None`` for missing values (``None``, NaN, ``NaT``, ``pd.NA``); booleans, integers and strings as they
        are; a ``float`` for other numbers (floats, numpy scalars, ``Decimal``); ISO text for dates, times and
        timestamps; ``str(value)`` for anything else.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if type(value).__name__ in _MISSING_TYPES:
        return None
    if isinstance(value, datetime | date | time):  # pandas.Timestamp is a datetime
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return json_value(value.item())
    try:
        number = float(value)  # float, Decimal
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(number) else number
