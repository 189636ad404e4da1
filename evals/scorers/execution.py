"""Execution accuracy: does a predicted result table hold the same answer as the gold one?

Two tables match when some one-to-one mapping of the predicted columns onto the gold columns makes their rows
equal: as multisets of rows (duplicates counted), or row by row when the question's answer is ordered. Column
names and column order are ignored. Values are compared after normalising:

* ``None``, NaN and pandas' NA/NaT are one missing value, equal to each other;
* numbers (int, float, Decimal, numpy scalars, bools excluded) are equal within ``rel_tol`` or ``abs_tol``;
* dates and datetimes equal their ISO strings (``date(2025, 1, 31) == "2025-01-31"``; a datetime at midnight
  equals its date);
* everything else compares as text, so ``"华东"`` only equals ``"华东"``.

Both tables must have the same number of columns and rows: an extra column or row is a different answer.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["execution_match", "normalize_value"]

_MAX_PERMUTATIONS = 20_000
_MAX_GREEDY_ROWS = 2_000

# Normalised cell: None, a float, or a string.
Cell = float | str | None


def normalize_value(value: Any) -> Cell:
    """The comparable form of one result cell.

    Args:
        value: A value as a database driver or JSON returns it.

    Returns:
        ``None`` for missing values, a ``float`` for numbers, an ISO string for dates and times, ``str(value)``
        otherwise.
    """
    cell: Cell
    if value is None or isinstance(value, str):
        cell = value
    elif type(value).__module__.split(".")[0] in {"numpy", "pandas"}:
        cell = _normalize_foreign(value)
    elif isinstance(value, bool):
        cell = str(value).lower()
    elif isinstance(value, int | float | Decimal):
        number = float(value)
        cell = None if math.isnan(number) else number
    elif isinstance(value, datetime):
        midnight = value.hour == value.minute == value.second == value.microsecond == 0 and value.tzinfo is None
        cell = value.date().isoformat() if midnight else value.isoformat()
    elif isinstance(value, date):
        cell = value.isoformat()
    else:
        cell = str(value)
    return cell


def _normalize_foreign(value: Any) -> Cell:
    """numpy/pandas scalars: missing markers, numbers, timestamps."""
    import pandas as pd

    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return normalize_value(value.to_pydatetime())
    item = getattr(value, "item", None)
    if callable(item):
        plain = item()
        if plain is not value:
            return normalize_value(plain)
    return str(value)


def _equal(a: Cell, b: Cell, rel_tol: float, abs_tol: float) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


def _sort_key(cell: Cell) -> tuple[int, float, str]:
    if cell is None:
        return (0, 0.0, "")
    if isinstance(cell, float):
        return (1, cell, "")
    return (2, 0.0, cell)


def _rows_equal(a: Sequence[Cell], b: Sequence[Cell], rel_tol: float, abs_tol: float) -> bool:
    return all(_equal(x, y, rel_tol, abs_tol) for x, y in zip(a, b, strict=True))


def _same_rows(
    predicted: list[tuple[Cell, ...]], gold: list[tuple[Cell, ...]], *, ordered: bool, rel_tol: float, abs_tol: float
) -> bool:
    if ordered:
        return all(_rows_equal(p, g, rel_tol, abs_tol) for p, g in zip(predicted, gold, strict=True))

    def key(row: tuple[Cell, ...]) -> tuple[tuple[int, float, str], ...]:
        return tuple(_sort_key(cell) for cell in row)

    if all(
        _rows_equal(p, g, rel_tol, abs_tol)
        for p, g in zip(sorted(predicted, key=key), sorted(gold, key=key), strict=True)
    ):
        return True
    # Sorting can pair rows differently when numbers differ only by noise. Pair greedily within buckets of rows
    # whose non-number cells are identical, when that is affordable.
    if len(gold) > _MAX_GREEDY_ROWS:
        return False
    buckets: dict[tuple[Cell, ...], list[tuple[Cell, ...]]] = defaultdict(list)
    for row in predicted:
        buckets[_exact_part(row)].append(row)
    for row in gold:
        bucket = buckets.get(_exact_part(row))
        if not bucket:
            return False
        for index, candidate in enumerate(bucket):
            if _rows_equal(candidate, row, rel_tol, abs_tol):
                del bucket[index]
                break
        else:
            return False
    return True


def _exact_part(row: tuple[Cell, ...]) -> tuple[Cell, ...]:
    """The row with numbers blanked out: cells that must match exactly."""
    return tuple("\x00number" if isinstance(cell, float) else cell for cell in row)


def _column_candidates(
    predicted: list[tuple[Cell, ...]], gold: list[tuple[Cell, ...]], width: int, rel_tol: float, abs_tol: float
) -> list[list[int]]:
    """For each gold column, the predicted columns holding the same multiset of values."""

    def column(rows: list[tuple[Cell, ...]], index: int) -> list[Cell]:
        return sorted((row[index] for row in rows), key=_sort_key)

    gold_columns = [column(gold, i) for i in range(width)]
    predicted_columns = [column(predicted, j) for j in range(width)]
    return [
        [
            j
            for j in range(width)
            if all(_equal(p, g, rel_tol, abs_tol) for p, g in zip(predicted_columns[j], gold_columns[i], strict=True))
        ]
        for i in range(width)
    ]


def _assignments(candidates: list[list[int]]) -> Iterator[tuple[int, ...]]:
    """One-to-one choices of a predicted column for each gold column, by backtracking."""
    chosen: list[int] = []
    used: set[int] = set()

    def walk(position: int) -> Iterator[tuple[int, ...]]:
        if position == len(candidates):
            yield tuple(chosen)
            return
        for j in candidates[position]:
            if j in used:
                continue
            chosen.append(j)
            used.add(j)
            yield from walk(position + 1)
            chosen.pop()
            used.discard(j)

    return walk(0)


def execution_match(
    predicted: Sequence[Sequence[Any]],
    gold: Sequence[Sequence[Any]],
    *,
    ordered: bool = False,
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-6,
) -> bool:
    """Whether two result tables hold the same answer, ignoring column names and order.

    Args:
        predicted: Rows of the result under test (each a sequence of cell values).
        gold: Rows of the gold result.
        ordered: Compare rows in order rather than as multisets.
        rel_tol: Relative tolerance for numbers.
        abs_tol: Absolute tolerance for numbers.

    Returns:
        ``True`` when a one-to-one mapping of predicted columns onto gold columns makes the rows equal.
    """
    pred_rows = [tuple(normalize_value(v) for v in row) for row in predicted]
    gold_rows = [tuple(normalize_value(v) for v in row) for row in gold]
    if len(pred_rows) != len(gold_rows):
        return False
    if not gold_rows:
        return True
    width = len(gold_rows[0])
    if any(len(row) != width for row in (*gold_rows, *pred_rows)):
        return False
    candidates = _column_candidates(pred_rows, gold_rows, width, rel_tol, abs_tol)
    if any(not options for options in candidates):
        return False
    for tried, mapping in enumerate(_assignments(candidates)):
        if tried >= _MAX_PERMUTATIONS:
            break
        permuted = [tuple(row[j] for j in mapping) for row in pred_rows]
        if _same_rows(permuted, gold_rows, ordered=ordered, rel_tol=rel_tol, abs_tol=abs_tol):
            return True
    return False
