"""Calendar semantics of every relative period, explicit ranges, and the previous period of a comparison."""

from __future__ import annotations

from datetime import date

import pytest

from tools.metric_query import DateRange, resolve_time_range
from tools.metric_query.query import RELATIVE_PERIODS
from tools.metric_query.time_range import STANDARD_PERIODS, PeriodWindow, add_months, previous_range, resolve_period

D = date

# Reference 2025-12-31 is a Wednesday, the last day of a month, quarter and year (the demo catalog's).
YEAR_END = {
    "today": (D(2025, 12, 31), D(2026, 1, 1)),
    "yesterday": (D(2025, 12, 30), D(2025, 12, 31)),
    "this_week": (D(2025, 12, 29), D(2026, 1, 1)),
    "last_week": (D(2025, 12, 22), D(2025, 12, 29)),
    "this_month": (D(2025, 12, 1), D(2026, 1, 1)),
    "last_month": (D(2025, 11, 1), D(2025, 12, 1)),
    "this_quarter": (D(2025, 10, 1), D(2026, 1, 1)),
    "last_quarter": (D(2025, 7, 1), D(2025, 10, 1)),
    "this_year": (D(2025, 1, 1), D(2026, 1, 1)),
    "last_year": (D(2024, 1, 1), D(2025, 1, 1)),
    "last_7_days": (D(2025, 12, 25), D(2026, 1, 1)),
    "last_30_days": (D(2025, 12, 2), D(2026, 1, 1)),
    "last_90_days": (D(2025, 10, 3), D(2026, 1, 1)),
    "last_12_months": (D(2025, 1, 1), D(2026, 1, 1)),
    "all_time": None,
}

# Reference 2024-01-01 is a Monday, the first day of a month, quarter and year: every "last" crosses a year.
YEAR_START = {
    "today": (D(2024, 1, 1), D(2024, 1, 2)),
    "yesterday": (D(2023, 12, 31), D(2024, 1, 1)),
    "this_week": (D(2024, 1, 1), D(2024, 1, 2)),
    "last_week": (D(2023, 12, 25), D(2024, 1, 1)),
    "this_month": (D(2024, 1, 1), D(2024, 1, 2)),
    "last_month": (D(2023, 12, 1), D(2024, 1, 1)),
    "this_quarter": (D(2024, 1, 1), D(2024, 1, 2)),
    "last_quarter": (D(2023, 10, 1), D(2024, 1, 1)),
    "this_year": (D(2024, 1, 1), D(2024, 1, 2)),
    "last_year": (D(2023, 1, 1), D(2024, 1, 1)),
    "last_7_days": (D(2023, 12, 26), D(2024, 1, 2)),
    "last_30_days": (D(2023, 12, 3), D(2024, 1, 2)),
    "last_90_days": (D(2023, 10, 4), D(2024, 1, 2)),
    "last_12_months": (D(2023, 2, 1), D(2024, 1, 2)),
    "all_time": None,
}

# Reference 2024-03-31 (Sunday, leap year): a week's Sunday belongs to the week that started on Monday.
LEAP_SUNDAY = {
    "this_week": (D(2024, 3, 25), D(2024, 4, 1)),
    "last_week": (D(2024, 3, 18), D(2024, 3, 25)),
    "last_month": (D(2024, 2, 1), D(2024, 3, 1)),
    "this_quarter": (D(2024, 1, 1), D(2024, 4, 1)),
    "last_quarter": (D(2023, 10, 1), D(2024, 1, 1)),
    "last_30_days": (D(2024, 3, 2), D(2024, 4, 1)),
    "last_12_months": (D(2023, 4, 1), D(2024, 4, 1)),
}


def test_the_tables_cover_every_period() -> None:
    assert set(YEAR_END) == set(RELATIVE_PERIODS) == set(YEAR_START)


@pytest.mark.parametrize("period", sorted(YEAR_END))
def test_relative_periods_at_a_year_end(period: str) -> None:
    assert resolve_time_range(period, D(2025, 12, 31)) == YEAR_END[period]  # type: ignore[arg-type]


@pytest.mark.parametrize("period", sorted(YEAR_START))
def test_relative_periods_at_a_year_start(period: str) -> None:
    assert resolve_time_range(period, D(2024, 1, 1)) == YEAR_START[period]  # type: ignore[arg-type]


@pytest.mark.parametrize("period", sorted(LEAP_SUNDAY))
def test_relative_periods_on_a_leap_year_sunday(period: str) -> None:
    assert resolve_time_range(period, D(2024, 3, 31)) == LEAP_SUNDAY[period]  # type: ignore[arg-type]


@pytest.mark.parametrize("period", sorted(set(RELATIVE_PERIODS) - {"all_time"}))
def test_no_period_reaches_past_the_reference_date(period: str) -> None:
    for ref in (D(2025, 12, 31), D(2024, 2, 29), D(2025, 5, 17)):
        resolved = resolve_time_range(period, ref)  # type: ignore[arg-type]
        assert resolved is not None
        start, end = resolved
        assert start < end <= D.fromordinal(ref.toordinal() + 1)


def test_explicit_range_includes_both_ends() -> None:
    assert resolve_time_range(DateRange(start=D(2025, 1, 1), end=D(2025, 3, 31)), D(2025, 12, 31)) == (
        D(2025, 1, 1),
        D(2025, 4, 1),
    )
    assert resolve_time_range(DateRange(start=D(2025, 11, 11), end=D(2025, 11, 11)), D(2025, 12, 31)) == (
        D(2025, 11, 11),
        D(2025, 11, 12),
    )


def test_explicit_range_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match="before start"):
        DateRange(start=D(2025, 3, 1), end=D(2025, 1, 1))


def test_unknown_period_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown relative period"):
        resolve_time_range("next_month", D(2025, 12, 31))  # type: ignore[arg-type]


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(D(2024, 3, 31), -1) == D(2024, 2, 29)
    assert add_months(D(2025, 3, 31), -1) == D(2025, 2, 28)
    assert add_months(D(2025, 1, 15), -13) == D(2023, 12, 15)
    assert add_months(D(2025, 12, 1), 1) == D(2026, 1, 1)


@pytest.mark.parametrize(
    ("current", "comparison", "expected"),
    [
        # whole months: the same number of months just before
        ((D(2025, 11, 1), D(2025, 12, 1)), "period_over_period", (D(2025, 10, 1), D(2025, 11, 1))),
        ((D(2025, 7, 1), D(2025, 10, 1)), "period_over_period", (D(2025, 4, 1), D(2025, 7, 1))),
        ((D(2024, 12, 1), D(2025, 12, 1)), "period_over_period", (D(2023, 12, 1), D(2024, 12, 1))),
        ((D(2025, 3, 1), D(2025, 4, 1)), "period_over_period", (D(2025, 2, 1), D(2025, 3, 1))),
        # days and weeks: the same number of days just before
        ((D(2025, 12, 22), D(2025, 12, 29)), "period_over_period", (D(2025, 12, 15), D(2025, 12, 22))),
        ((D(2025, 12, 2), D(2026, 1, 1)), "period_over_period", (D(2025, 11, 2), D(2025, 12, 2))),
        ((D(2025, 12, 1), D(2025, 12, 16)), "period_over_period", (D(2025, 11, 16), D(2025, 12, 1))),
        # a year back, with 29 February clamped
        ((D(2025, 11, 1), D(2025, 12, 1)), "year_over_year", (D(2024, 11, 1), D(2024, 12, 1))),
        ((D(2024, 2, 29), D(2024, 3, 1)), "year_over_year", (D(2023, 2, 28), D(2023, 3, 1))),
    ],
)
def test_previous_range(current: tuple[date, date], comparison: str, expected: tuple[date, date]) -> None:
    assert previous_range(*current, comparison) == expected  # type: ignore[arg-type]


def test_standard_periods_are_windows_and_all_time() -> None:
    assert set(STANDARD_PERIODS) | {"all_time"} == set(RELATIVE_PERIODS)


def test_last_12_months_ends_with_the_reference_month_to_date() -> None:
    assert resolve_time_range("last_12_months", D(2025, 12, 15)) == (D(2025, 1, 1), D(2025, 12, 16))


def _window(unit: str, count: int = 1, offset: int = 0, index: int | None = None) -> PeriodWindow:
    return PeriodWindow(unit=unit, count=count, offset=offset, index=index)


@pytest.mark.parametrize(
    ("window", "ref", "expected"),
    [
        # windows ending with the current unit are to date
        (_window("month", count=6), D(2025, 12, 15), (D(2025, 7, 1), D(2025, 12, 16))),
        (_window("month", count=3, offset=-1), D(2025, 12, 15), (D(2025, 9, 1), D(2025, 12, 1))),
        (_window("week", count=4, offset=-1), D(2025, 12, 31), (D(2025, 12, 1), D(2025, 12, 29))),
        (_window("day", offset=-2), D(2025, 3, 1), (D(2025, 2, 27), D(2025, 2, 28))),
        # halves
        (_window("half"), D(2025, 12, 31), (D(2025, 7, 1), D(2026, 1, 1))),
        (_window("half", offset=-1), D(2025, 5, 10), (D(2024, 7, 1), D(2025, 1, 1))),
        (_window("half", index=1), D(2025, 12, 31), (D(2025, 1, 1), D(2025, 7, 1))),
        (_window("half", index=2), D(2025, 9, 30), (D(2025, 7, 1), D(2025, 10, 1))),  # H2 to date
        (_window("quarter", index=2), D(2025, 12, 31), (D(2025, 4, 1), D(2025, 7, 1))),
        (_window("month", index=3), D(2025, 12, 31), (D(2025, 3, 1), D(2025, 4, 1))),
        (_window("week", index=2), D(2025, 12, 31), (D(2025, 1, 6), D(2025, 1, 13))),  # week 1 holds Jan 1st
        (_window("day", index=32), D(2025, 12, 31), (D(2025, 2, 1), D(2025, 2, 2))),
        (_window("year", count=2, offset=-1), D(2025, 6, 30), (D(2023, 1, 1), D(2025, 1, 1))),
        # a unit of this year that has not begun yet: an empty range
        (_window("quarter", index=4), D(2025, 5, 10), (D(2025, 10, 1), D(2025, 10, 1))),
    ],
)
def test_period_windows(window: PeriodWindow, ref: date, expected: tuple[date, date]) -> None:
    assert resolve_period(window, ref) == expected


def test_weeks_can_start_on_sunday() -> None:
    # 2025-12-31 is a Wednesday; its Sunday-started week began on 2025-12-28.
    assert resolve_period(_window("week"), D(2025, 12, 31), week_start="sunday") == (D(2025, 12, 28), D(2026, 1, 1))
    assert resolve_period(_window("week", offset=-1), D(2025, 12, 28), week_start="sunday") == (
        D(2025, 12, 21),
        D(2025, 12, 28),
    )


@pytest.mark.parametrize(
    ("window", "ref", "expected"),
    [
        # a fiscal year starting in April: FY2025 runs 2025-04-01..2026-03-31
        (_window("year"), D(2025, 12, 31), (D(2025, 4, 1), D(2026, 1, 1))),
        (_window("year", offset=-1), D(2025, 12, 31), (D(2024, 4, 1), D(2025, 4, 1))),
        (_window("year"), D(2026, 2, 10), (D(2025, 4, 1), D(2026, 2, 11))),
        (_window("quarter"), D(2025, 12, 31), (D(2025, 10, 1), D(2026, 1, 1))),
        (_window("quarter", index=1), D(2026, 2, 10), (D(2025, 4, 1), D(2025, 7, 1))),
        (_window("half", index=2), D(2026, 2, 10), (D(2025, 10, 1), D(2026, 2, 11))),
        (_window("half", offset=-1), D(2025, 12, 31), (D(2025, 4, 1), D(2025, 10, 1))),
        (_window("month", offset=-1), D(2025, 12, 31), (D(2025, 11, 1), D(2025, 12, 1))),  # months are calendar
    ],
)
def test_quarters_halves_and_years_follow_the_fiscal_year(
    window: PeriodWindow, ref: date, expected: tuple[date, date]
) -> None:
    assert resolve_period(window, ref, fiscal_year_start_month=4) == expected


def test_fiscal_quarters_may_straddle_calendar_quarters() -> None:
    # fiscal year starting in February: quarters are Feb-Apr, May-Jul, Aug-Oct, Nov-Jan
    assert resolve_period(_window("quarter"), D(2026, 1, 15), fiscal_year_start_month=2) == (
        D(2025, 11, 1),
        D(2026, 1, 16),
    )
    assert resolve_period(_window("year", offset=-1), D(2026, 1, 15), fiscal_year_start_month=2) == (
        D(2024, 2, 1),
        D(2025, 2, 1),
    )


def test_catalog_periods_take_precedence_over_standard_names() -> None:
    periods = {"last_6_months": _window("month", count=6), "this_month": _window("month", offset=-1)}
    ref = D(2025, 12, 31)
    assert resolve_time_range("last_6_months", ref, periods=periods) == (D(2025, 7, 1), D(2026, 1, 1))
    assert resolve_time_range("this_month", ref, periods=periods) == (D(2025, 11, 1), D(2025, 12, 1))
    assert resolve_time_range("last_month", ref, periods=periods) == (D(2025, 11, 1), D(2025, 12, 1))
    assert resolve_time_range("all_time", ref, periods=periods) is None


@pytest.mark.parametrize(
    ("window", "settings", "message"),
    [
        (_window("fortnight"), {}, "unknown period unit"),
        (_window("month", offset=1), {}, "never reach the future"),
        (_window("month", count=0), {}, "at least 1"),
        (_window("week", index=54), {}, "is not a week"),
        (_window("quarter", index=5), {}, "is not a quarter"),
        (_window("month"), {"week_start": "friday"}, "unknown week start"),
        (_window("month"), {"fiscal_year_start_month": 13}, "not a month number"),
    ],
)
def test_bad_period_definitions_are_rejected(window: PeriodWindow, settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_period(window, D(2025, 12, 31), **settings)  # type: ignore[arg-type]


def test_the_standard_vocabulary_resolves_as_the_standard_names() -> None:
    from knowledge.catalog.models import standard_vocabulary

    vocabulary = {p.name: p for p in standard_vocabulary().periods}
    for name, window in STANDARD_PERIODS.items():
        if name in vocabulary:
            for ref in (D(2025, 12, 31), D(2024, 1, 1), D(2024, 3, 31)):
                assert resolve_period(vocabulary[name], ref) == resolve_period(window, ref), name
