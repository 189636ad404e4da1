"""One conversion of result cells to JSON for the graphs' state, the agents' JSON and the evaluation records."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kubeai.values import json_value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (np.bool_(False), False),
        (7, 7),
        (np.int64(7), 7),
        (1.5, 1.5),
        (np.float32(0.5), 0.5),
        (Decimal("12.50"), 12.5),  # the evaluation records wrote "12.50" (text), the graphs 12.5
        (float("nan"), None),
        (np.float64("nan"), None),
        (Decimal("NaN"), None),
        (pd.NaT, None),  # the graphs wrote "NaT", the evaluation records "NaT"
        (pd.NA, None),
        (dt.date(2025, 11, 3), "2025-11-03"),
        (dt.datetime(2025, 11, 3, 8, 30), "2025-11-03T08:30:00"),
        (pd.Timestamp("2025-11-01"), "2025-11-01T00:00:00"),
        (dt.time(8, 30), "08:30:00"),
        ("华东", "华东"),
        (dt.timedelta(days=1), "1 day, 0:00:00"),
    ],
)
def test_every_cell_becomes_json(value: Any, expected: Any) -> None:
    converted = json_value(value)
    assert converted == expected and type(converted) is type(expected)
    json.dumps(converted, allow_nan=False)
