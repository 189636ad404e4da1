"""Words in a question are read with the catalog's own vocabulary, and never force what the catalog forbids."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphs.metrics.evidence import apply_evidence as _apply_evidence
from graphs.metrics.linking import breakdown_dimensions, mentioned_grain, mentioned_period, mentioned_periods
from knowledge.catalog import Catalog, load_catalog
from tests.unit.knowledge.catalog.test_catalog_v2 import V2
from tools.metric_query import MetricQuery


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    path: Path = tmp_path_factory.mktemp("v2") / "catalog.yaml"
    path.write_text(V2, encoding="utf-8")
    return load_catalog(path)


def test_a_period_the_business_defines_is_recognised_in_both_languages(tiny: Catalog) -> None:
    assert mentioned_period("旺季各配送组的发货量", tiny) == "peak_season"
    assert mentioned_period("shipments in the peak season", tiny) == "peak_season"
    # The standard vocabulary's other periods are not this catalog's: it picked only three.
    assert mentioned_period("shipments last year", tiny) is None


def test_a_year_or_two_periods_leave_the_dates_to_the_model(catalog: Catalog) -> None:
    assert mentioned_period("2024年上半年的成交额", catalog) is None
    assert mentioned_period("上半年的成交额", catalog) == "h1"
    assert mentioned_period("GMV last month against the same month last year", catalog) is None
    assert mentioned_periods("GMV last month against the same month last year", catalog) == ["last_month", "last_year"]
    assert mentioned_period("GMV over the last 12 months", catalog) == "last_12_months"  # not also "last month"


def test_grain_and_breakdown_words_come_from_the_catalog(catalog: Catalog, tiny: Catalog) -> None:
    assert mentioned_grain("按季度看发货量", tiny) == "quarter"
    assert mentioned_grain("quarterly GMV", catalog) == "quarter"
    assert breakdown_dimensions("shipments by courier team", tiny) == ["team"]
    # An attribute is filtered by, never grouped by: "by hire date" is no breakdown.
    assert breakdown_dimensions("shipments by hire date", tiny) == []


def test_evidence_never_forces_a_grain_the_catalog_does_not_offer(tiny: Catalog) -> None:
    filled = MetricQuery(metrics=("shipments",), time_range="last_month")
    daily = _apply_evidence(filled, "daily shipments last month", tiny)
    assert daily.time_grain is None and daily.dimensions == ()  # `period` offers month, quarter, year only
    monthly = _apply_evidence(filled, "monthly shipments by courier team", tiny)
    assert monthly.time_grain == "month"
    assert monthly.dimensions == ("period", "team")  # the metric-time dimension, then the breakdown


def test_evidence_uses_the_metric_time_dimension_only_for_metrics_with_a_time_column(tiny: Catalog) -> None:
    filled = MetricQuery(metrics=("fee",))
    assert _apply_evidence(filled, "monthly fee revenue", tiny).dimensions == ()


def test_filters_on_values_the_question_never_names_are_dropped(catalog: Catalog) -> None:
    from graphs.metrics.evidence import asked_filters as _asked_filters
    from tools.metric_query import Filter

    copied = MetricQuery(metrics=("gmv",), filters=(Filter(dimension="region", values=("华东",)),))
    assert _asked_filters(copied, "What was the monthly GMV over the last 12 months?", catalog).filters == ()
    assert _asked_filters(copied, "上个月华东的GMV", catalog).filters == copied.filters
    # Another name of a value the catalog enumerates counts as naming the dimension's value.
    assert _asked_filters(copied, "GMV in East China", catalog).filters == copied.filters
    dated = MetricQuery(metrics=("gmv",), filters=(Filter(dimension="order_date", op="gte", values=("2025-06-01",)),))
    assert _asked_filters(dated, "GMV since June", catalog).filters == dated.filters


def test_metrics_that_only_feed_a_calculation_are_not_shown() -> None:
    from graphs.metrics.evidence import focus as _focus
    from tools.metric_query import Calculation

    ratio = Calculation(op="ratio", left="shipping_fee", right="order_count")
    filled = MetricQuery(metrics=("shipping_fee",), calculations=(ratio,))
    assert _focus(filled, ranked=["shipping_fee"], named=0).metrics == ()
    both = MetricQuery(metrics=("gmv", "shipping_fee"), calculations=(ratio,))
    assert _focus(both, ranked=["gmv"], named=2).metrics == ("gmv", "shipping_fee")


def test_a_period_written_as_a_date_filter_becomes_the_time_range(catalog: Catalog) -> None:
    from graphs.metrics.evidence import asked_filters as _asked_filters
    from tools.metric_query import Filter

    filled = MetricQuery(metrics=("gmv",), filters=(Filter(dimension="order_date", values=("this_year",)),))
    fixed = _asked_filters(filled, "今年各城市的成交额", catalog)
    assert fixed.filters == () and fixed.time_range == "this_year"


def test_a_named_year_corrects_dates_outside_it_and_keeps_dates_inside(catalog: Catalog) -> None:
    from datetime import date

    from graphs.metrics.evidence import apply_evidence as _apply_evidence
    from tools.metric_query import DateRange

    everything = MetricQuery(metrics=("gmv",))
    fixed = _apply_evidence(everything, "What was our total GMV in 2024?", catalog)
    assert fixed.time_range == DateRange(start=date(2024, 1, 1), end=date(2024, 12, 31))
    first_week = DateRange(start=date(2025, 12, 1), end=date(2025, 12, 7))
    narrow = MetricQuery(metrics=("gmv",), time_range=first_week)
    assert _apply_evidence(narrow, "Daily GMV for the first week of December 2025", catalog).time_range == first_week
    # this_year is 2025 for the demo's reference date 2025-12-31: consistent, so kept.
    same = MetricQuery(metrics=("gmv",), time_range="this_year")
    assert _apply_evidence(same, "2025年的成交额", catalog).time_range == "this_year"
    both = _apply_evidence(everything, "Compare total GMV in 2024 with 2025.", catalog)
    assert both.time_range == "all_time"  # two years: the model's to fill
