"""Execution accuracy: multisets, order, column permutations, tolerance, dates and missing values."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from evals.scorers import execution_match, normalize_value

GOLD = [("华东", 100.0, 3), ("华北", 80.5, 2), ("华南", 80.5, 2)]


def test_identical_tables_match() -> None:
    assert execution_match(GOLD, GOLD)


def test_row_order_is_ignored_unless_ordered() -> None:
    shuffled = [GOLD[2], GOLD[0], GOLD[1]]
    assert execution_match(shuffled, GOLD)
    assert not execution_match(shuffled, GOLD, ordered=True)
    assert execution_match(list(GOLD), GOLD, ordered=True)


def test_column_permutation_is_found() -> None:
    permuted = [(count, amount, name) for name, amount, count in GOLD]
    assert execution_match(permuted, GOLD)
    assert execution_match(permuted, GOLD, ordered=True)


def test_columns_with_equal_value_multisets_need_the_right_pairing() -> None:
    # Both numeric columns hold {1, 2}; only one pairing keeps the rows together.
    gold = [(1, 2), (2, 1), (2, 2)]
    assert execution_match([(2, 1), (1, 2), (2, 2)], gold)
    assert not execution_match([(1, 1), (2, 2), (2, 2)], gold)


def test_duplicates_count_in_multisets() -> None:
    gold = [("a", 1), ("a", 1), ("b", 2)]
    assert execution_match([("b", 2), ("a", 1), ("a", 1)], gold)
    assert not execution_match([("a", 1), ("b", 2), ("b", 2)], gold)
    assert not execution_match([("a", 1), ("b", 2)], gold)


def test_extra_column_or_row_is_a_different_answer() -> None:
    assert not execution_match([(name, amount, count, 0) for name, amount, count in GOLD], GOLD)
    assert not execution_match([*GOLD, ("西南", 1.0, 1)], GOLD)


def test_float_noise_within_tolerance_matches() -> None:
    noisy = [(name, amount * (1 + 1e-9), count) for name, amount, count in GOLD]
    assert execution_match(noisy, GOLD)
    assert execution_match([(0.1 + 0.2,)], [(0.3,)])
    assert not execution_match([(80.6,)], [(80.5,)])
    assert execution_match([(80.6,)], [(80.5,)], rel_tol=0.01)
    assert not execution_match([(1e-5,)], [(0.0,)])
    assert execution_match([(1e-5,)], [(0.0,)], abs_tol=1e-4)


def test_noise_that_reorders_near_equal_rows_still_matches() -> None:
    gold = [(1.0, "a"), (1.0 + 1e-10, "b")]
    predicted = [(1.0 + 1e-10, "a"), (1.0, "b")]
    assert execution_match(predicted, gold)


def test_decimal_int_and_numpy_numbers_compare_as_numbers() -> None:
    gold = [(Decimal("43201946.84"), 5887)]
    assert execution_match([(43201946.84, np.int64(5887))], gold)
    assert execution_match([(np.float32(2.5),)], [(Decimal("2.5"),)])


def test_dates_equal_their_iso_strings() -> None:
    assert execution_match([(date(2025, 11, 1), 3)], [("2025-11-01", 3)])
    assert execution_match([(datetime(2025, 11, 1), 3)], [("2025-11-01", 3)])
    assert execution_match([(pd.Timestamp("2025-11-01"), 3)], [(date(2025, 11, 1), 3)])
    assert execution_match([(datetime(2025, 11, 1, 8, 30),)], [("2025-11-01T08:30:00",)])
    assert not execution_match([(date(2025, 11, 2),)], [("2025-11-01",)])


def test_none_and_nan_are_one_missing_value() -> None:
    gold = [("a", None), ("b", 1.0)]
    assert execution_match([("a", math.nan), ("b", 1.0)], gold)
    assert execution_match([("a", pd.NA), ("b", 1.0)], gold)
    assert execution_match([("a", np.nan), ("b", 1.0)], gold)
    assert not execution_match([("a", 0.0), ("b", 1.0)], gold)
    assert not execution_match([("a", "None"), ("b", 1.0)], gold)


def test_numbers_do_not_equal_numeric_strings_and_bools_stay_bools() -> None:
    assert not execution_match([("1",)], [(1,)])
    assert not execution_match([(True,)], [(1,)])
    assert execution_match([(True,)], [(True,)])


def test_empty_results() -> None:
    assert execution_match([], [])
    assert not execution_match([(1,)], [])
    assert not execution_match([], [(1,)])


def test_ragged_rows_never_match() -> None:
    assert not execution_match([(1, 2), (3,)], [(1, 2), (3, 4)])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (math.nan, None),
        (pd.NaT, None),
        (Decimal("1.50"), 1.5),
        (np.int32(7), 7.0),
        (date(2025, 1, 31), "2025-01-31"),
        (datetime(2025, 1, 31), "2025-01-31"),
        ("华东", "华东"),
        (False, "false"),
    ],
)
def test_normalize_value(value: object, expected: object) -> None:
    assert normalize_value(value) == expected
