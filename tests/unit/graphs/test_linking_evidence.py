"""What a question says outright settles the query: named values become filters, ranking words a sort and a limit,
named days the time range. Checked on the demo catalog and on the logistics catalog, whose words the rules never saw.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from graphs.metrics.evidence import (
    apply_evidence,
    asked_breakdowns,
    asked_filters,
    named_values,
    ranked,
    shared,
    years_compared,
)
from graphs.metrics.linking import (
    Ranking,
    asks_future,
    mentioned_grain,
    mentioned_metrics,
    mentioned_ranking,
    mentioned_values,
    open_breakdown_cue,
)
from knowledge.catalog import Catalog, load_catalog
from knowledge.catalog.models import Occasion
from knowledge.warehouse import build_logistics_warehouse
from tools.metric_query import DateRange, Filter, MetricQuery, OrderBy
from tools.metric_query.values import DimensionValues, ValueReadError, read_dimension_values
from tools.warehouse import DuckDBRunner

LOGISTICS = Path(__file__).parents[3] / "knowledge" / "catalog" / "logistics" / "catalog.yaml"


@pytest.fixture(scope="module")
def demo_values(catalog: Catalog, warehouse: Path) -> DimensionValues:
    runner = DuckDBRunner(warehouse)
    try:
        return read_dimension_values(catalog, runner, max_values=1000)
    finally:
        runner.close()


@pytest.fixture(scope="module")
def logistics() -> Catalog:
    return load_catalog(LOGISTICS)


@pytest.fixture(scope="module")
def logistics_values(logistics: Catalog, tmp_path_factory: pytest.TempPathFactory) -> DimensionValues:
    path = tmp_path_factory.mktemp("logistics") / "logistics.duckdb"
    build_logistics_warehouse(path, shipments=5_000, seed=11)
    runner = DuckDBRunner(path)
    try:
        return read_dimension_values(logistics, runner, max_values=1000)
    finally:
        runner.close()


def test_values_are_read_with_their_names_in_both_languages(demo_values: DimensionValues) -> None:
    live = next(v for v in demo_values.values["channel"] if v.value == "live_stream")
    assert (live.zh, live.en) == ("直播", "Live Stream")
    assert demo_values.complete["channel"]
    assert "华东" in [v.value for v in demo_values.values["region"]]


def test_a_warehouse_without_the_tables_is_one_sentence(catalog: Catalog, tmp_path: Path) -> None:
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    runner = DuckDBRunner(empty)
    try:
        with pytest.raises(ValueReadError, match="Cannot read the values of dimension"):
            read_dimension_values(catalog, runner)
    finally:
        runner.close()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("上个月直播渠道有多少有效订单？", {"channel": ["live_stream"]}),
        ("2025年华东地区每个城市的成交额是多少？", {"region": ["华东"]}),
        ("GMV from East China and wechat pay last month", {"region": ["华东"], "payment_method": ["wechat_pay"]}),
        ("How many orders came through the Mini Program or the website?", {"channel": ["mini_program", "web"]}),
        ("2025年18-24岁用户的下单人数", {"age_band": ["18-24"]}),
        ("GMV by region last month", {}),
    ],
)
def test_named_values_are_found_in_both_languages(
    question: str, expected: dict[str, list[str]], catalog: Catalog, demo_values: DimensionValues
) -> None:
    assert mentioned_values(question, catalog, demo_values) == expected


def test_a_value_inside_a_longer_name_is_not_a_value(catalog: Catalog, demo_values: DimensionValues) -> None:
    # 一线 (Tier 1, from the catalog's value_names) inside 新一线 is New Tier 1 only; numbers are never codes.
    assert mentioned_values("今年一线城市的成交额是多少？", catalog, demo_values) == {"city_tier": ["Tier 1"]}
    assert mentioned_values("今年新一线城市的成交额是多少？", catalog, demo_values) == {"city_tier": ["New Tier 1"]}
    assert mentioned_values("orders with 3 items", catalog, demo_values) == {}


def test_logistics_values_are_found_too(logistics: Catalog, logistics_values: DimensionValues) -> None:
    found = mentioned_values("Monthly shipments from key accounts over the last 12 months", logistics, logistics_values)
    assert found == {"customer_segment": ["key_account"]}
    # The catalog's value_names: what people call a code that no column names.
    found = mentioned_values("claim rate of fresh-food shippers against electronics", logistics, logistics_values)
    assert found == {"industry": ["fresh_food", "electronics"]}
    assert mentioned_values("全职和外包的快递员今年分别送了多少件？", logistics, logistics_values) == {
        "employment_type": ["full_time", "contractor"]
    }


def test_a_name_two_dimensions_hold_names_neither(logistics: Catalog, logistics_values: DimensionValues) -> None:
    # 丢件 is a lost shipment and a loss claim: ambiguous unless the query's metrics allow only one of them.
    assert mentioned_values("上个月丢件多少", logistics, logistics_values) == {}
    only_claims = mentioned_values("上个月丢件多少", logistics, logistics_values, among=["claim_type"])
    assert only_claims == {"claim_type": ["loss"]}


def test_a_named_value_becomes_the_filter_replacing_an_invented_one(
    catalog: Catalog, demo_values: DimensionValues
) -> None:
    filled = MetricQuery(
        metrics=("order_count",),
        time_range="last_month",
        filters=(Filter(dimension="channel", values=("app",)),),
    )
    fixed = named_values(filled, "上个月直播渠道有多少有效订单？", catalog, demo_values)
    assert fixed.filters == (Filter(dimension="channel", op="eq", values=("live_stream",)),)


def test_a_value_the_metric_itself_speaks_of_is_no_filter(catalog: Catalog, demo_values: DimensionValues) -> None:
    # order_count is "Orders that were not cancelled"; the question describes the metric, not a status filter.
    filled = MetricQuery(metrics=("order_count",), time_range="last_month")
    question = "How many orders were placed last month, cancelled ones included?"
    assert named_values(filled, question, catalog, demo_values).filters == ()


def test_a_named_value_is_not_forced_on_a_metric_without_its_dimension(
    catalog: Catalog, demo_values: DimensionValues
) -> None:
    assert "channel" not in catalog.allowed_dimensions("new_users")
    filled = MetricQuery(metrics=("new_users",), time_range="last_month")
    assert named_values(filled, "上个月直播渠道的新注册用户", catalog, demo_values) == filled


def test_several_named_values_are_compared_side_by_side(logistics: Catalog, logistics_values: DimensionValues) -> None:
    filled = MetricQuery(metrics=("shipment_count",))
    linked = named_values(filled, "shipments from key accounts", logistics, logistics_values)
    assert linked.filters == (Filter(dimension="customer_segment", values=("key_account",)),)
    question = "How does the claim rate of fresh-food shippers compare with electronics shippers this year?"
    compared = named_values(MetricQuery(metrics=("claim_rate",)), question, logistics, logistics_values)
    assert compared.dimensions == ("industry",)
    assert compared.filters == (Filter(dimension="industry", op="in", values=("fresh_food", "electronics")),)
    # Every value named: a breakdown, no filter.
    question = "最近30天，送货上门、快递柜、自提各签收了多少件？"
    every = named_values(MetricQuery(metrics=("delivered_count",)), question, logistics, logistics_values)
    assert every.dimensions == ("delivery_method",) and every.filters == ()


@pytest.mark.parametrize(
    ("question", "ranking"),
    [
        ("Which five cities brought in the most GMV in 2025?", Ranking("desc", 5)),
        ("Which payment method brought in the most GMV last month?", Ranking("desc", 1)),
        ("List the ten brands with the highest product sales in 2025.", Ranking("desc", 10)),
        ("top 3 regions by refunds", Ranking("desc", 3)),
        ("Bottom 3 channels by average discount per order last 7 days", Ranking("asc", 3)),
        ("今年索赔金额最高的三个城市是哪几个？", Ranking("desc", 3)),
        ("双十一那个月哪些网点派的件最多？给我前十", Ranking("desc", 10)),
        ("哪种车拉的件平均最重？按车型排一下", Ranking("desc", None)),
        ("2025年取消单量第一的城市", Ranking("desc", 1)),
        ("Which region led on refund count this year so far?", Ranking("desc", 1)),
        ("退款金额最少的渠道是哪个？", Ranking("asc", 1)),
    ],
)
def test_ranking_words_give_direction_and_count(question: str, ranking: Ranking) -> None:
    assert mentioned_ranking(question) == ranking


@pytest.mark.parametrize(
    "question",
    [
        "GMV by region last month",
        "What was our total GMV in 2025?",
        "Which sales channels do we sell through?",
        "2025年第一季度的成交额",  # 第一季度 is Q1, not first place
        "GMV over the last 6 months",
        "近7天的订单量",
        "今年超过20公斤的大件发了多少票？",
        "首次下单的新买家有多少？",
    ],
)
def test_no_ranking_where_none_is_asked(question: str) -> None:
    assert mentioned_ranking(question) is None


def test_a_ranking_sorts_and_cuts_a_grouped_query_only() -> None:
    grouped = MetricQuery(metrics=("gmv",), dimensions=("payment_method",), time_range="last_month")
    top = ranked(grouped, "Which payment method brought in the most GMV last month?")
    assert top.order_by == (OrderBy(target="gmv", direction="desc"),) and top.limit == 1
    total = MetricQuery(metrics=("gmv",), time_range="last_month")
    assert ranked(total, "Which payment method brought in the most GMV last month?") == total
    growth = grouped.model_copy(update={"comparison": "period_over_period"})
    assert ranked(growth, "which payment method grew the most") == growth


def test_a_grain_word_inside_a_dimension_name_is_no_grain(catalog: Catalog) -> None:
    assert mentioned_grain("2025年各年龄段分别有多少下单用户？", catalog) is None  # 各年 in 各年龄段
    assert mentioned_grain("各年的成交额", catalog) == "year"
    assert mentioned_grain("今年每月的订单量", catalog) == "month"  # 每月 also names the order date: it counts


def test_named_days_set_the_time_range_but_a_named_month_keeps_narrower_dates(catalog: Catalog) -> None:
    filled = MetricQuery(metrics=("gmv",), time_range={"start": "2025-06-10", "end": "2025-06-30"})
    question = "2025年618大促期间（6月1日到18日）的成交额是多少？"
    assert apply_evidence(filled, question, catalog).time_range == DateRange(
        start=date(2025, 6, 1), end=date(2025, 6, 18)
    )
    week = MetricQuery(metrics=("gmv",), time_range={"start": "2025-12-01", "end": "2025-12-07"})
    assert apply_evidence(week, "GMV in the first week of December 2025", catalog).time_range == week.time_range
    wrong = MetricQuery(metrics=("gmv",), time_range="all_time")
    assert apply_evidence(wrong, "GMV in December 2025", catalog).time_range == DateRange(
        start=date(2025, 12, 1), end=date(2025, 12, 31)
    )


@pytest.mark.parametrize(
    ("question", "comparison", "output"),
    [
        ("2025年各支付方式的订单占比是多少？", "share_of_total", "change_only"),
        ("Show GMV by channel for 2025 with each one's share of the total.", "share_of_total", "all"),
        ("2025年各渠道的成交额及其占比", "share_of_total", "all"),
    ],
)
def test_a_share_of_a_grouped_sum_is_read_from_the_question(
    question: str, comparison: str, output: str, catalog: Catalog
) -> None:
    filled = MetricQuery(metrics=("order_count",), dimensions=("payment_method",), time_range="this_year")
    share = shared(filled, question, catalog)
    assert (share.comparison, share.comparison_output) == (comparison, output)


def test_a_share_within_groups_and_no_share_of_a_rate(logistics: Catalog, catalog: Catalog) -> None:
    two = MetricQuery(metrics=("shipment_count",), dimensions=("region", "service_level"), time_range="last_year")
    question = "Within each region, what share of last year's shipments went by each service level?"
    assert shared(two, question, logistics).comparison == "share_within_group"
    rate = MetricQuery(metrics=("cancellation_rate",), dimensions=("channel",))
    assert shared(rate, "What share of orders were cancelled in each channel?", catalog) == rate
    total = MetricQuery(metrics=("repeat_purchase_rate",))
    assert shared(total, "What share of 2025's paying customers ordered more than once?", catalog) == total


def test_two_named_years_group_the_metric_by_year(catalog: Catalog, logistics: Catalog) -> None:
    filled = MetricQuery(metrics=("gmv",), time_range="this_year", comparison="year_over_year")
    compared = years_compared(filled, "Compare total GMV in 2024 with 2025.", catalog)
    assert compared.dimensions == ("order_date",) and compared.time_grain == "year"
    assert compared.time_range == DateRange(start=date(2024, 1, 1), end=date(2025, 12, 31))
    assert compared.comparison == "none"
    monthly = MetricQuery(metrics=("shipment_count",), time_range="this_year", comparison="year_over_year")
    question = "How did monthly shipment volume in 2025 grow compared with the same month of 2024?"
    assert years_compared(monthly, question, logistics) == monthly  # a finer grain: the model's series stands


@pytest.mark.parametrize(
    ("question", "future"),
    [
        ("明年双十一的成交额会是多少？", True),
        ("Forecast GMV for next quarter", True),
        ("下个月的订单量预计是多少？", True),
        ("上个月的成交额是多少？", False),
        ("How many orders were placed last month?", False),
        ("2025年下半年各渠道的GMV", False),
    ],
)
def test_questions_about_the_future_are_recognised(question: str, future: bool) -> None:
    assert asks_future(question) is future


def test_an_invented_value_is_dropped_when_the_warehouse_knows_the_dimension(
    catalog: Catalog, demo_values: DimensionValues
) -> None:
    # The catalog enumerates no cities, the warehouse does: 新墨 is none of them and the question names none.
    invented = MetricQuery(metrics=("gmv",), filters=(Filter(dimension="city", values=("新墨",)),))
    assert asked_filters(invented, "今年一线城市的成交额是多少？", catalog, demo_values).filters == ()
    assert asked_filters(invented, "今年一线城市的成交额是多少？", catalog).filters == invented.filters  # no values
    shanghai = MetricQuery(metrics=("gmv",), filters=(Filter(dimension="city", values=("上海",)),))
    assert asked_filters(shanghai, "上海今年的成交额", catalog, demo_values) == shanghai


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("2024年双十一那天的成交额是多少？", (date(2024, 11, 11), date(2024, 11, 11))),
        ("GMV on Singles Day 2024", (date(2024, 11, 11), date(2024, 11, 11))),
        ("2025年618大促期间的成交额", (date(2025, 6, 1), date(2025, 6, 18))),
        ("双十二的订单量", (date(2025, 12, 12), date(2025, 12, 12))),  # the reference year: 2025-12-31
    ],
)
def test_an_occasion_of_the_catalog_sets_its_days(question: str, days: tuple[date, date], catalog: Catalog) -> None:
    filled = MetricQuery(metrics=("gmv",), time_range="all_time")
    assert apply_evidence(filled, question, catalog).time_range == DateRange(start=days[0], end=days[1])


def test_two_occasions_or_years_leave_the_dates_to_the_model(catalog: Catalog) -> None:
    filled = MetricQuery(metrics=("gmv",), time_range="all_time")
    assert apply_evidence(filled, "双12和双11的GMV", catalog).time_range == "all_time"


@pytest.mark.parametrize(
    ("occasion", "error"),
    [
        ({"start": "02-30"}, "not a day of the year"),
        ({"start": "11-11", "end": "01-01"}, "stays inside one year"),
        ({"start": "1111"}, "String should match pattern"),
    ],
)
def test_a_malformed_occasion_is_refused(occasion: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Occasion.model_validate({"name": "sale", "label": {"en": "sale"}, **occasion})


def test_an_occasion_on_february_29_falls_back_outside_leap_years() -> None:
    leap = Occasion.model_validate({"name": "leap", "label": {"en": "leap day"}, "start": "02-29"})
    assert leap.days(2025) == (date(2025, 2, 28), date(2025, 2, 28))
    assert leap.days(2024) == (date(2024, 2, 29), date(2024, 2, 29))


def test_a_count_asked_with_how_many_names_the_count_metric(catalog: Catalog, logistics: Catalog) -> None:
    # "number of refunds" is the catalog's term; "how many refunds" opens the same count in other words, and the
    # longer mention outweighs "refunds" (the refund amount).
    assert mentioned_metrics("How many refunds came in per reason last year?", catalog) == ["refund_count"]
    assert mentioned_metrics("What were refunds last year?", catalog) == ["refund_amount"]
    assert mentioned_metrics("How many claims came in during 2025?", logistics) == ["claim_count"]


@pytest.mark.parametrize(
    ("question", "open_cue"),
    [
        ("Break last year's GMV down by where buyers live.", True),  # words the catalog does not know
        ("去年各类用户的GMV", True),
        ("GMV by channel last year", False),  # the cue stands before a dimension
        ("去年各个大区的成交额", False),  # 各个, not 各 before 个大区
        ("去年一线城市的成交额", False),  # no cue at all
    ],
)
def test_an_open_breakdown_cue_is_one_before_words_the_catalog_does_not_know(
    question: str, open_cue: bool, catalog: Catalog
) -> None:
    assert open_breakdown_cue(question, catalog) is open_cue


def test_a_breakdown_nobody_asked_for_is_dropped(
    catalog: Catalog, demo_values: DimensionValues, logistics: Catalog, logistics_values: DimensionValues
) -> None:
    tier_1 = Filter(dimension="city_tier", op="eq", values=("Tier 1",))
    by_city = MetricQuery(metrics=("gmv",), dimensions=("city",), filters=(tier_1,), order_by=(OrderBy(target="city"),))
    one_number = asked_breakdowns(by_city, "去年一线城市的GMV是多少？", catalog, demo_values)
    assert one_number.dimensions == () and one_number.order_by == () and one_number.filters == (tier_1,)
    # Kept: the question names the dimension, ranks, or has a cue before words only a model can map.
    for question in ("Which city had the most GMV last year?", "GMV by city last year", "去年GMV按买家所在地分一下"):
        assert asked_breakdowns(by_city, question, catalog, demo_values) == by_city
    by_month = MetricQuery(metrics=("gmv",), dimensions=("order_date",), time_grain="month")
    assert asked_breakdowns(by_month, "去年的GMV是多少？", catalog, demo_values) == by_month  # time is the grain's
    by_team = MetricQuery(metrics=("delivered_count",), dimensions=("courier_team", "service_level"))
    asked = asked_breakdowns(
        by_team, "How many parcels were delivered by express service last year?", logistics, logistics_values
    )
    assert asked.dimensions == ("service_level",)  # a value of service_level is named; no courier team is


@pytest.mark.parametrize("name", ["metrics_qa", "logistics_qa"])
def test_no_gold_breakdown_of_either_question_set_is_dropped(
    name: str,
    catalog: Catalog,
    demo_values: DimensionValues,
    logistics: Catalog,
    logistics_values: DimensionValues,
) -> None:
    from evals import MetricsQAItem, load_dataset

    on, values = (catalog, demo_values) if name == "metrics_qa" else (logistics, logistics_values)
    items = load_dataset(Path(__file__).parents[3] / "evals" / "datasets" / name).items_of(MetricsQAItem)
    golds = [(item.id, item.question, item.gold_query) for item in items if item.gold_query is not None]
    assert sum(1 for _, _, gold in golds if gold.dimensions) >= 15  # the set has breakdowns to lose
    dropped = [
        item_id
        for item_id, question, gold in golds
        if asked_breakdowns(gold, question, on, values).dimensions != gold.dimensions
    ]
    assert dropped == []
