"""Relative periods and explicit date ranges as half-open ``[start, end_exclusive)`` date intervals.

Calendar semantics, with ``ref`` the catalog's reference date (its "today"):

==================  ==========================================================================================
``today``           ``ref`` alone.
``yesterday``       The day before ``ref``.
``this_week``       Monday of ``ref``'s week through ``ref`` (weeks start on Monday; to date, never the future).
``last_week``       The full Monday-to-Sunday week before ``ref``'s week.
``this_month``      The 1st of ``ref``'s month through ``ref``.
``last_month``      The full calendar month before ``ref``'s month (``ref`` 2025-12-31: 2025-11-01..2025-11-30).
``this_quarter``    The first day of ``ref``'s calendar quarter (Jan, Apr, Jul, Oct) through ``ref``.
``last_quarter``    The full calendar quarter before ``ref``'s quarter.
``this_year``       January 1st of ``ref``'s year through ``ref``.
``last_year``       The full calendar year before ``ref``'s year.
``last_7_days``     The 7 days ending with ``ref``, ``ref`` included (likewise ``last_30_days``, ``last_90_days``).
``last_12_months``  The 12 full calendar months before ``ref``'s month (``ref`` 2025-12-31: 2024-12-01..2025-11-30).
``all_time``        No restriction: :func:`resolve_time_range` returns ``None``.
==================  ==========================================================================================

An explicit :class:`~tools.metric_query.query.DateRange` includes both its ``start`` and its ``end``.

:func:`previous_range` gives the period a comparison looks back to: ``year_over_year`` shifts both ends back one
calendar year (29 February becomes 28 February); ``period_over_period`` takes the same number of whole calendar
months just before when the range is made of whole months (a month, a quarter, a year, ``last_12_months``), and
otherwise the same number of days just before (a week before a week, 30 days before 30 days).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from tools.metric_query.query import DateRange, TimeRange

__all__ = ["add_months", "previous_range", "resolve_time_range"]

_RELATIVE_DAYS = {"last_7_days": 7, "last_30_days": 30, "last_90_days": 90}


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


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def resolve_time_range(time_range: TimeRange, reference_date: date) -> tuple[date, date] | None:
    """The dates a time range covers, as ``(start, end_exclusive)``.

    Args:
        time_range: A relative period name (see the module docstring for each one's meaning) or a
            :class:`~tools.metric_query.query.DateRange` whose ends are both included.
        reference_date: The "today" relative periods resolve against (the catalog's
            ``warehouse.reference_date``).

    Returns:
        ``(start, end_exclusive)`` with ``start < end_exclusive``, or ``None`` for ``all_time``.

    Raises:
        ValueError: If ``time_range`` is a string that is not a known period name.
    """
    if isinstance(time_range, DateRange):
        return time_range.start, time_range.end + timedelta(days=1)
    ref = reference_date
    tomorrow = ref + timedelta(days=1)
    month_start = ref.replace(day=1)
    quarter_start = _quarter_start(ref)
    year_start = date(ref.year, 1, 1)
    week_start = ref - timedelta(days=ref.weekday())
    ranges: dict[str, tuple[date, date] | None] = {
        "today": (ref, tomorrow),
        "yesterday": (ref - timedelta(days=1), ref),
        "this_week": (week_start, tomorrow),
        "last_week": (week_start - timedelta(days=7), week_start),
        "this_month": (month_start, tomorrow),
        "last_month": (add_months(month_start, -1), month_start),
        "this_quarter": (quarter_start, tomorrow),
        "last_quarter": (add_months(quarter_start, -3), quarter_start),
        "this_year": (year_start, tomorrow),
        "last_year": (date(ref.year - 1, 1, 1), year_start),
        "last_12_months": (add_months(month_start, -12), month_start),
        "all_time": None,
    }
    if time_range in _RELATIVE_DAYS:
        return tomorrow - timedelta(days=_RELATIVE_DAYS[time_range]), tomorrow
    if time_range not in ranges:
        raise ValueError(f"unknown relative period {time_range!r}")
    return ranges[time_range]


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
