"""Periods and explicit date ranges as half-open ``[start, end_exclusive)`` date intervals.

A period is a window of ``count`` calendar units (``day``, ``week``, ``month``, ``quarter``, ``half``, ``year``)
placed against the reference date ``ref`` (the catalog's "today"), or the ``index``-th unit of ``ref``'s year:

- ``offset: 0``: the window ends with the unit that holds ``ref``. Such a window is *to date*: it ends at ``ref``,
  included, never in the future (``this_month`` on 2025-12-15 is 2025-12-01..2025-12-15).
- ``offset: -1``: the window ends with the last whole unit before that one (``last_month``); ``-2`` one earlier.
- ``index: n``: the n-th unit (1-based) of ``ref``'s year, e.g. ``half`` 1 is H1 and ``quarter`` 2 is Q2 (week 1 is
  the week that holds the year's first day). When that unit holds ``ref`` it ends at ``ref``; a unit that starts
  after ``ref`` lies in the future: its range is empty (``start == end_exclusive``) and holds no rows.

Weeks start on ``week_start`` (Monday by default). Quarters, halves and years follow the fiscal year, which starts
on the 1st of ``fiscal_year_start_month`` (January by default); months, weeks and days do not depend on it.

The standard names, as windows (``ref`` 2025-12-31 shown):

==================  ==================================  ========================
``today``           day, offset 0                        2025-12-31
``yesterday``       day, offset -1                       2025-12-30
``this_week``       week, offset 0 (to date)             2025-12-29..2025-12-31
``last_week``       week, offset -1                      2025-12-22..2025-12-28
``this_month``      month, offset 0 (to date)            2025-12-01..2025-12-31
``last_month``      month, offset -1                     2025-11-01..2025-11-30
``this_quarter``    quarter, offset 0 (to date)          2025-10-01..2025-12-31
``last_quarter``    quarter, offset -1                   2025-07-01..2025-09-30
``this_year``       year, offset 0 (to date)             2025-01-01..2025-12-31
``last_year``       year, offset -1                      2024-01-01..2024-12-31
``last_7_days``     7 days, offset 0 (also 30 and 90)    2025-12-25..2025-12-31
``last_12_months``  12 months, offset 0 (to date)        2025-01-01..2025-12-31
``all_time``        no restriction: ``None``
==================  ==================================  ========================

An explicit :class:`~tools.metric_query.query.DateRange` includes both its ``start`` and its ``end``.

:func:`previous_range` gives the period a comparison looks back to: ``year_over_year`` shifts both ends back one
calendar year (29 February becomes 28 February); ``period_over_period`` takes the same number of whole calendar
months just before when the range is made of whole months (a month, a quarter, a year, ``last_12_months`` at a
month end), and otherwise the same number of days just before (a week before a week, 30 days before 30 days).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, Protocol

from tools.metric_query.query import DateRange, TimeRange

__all__ = [
    "STANDARD_PERIODS",
    "PeriodSpec",
    "PeriodWindow",
    "add_months",
    "previous_range",
    "resolve_period",
    "resolve_time_range",
]

_WEEKDAYS = {"monday": 0, "sunday": 6}
_UNIT_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}
_PER_YEAR = {"day": 366, "week": 53, "month": 12, "quarter": 4, "half": 2, "year": 1}


class PeriodSpec(Protocol):
    """What a period definition must say (the catalog's ``PeriodDefinition`` fits it)."""

    @property
    def unit(self) -> str:
        """``day``, ``week``, ``month``, ``quarter``, ``half`` or ``year``."""
        ...

    @property
    def count(self) -> int:
        """The window's length in units."""
        ...

    @property
    def offset(self) -> int:
        """0: the window ends with the unit holding the reference date; -1: with the one before; ..."""
        ...

    @property
    def index(self) -> int | None:
        """The n-th unit (1-based) of the reference date's year, or ``None``."""
        ...


@dataclass(frozen=True, kw_only=True)
class PeriodWindow:
    """A period as a window of calendar units; see the module docstring.

    Attributes:
        unit: ``day``, ``week``, ``month``, ``quarter``, ``half`` or ``year``.
        count: The window's length in units.
        offset: 0 ends with the unit holding the reference date (to date), -1 with the one before, ...
        index: The n-th unit of the reference date's (fiscal) year instead of a window, or ``None``.
    """

    unit: str
    count: int = 1
    offset: int = 0
    index: int | None = None


STANDARD_PERIODS: Mapping[str, PeriodWindow] = {
    "today": PeriodWindow(unit="day"),
    "yesterday": PeriodWindow(unit="day", offset=-1),
    "this_week": PeriodWindow(unit="week"),
    "last_week": PeriodWindow(unit="week", offset=-1),
    "this_month": PeriodWindow(unit="month"),
    "last_month": PeriodWindow(unit="month", offset=-1),
    "this_quarter": PeriodWindow(unit="quarter"),
    "last_quarter": PeriodWindow(unit="quarter", offset=-1),
    "this_year": PeriodWindow(unit="year"),
    "last_year": PeriodWindow(unit="year", offset=-1),
    "last_7_days": PeriodWindow(unit="day", count=7),
    "last_30_days": PeriodWindow(unit="day", count=30),
    "last_90_days": PeriodWindow(unit="day", count=90),
    "last_12_months": PeriodWindow(unit="month", count=12),
}
"""The standard period names (``all_time`` aside) as windows; a catalog may define more."""


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the last day of the target month.

    Args:
        day: The date to move.
        months: How many months forward (negative: backward).

    Returns:
        The moved date, e.g. 2024-03-31 minus one month is 2024-02-29.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def _unit_start(day: date, unit: str, *, week_start: str, fiscal_year_start_month: int) -> date:
    """First day of the unit that holds ``day``."""
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=(day.weekday() - _WEEKDAYS[week_start]) % 7)
    months = _UNIT_MONTHS[unit]
    since_year_start = (day.month - fiscal_year_start_month) % 12 if months > 1 else 0
    return add_months(day.replace(day=1), -(since_year_start % months))


def _shift(start: date, unit: str, units: int) -> date:
    """A unit start moved by whole units."""
    if unit == "day":
        return start + timedelta(days=units)
    if unit == "week":
        return start + timedelta(days=7 * units)
    return add_months(start, _UNIT_MONTHS[unit] * units)


def resolve_period(
    period: PeriodSpec,
    reference_date: date,
    *,
    week_start: str = "monday",
    fiscal_year_start_month: int = 1,
) -> tuple[date, date]:
    """The dates a period covers, as ``(start, end_exclusive)``; see the module docstring.

    Args:
        period: The period definition (a catalog ``PeriodDefinition`` or a :class:`PeriodWindow`).
        reference_date: The "today" the period is placed against.
        week_start: ``monday`` or ``sunday``.
        fiscal_year_start_month: 1 to 12; quarters, halves and years start from this month.

    Returns:
        ``(start, end_exclusive)``; a window never ends after ``reference_date``.

    Raises:
        ValueError: If the unit, week start, month, count, offset or index is out of range.
    """
    unit = period.unit
    if unit not in ("day", "week", *_UNIT_MONTHS):
        raise ValueError(f"unknown period unit {unit!r}; use day, week, month, quarter, half or year")
    if week_start not in _WEEKDAYS:
        raise ValueError(f"unknown week start {week_start!r}; use monday or sunday")
    if not 1 <= fiscal_year_start_month <= 12:
        raise ValueError(f"fiscal_year_start_month {fiscal_year_start_month} is not a month number 1..12")
    tomorrow = reference_date + timedelta(days=1)
    current = _unit_start(reference_date, unit, week_start=week_start, fiscal_year_start_month=fiscal_year_start_month)
    if period.index is not None:
        if not 1 <= period.index <= _PER_YEAR[unit]:
            raise ValueError(f"index {period.index} is not a {unit} of a year")
        year_start = _unit_start(
            reference_date, "year", week_start=week_start, fiscal_year_start_month=fiscal_year_start_month
        )
        first = _unit_start(year_start, unit, week_start=week_start, fiscal_year_start_month=fiscal_year_start_month)
        start = _shift(first, unit, period.index - 1)
        return start, min(_shift(start, unit, 1), max(start, tomorrow))
    if period.count < 1:
        raise ValueError(f"period count {period.count} must be at least 1")
    if period.offset > 0:
        raise ValueError(f"period offset {period.offset} must be 0 or negative: periods never reach the future")
    last = _shift(current, unit, period.offset)
    start = _shift(last, unit, 1 - period.count)
    return start, min(_shift(last, unit, 1), tomorrow)


def resolve_time_range(
    time_range: TimeRange | str,
    reference_date: date,
    *,
    periods: Mapping[str, PeriodSpec] | None = None,
    week_start: str = "monday",
    fiscal_year_start_month: int = 1,
) -> tuple[date, date] | None:
    """The dates a time range covers, as ``(start, end_exclusive)``.

    Args:
        time_range: A period name, ``all_time``, or a :class:`~tools.metric_query.query.DateRange` whose ends
            are both included.
        reference_date: The "today" periods resolve against (the catalog's reference date).
        periods: Period definitions by name (a catalog's); names not found here fall back to
            :data:`STANDARD_PERIODS`.
        week_start: ``monday`` or ``sunday``.
        fiscal_year_start_month: 1 to 12; quarters, halves and years start from this month.

    Returns:
        ``(start, end_exclusive)`` with ``start < end_exclusive`` (for a period that has begun), or ``None`` for
        ``all_time``.

    Raises:
        ValueError: If ``time_range`` is a string that is not a known period name.
    """
    if isinstance(time_range, DateRange):
        return time_range.start, time_range.end + timedelta(days=1)
    if time_range == "all_time":
        return None
    definition: PeriodSpec | None = (periods or {}).get(time_range) or STANDARD_PERIODS.get(time_range)
    if definition is None:
        raise ValueError(f"unknown relative period {time_range!r}")
    return resolve_period(
        definition, reference_date, week_start=week_start, fiscal_year_start_month=fiscal_year_start_month
    )


def _whole_months(start: date, end_exclusive: date) -> int | None:
    if start.day != 1 or end_exclusive.day != 1:
        return None
    return (end_exclusive.year - start.year) * 12 + end_exclusive.month - start.month


def previous_range(
    start: date, end_exclusive: date, comparison: Literal["period_over_period", "year_over_year"]
) -> tuple[date, date]:
    """The range a comparison looks back to (see the module docstring).

    Args:
        start: First day of the current range.
        end_exclusive: Day after the current range.
        comparison: ``period_over_period`` or ``year_over_year``.

    Returns:
        ``(start, end_exclusive)`` of the previous range; it ends where the current one starts or earlier.
    """
    if comparison == "year_over_year":
        return add_months(start, -12), add_months(end_exclusive, -12)
    months = _whole_months(start, end_exclusive)
    if months is not None:
        return add_months(start, -months), start
    return start - (end_exclusive - start), start
