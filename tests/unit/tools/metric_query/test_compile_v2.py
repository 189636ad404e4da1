"""Metric query v2 on the demo DuckDB: calculations, comparison outputs, shares within groups, and the catalog v2
conventions (growth and rate formats, grain formats, periods, a metric-time dimension), each compiled, passed
through the SQL gate, executed and compared with hand-written SQL, and rendered for PostgreSQL and read back.

Cases without conventions of their own run on the demo catalog as it is (version 2: rates and growth as
fractions, years as integers); the others replace its conventions. The demo's reference date is 2025-12-31.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pytest
import sqlglot
from pydantic import ValidationError
from sqlglot import exp

from knowledge.catalog import Catalog
from kubeai.errors import MetricQueryError
from tests.unit.tools.metric_query.test_compile_results import ORDERS_BY_REGION, _assert_same, _context
from tools.metric_query import CompiledQuery, MetricQuery, compile_metric_query, metric_query_model
from tools.sql_gate import check_sql

PERIOD = {
    "name": "period",
    "label": {"en": "Period", "zh": "时间"},
    "type": "time",
    "metric_time": True,
    "time_grains": ["day", "week", "month", "quarter", "year"],
}


def v2_catalog(catalog: Catalog, dimensions: tuple[dict[str, Any], ...] = (), **conventions: Any) -> Catalog:
    """The demo catalog as a version 2 catalog with exactly the given conventions (and extra dimensions)."""
    data = catalog.model_dump(exclude={"conventions"})
    data["version"] = 2
    data["conventions"] = conventions
    data["dimensions"] = [*data["dimensions"], *dimensions]
    return Catalog.model_validate(data)


@dataclass(frozen=True)
class Case:
    id: str
    query: dict[str, Any]
    expected_sql: str
    columns: tuple[str, ...]
    conventions: dict[str, Any] = field(default_factory=dict)
    ordered: bool = False


GMV_BY_REGION_2025 = f"""SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
    WHERE o.status <> 'cancelled' AND year(o.order_date) = 2025 GROUP BY 1"""
REFUNDS_BY_REGION_2025 = """SELECT r.region_name AS region, SUM(x.refund_amount) AS refund_amount
    FROM refunds x JOIN orders o ON o.order_id = x.order_id
    JOIN cities c ON c.city_id = o.city_id JOIN regions r ON r.region_id = c.region_id
    WHERE year(x.refund_date) = 2025 GROUP BY 1"""
MONTHLY_GMV = """SELECT CAST(DATE_TRUNC('month', order_date) AS DATE) AS month, SUM(paid_amount) AS gmv
    FROM orders WHERE status <> 'cancelled' GROUP BY 1"""

CASES = [
    # ---- calculations
    Case(
        "refunds_per_gmv_by_region_inputs_hidden",
        {
            "metrics": [],
            "calculations": [{"op": "ratio", "left": "refund_amount", "right": "gmv"}],
            "dimensions": ["region"],
            "time_range": "this_year",
        },
        f"""WITH g AS ({GMV_BY_REGION_2025}), rf AS ({REFUNDS_BY_REGION_2025})
            SELECT g.region, rf.refund_amount::DOUBLE / g.gmv FROM g JOIN rf USING (region) ORDER BY 2 DESC""",
        ("region", "refund_amount_per_gmv"),
        ordered=True,
    ),
    Case(
        "gmv_and_gmv_minus_refunds_by_region",
        {
            "metrics": ["gmv"],
            "calculations": [{"op": "difference", "left": "gmv", "right": "refund_amount"}],
            "dimensions": ["region"],
            "time_range": "this_year",
        },
        f"""WITH g AS ({GMV_BY_REGION_2025}), rf AS ({REFUNDS_BY_REGION_2025})
            SELECT g.region, g.gmv, g.gmv - rf.refund_amount FROM g JOIN rf USING (region)""",
        ("region", "gmv", "gmv_minus_refund_amount"),
    ),
    Case(
        "ad_hoc_average_order_value_last_month_vs_the_month_before",
        {
            "metrics": [],
            "calculations": [{"op": "ratio", "left": "gmv", "right": "order_count"}],
            "time_range": "last_month",
            "comparison": "period_over_period",
        },
        """WITH cur AS (SELECT SUM(paid_amount)::DOUBLE / COUNT(*) AS v FROM orders
                        WHERE status <> 'cancelled' AND order_date BETWEEN DATE '2025-11-01' AND DATE '2025-11-30'),
                prev AS (SELECT SUM(paid_amount)::DOUBLE / COUNT(*) AS v FROM orders
                         WHERE status <> 'cancelled' AND order_date BETWEEN DATE '2025-10-01' AND DATE '2025-10-31')
           SELECT cur.v, prev.v, cur.v / prev.v - 1 FROM cur, prev""",
        ("gmv_per_order_count", "gmv_per_order_count_previous", "gmv_per_order_count_growth"),
    ),
    # ---- comparison outputs
    Case(
        "gmv_growth_only_by_region_last_month",
        {
            "metrics": ["gmv"],
            "dimensions": ["region"],
            "time_range": "last_month",
            "comparison": "period_over_period",
            "comparison_output": "change_only",
        },
        f"""WITH cur AS (SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
                         WHERE o.status <> 'cancelled' AND o.order_date >= DATE '2025-11-01'
                           AND o.order_date < DATE '2025-12-01' GROUP BY 1),
                 prev AS (SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
                          WHERE o.status <> 'cancelled' AND o.order_date >= DATE '2025-10-01'
                            AND o.order_date < DATE '2025-11-01' GROUP BY 1)
            SELECT cur.region, (cur.gmv - prev.gmv) / prev.gmv FROM cur JOIN prev USING (region)
            ORDER BY cur.gmv DESC""",
        ("region", "gmv_growth"),
        ordered=True,
    ),
    Case(
        "monthly_gmv_this_year_and_a_year_earlier_without_growth",
        {
            "metrics": ["gmv"],
            "dimensions": ["order_date"],
            "time_grain": "month",
            "time_range": "this_year",
            "comparison": "year_over_year",
            "comparison_output": "value_and_previous",
        },
        f"""WITH m AS ({MONTHLY_GMV})
            SELECT cur.month, cur.gmv, prev.gmv FROM m cur LEFT JOIN m prev ON prev.month = cur.month - INTERVAL 1 YEAR
            WHERE year(cur.month) = 2025 ORDER BY 1""",
        ("order_date_month", "gmv", "gmv_previous"),
        ordered=True,
    ),
    # ---- shares within groups
    Case(
        "each_channels_share_of_orders_within_each_region",
        {
            "metrics": ["order_count"],
            "dimensions": ["region", "channel"],
            "time_range": "this_year",
            "comparison": "share_within_group",
        },
        f"""WITH n AS (SELECT r.region_name AS region, ch.channel_code AS channel, COUNT(*) AS n {ORDERS_BY_REGION}
                       JOIN channels ch ON ch.channel_id = o.channel_id
                       WHERE o.status <> 'cancelled' AND year(o.order_date) = 2025 GROUP BY 1, 2)
            SELECT region, channel, n, n / SUM(n) OVER (PARTITION BY region) FROM n ORDER BY region, n DESC""",
        ("region", "channel", "order_count", "order_count_share"),
        ordered=True,
    ),
    Case(
        "share_only_of_each_city_tier_within_each_quarter_and_region",
        {
            "metrics": ["gmv"],
            "dimensions": ["region", "order_date", "city_tier"],
            "time_grain": "quarter",
            "time_range": "this_year",
            "comparison": "share_within_group",
            "comparison_output": "change_only",
        },
        f"""WITH n AS (SELECT r.region_name AS region, CAST(DATE_TRUNC('quarter', o.order_date) AS DATE) AS q,
                              c.tier, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
                       WHERE o.status <> 'cancelled' AND year(o.order_date) = 2025 GROUP BY 1, 2, 3)
            SELECT region, q, tier, gmv / SUM(gmv) OVER (PARTITION BY region, q) FROM n""",
        ("region", "order_date_quarter", "city_tier", "gmv_share"),
    ),
    # ---- v2 conventions: growth as a fraction, rates in percent
    Case(
        "v2_gmv_growth_as_a_fraction_by_channel",
        {
            "metrics": ["gmv"],
            "dimensions": ["channel"],
            "time_range": "last_month",
            "comparison": "period_over_period",
        },
        """WITH b AS (SELECT ch.channel_code AS channel, month(o.order_date) AS m, SUM(o.paid_amount) AS gmv
                      FROM orders o JOIN channels ch ON ch.channel_id = o.channel_id
                      WHERE o.status <> 'cancelled' AND o.order_date BETWEEN DATE '2025-10-01' AND DATE '2025-11-30'
                      GROUP BY 1, 2)
           SELECT cur.channel, cur.gmv, prev.gmv, cur.gmv / prev.gmv - 1
           FROM b cur JOIN b prev ON prev.channel = cur.channel AND prev.m = 10 WHERE cur.m = 11""",
        ("channel", "gmv", "gmv_previous", "gmv_growth"),
        conventions={"reference_date": "2025-12-31"},
    ),
    Case(
        "v2_rates_in_percent_and_a_ratio_of_two_amounts",
        {
            "metrics": ["refund_rate"],
            "calculations": [
                {"op": "ratio", "left": "refund_amount", "right": "gmv"},
                {"op": "ratio", "left": "gmv", "right": "order_count"},
            ],
            "dimensions": ["region"],
            "time_range": "this_year",
        },
        f"""WITH g AS ({GMV_BY_REGION_2025}), rf AS ({REFUNDS_BY_REGION_2025}),
                 n AS (SELECT r.region_name AS region, COUNT(*) AS n {ORDERS_BY_REGION}
                       WHERE o.status <> 'cancelled' AND year(o.order_date) = 2025 GROUP BY 1)
            SELECT g.region, 100 * rf.refund_amount / g.gmv, 100 * rf.refund_amount / g.gmv, g.gmv / n.n
            FROM g JOIN rf USING (region) JOIN n USING (region)""",
        ("region", "refund_rate", "refund_amount_per_gmv", "gmv_per_order_count"),
        conventions={"reference_date": "2025-12-31", "rate_format": "percent"},
    ),
    # ---- v2 conventions: grain formats
    Case(
        "v2_months_as_text_compared_with_a_year_earlier",
        {
            "metrics": ["gmv"],
            "dimensions": ["order_date"],
            "time_grain": "month",
            "time_range": "this_year",
            "comparison": "year_over_year",
        },
        f"""WITH m AS ({MONTHLY_GMV})
            SELECT strftime(cur.month, '%Y-%m'), cur.gmv, prev.gmv, cur.gmv / prev.gmv - 1
            FROM m cur LEFT JOIN m prev ON prev.month = cur.month - INTERVAL 1 YEAR
            WHERE year(cur.month) = 2025 ORDER BY 1""",
        ("order_date_month", "gmv", "gmv_previous", "gmv_growth"),
        conventions={"reference_date": "2025-12-31", "grain_formats": {"month": "YYYY-MM"}},
        ordered=True,
    ),
    Case(
        "v2_quarters_as_text_and_years_as_integers",
        {"metrics": ["order_count"], "dimensions": ["order_date"], "time_grain": "quarter"},
        """SELECT year(order_date) || '-Q' || quarter(order_date), COUNT(*) FROM orders WHERE status <> 'cancelled'
           GROUP BY 1 ORDER BY 1""",
        ("order_date_quarter", "order_count"),
        conventions={"reference_date": "2025-12-31", "grain_formats": {"quarter": "YYYY-Qn", "year": "YYYY"}},
        ordered=True,
    ),
    Case(
        "v2_yearly_refunds_as_integer_years_vs_the_year_before",
        {
            "metrics": ["refund_count"],
            "dimensions": ["order_date"],
            "time_grain": "year",
            "time_range": "this_year",
            "comparison": "period_over_period",
        },
        """WITH y AS (SELECT year(o.order_date) AS y, COUNT(*) AS n FROM refunds rf
                      JOIN orders o ON o.order_id = rf.order_id WHERE year(rf.refund_date) = 2025 GROUP BY 1),
                p AS (SELECT year(o.order_date) + 1 AS y, COUNT(*) AS n FROM refunds rf
                      JOIN orders o ON o.order_id = rf.order_id WHERE year(rf.refund_date) = 2024 GROUP BY 1)
           SELECT y.y, y.n, p.n, 100.0 * (y.n - p.n) / p.n FROM y LEFT JOIN p USING (y) ORDER BY 1""",
        ("order_date_year", "refund_count", "refund_count_previous", "refund_count_change_pct"),
        conventions={"reference_date": "2025-12-31", "grain_formats": {"year": "YYYY"}, "growth_format": "percent"},
        ordered=True,
    ),
    Case(
        "v2_weeks_starting_on_sunday_this_week_and_the_four_before",
        {
            "metrics": ["order_count"],
            "dimensions": ["order_date"],
            "time_grain": "week",
            "time_range": {"start": "2025-11-30", "end": "2025-12-31"},
            "comparison": "period_over_period",
        },
        # each week against the week before, over the same days (the current week runs to the reference date)
        """WITH w AS (SELECT order_date - CAST(dayofweek(order_date) AS INTEGER) AS week, COUNT(*) AS n
                      FROM orders WHERE status <> 'cancelled'
                        AND order_date BETWEEN DATE '2025-11-30' AND DATE '2025-12-31' GROUP BY 1),
                p AS (SELECT order_date - CAST(dayofweek(order_date) AS INTEGER) + 7 AS week, COUNT(*) AS n
                      FROM orders WHERE status <> 'cancelled'
                        AND order_date BETWEEN DATE '2025-11-23' AND DATE '2025-12-24' GROUP BY 1)
           SELECT w.week, w.n, p.n, w.n::DOUBLE / p.n - 1 FROM w LEFT JOIN p USING (week) ORDER BY 1""",
        ("order_date_week", "order_count", "order_count_previous", "order_count_growth"),
        conventions={"reference_date": "2025-12-31", "week_start": "sunday"},
        ordered=True,
    ),
    # ---- v2 conventions: the catalog's periods
    Case(
        "v2_a_catalog_period_last_6_months",
        {"metrics": ["gmv"], "time_range": "last_6_months"},
        """SELECT SUM(paid_amount) FROM orders WHERE status <> 'cancelled'
           AND order_date BETWEEN DATE '2025-07-01' AND DATE '2025-12-31'""",
        ("gmv",),
        conventions={"reference_date": "2025-12-31", "periods": ["last_month", "last_6_months"]},
    ),
    Case(
        "v2_a_fiscal_year_starting_in_april",
        {"metrics": ["gmv"], "dimensions": ["channel"], "time_range": "last_year"},
        """SELECT ch.channel_code, SUM(o.paid_amount) FROM orders o JOIN channels ch ON ch.channel_id = o.channel_id
           WHERE o.status <> 'cancelled' AND o.order_date BETWEEN DATE '2024-04-01' AND DATE '2025-03-31'
           GROUP BY 1""",
        ("channel", "gmv"),
        conventions={"reference_date": "2025-12-31", "fiscal_year_start_month": 4},
    ),
    Case(
        "v2_first_half_defined_by_the_catalog",
        {"metrics": ["order_count"], "time_range": "first_half"},
        """SELECT COUNT(*) FROM orders WHERE status <> 'cancelled'
           AND order_date BETWEEN DATE '2025-01-01' AND DATE '2025-06-30'""",
        ("order_count",),
        conventions={
            "reference_date": "2025-12-31",
            "periods": [
                {"name": "first_half", "label": {"en": "first half"}, "unit": "half", "index": 1},
                "this_year",
            ],
        },
    ),
    # ---- v2: a metric-time dimension dates each metric by its own time column
    Case(
        "v2_gmv_and_refunds_by_month_each_by_its_own_date",
        {
            "metrics": ["gmv", "refund_amount"],
            "dimensions": ["period"],
            "time_grain": "month",
            "time_range": "last_quarter",
        },
        """WITH g AS (SELECT CAST(DATE_TRUNC('month', order_date) AS DATE) AS m, SUM(paid_amount) AS gmv
                      FROM orders WHERE status <> 'cancelled'
                        AND order_date BETWEEN DATE '2025-07-01' AND DATE '2025-09-30' GROUP BY 1),
                r AS (SELECT CAST(DATE_TRUNC('month', refund_date) AS DATE) AS m, SUM(refund_amount) AS refund_amount
                      FROM refunds WHERE refund_date BETWEEN DATE '2025-07-01' AND DATE '2025-09-30' GROUP BY 1)
           SELECT g.m, g.gmv, r.refund_amount FROM g JOIN r USING (m) ORDER BY 1""",
        ("period_month", "gmv", "refund_amount"),
        conventions={"reference_date": "2025-12-31", "grain_formats": {"month": "date"}},
        ordered=True,
    ),
    Case(
        "v2_refund_rate_filtered_by_metric_time_and_grouped_by_year",
        {
            "metrics": [],
            "calculations": [{"op": "ratio", "left": "refund_amount", "right": "gmv"}],
            "dimensions": ["period"],
            "time_grain": "year",
            "filters": [{"dimension": "period", "op": "gte", "values": ["2024-07-01"]}],
        },
        """WITH g AS (SELECT year(order_date) AS y, SUM(paid_amount) AS gmv FROM orders
                      WHERE status <> 'cancelled' AND order_date >= DATE '2024-07-01' GROUP BY 1),
                r AS (SELECT year(refund_date) AS y, SUM(refund_amount) AS refund_amount FROM refunds
                      WHERE refund_date >= DATE '2024-07-01' GROUP BY 1)
           SELECT g.y, r.refund_amount::DOUBLE / g.gmv FROM g JOIN r USING (y) ORDER BY 1""",
        ("period_year", "refund_amount_per_gmv"),
        conventions={"reference_date": "2025-12-31", "grain_formats": {"year": "YYYY"}},
        ordered=True,
    ),
]


def _catalog_for(case: Case, catalog: Catalog) -> Catalog:
    if not case.conventions:
        return catalog
    return v2_catalog(catalog, (PERIOD,), **case.conventions)


def _compile(case: Case, catalog: Catalog) -> CompiledQuery:
    query = case.query
    metrics = [*query.get("metrics", []), *(n for c in query.get("calculations", []) for n in (c["left"], c["right"]))]
    dimensions = [*query.get("dimensions", []), *(f["dimension"] for f in query.get("filters", []))]
    periods = [p.name for p in catalog.periods()] if case.conventions else None
    # The narrowed schema makes a model name a metric; a hand-written query with only calculations is a base query.
    model = metric_query_model(metrics, dimensions, periods=periods) if query.get("metrics") else MetricQuery
    return compile_metric_query(model.model_validate(query), catalog)


def test_there_are_cases_for_every_feature() -> None:
    assert len(CASES) >= 15
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_v2_query_passes_the_gate_and_matches_hand_written_sql(
    case: Case, catalog: Catalog, warehouse: duckdb.DuckDBPyConnection
) -> None:
    used = _catalog_for(case, catalog)
    compiled = _compile(case, used)
    assert compiled.columns == case.columns
    gated = check_sql(compiled.sql, _context(used))
    actual = warehouse.execute(gated.sql).df()
    expected = warehouse.execute(case.expected_sql).df()
    expected.columns = list(actual.columns)
    keys = [c.name for c in compiled.column_info if c.kind == "dimension"]
    _assert_same(actual, expected, keys, case.ordered)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_v2_postgres_rendering_parses_back_and_runs_the_same(
    case: Case, catalog: Catalog, warehouse: duckdb.DuckDBPyConnection
) -> None:
    used = _catalog_for(case, catalog)
    compiled = _compile(case, used)
    postgres = compiled.to_sql("postgres")
    tree = sqlglot.parse_one(postgres, read="postgres")
    assert isinstance(tree, exp.Select)
    assert tuple(s.alias_or_name for s in tree.selects) == compiled.columns
    check_sql(compiled.sql, _context(used, "postgres"))
    keys = [c.name for c in compiled.column_info if c.kind == "dimension"]
    _assert_same(warehouse.execute(tree.sql("duckdb")).df(), warehouse.execute(compiled.sql).df(), keys, ordered=True)


def test_output_columns_carry_kind_unit_format_and_labels(catalog: Catalog) -> None:
    v2 = v2_catalog(catalog, (PERIOD,), reference_date="2025-12-31", grain_formats={"month": "YYYY-MM"})
    query = {
        "metrics": ["gmv", "refund_rate"],
        "calculations": [
            {"op": "ratio", "left": "gmv", "right": "order_count"},
            {"op": "difference", "left": "gmv", "right": "refund_amount"},
        ],
        "dimensions": ["period"],
        "time_grain": "month",
        "time_range": "last_quarter",
        "comparison": "year_over_year",
    }
    compiled = compile_metric_query(
        metric_query_model(["gmv", "refund_rate", "order_count", "refund_amount"], ["period"]).model_validate(query), v2
    )
    info = {c.name: c for c in compiled.column_info}
    assert [(c.name, c.kind) for c in compiled.column_info] == [
        ("period_month", "dimension"),
        ("gmv", "metric"),
        ("gmv_previous", "previous"),
        ("gmv_growth", "growth"),
        ("refund_rate", "metric"),
        ("refund_rate_previous", "previous"),
        ("refund_rate_growth", "growth"),
        ("gmv_per_order_count", "calculation"),
        ("gmv_per_order_count_previous", "previous"),
        ("gmv_per_order_count_growth", "growth"),
        ("gmv_minus_refund_amount", "calculation"),
        ("gmv_minus_refund_amount_previous", "previous"),
        ("gmv_minus_refund_amount_growth", "growth"),
    ]
    assert (info["period_month"].format, info["period_month"].grain) == ("YYYY-MM", "month")
    assert (info["period_month"].label_en, info["period_month"].label_zh) == ("Period (month)", "时间（月）")
    assert (info["gmv"].unit, info["gmv"].format, info["gmv"].label_zh) == ("CNY", "currency", "成交额")
    assert (info["gmv_previous"].unit, info["gmv_previous"].format) == ("CNY", "currency")
    assert info["gmv_previous"].label_en == "GMV (a year earlier)"
    assert (info["gmv_growth"].unit, info["gmv_growth"].format, info["gmv_growth"].source) == (None, "fraction", "gmv")
    assert info["refund_rate"].format == "fraction"  # a rate, as a fraction under rate_format: fraction
    assert (info["gmv_per_order_count"].unit, info["gmv_per_order_count"].format) == ("CNY/orders", "number")
    assert info["gmv_per_order_count"].label_en == "GMV per Order count"
    assert (info["gmv_minus_refund_amount"].unit, info["gmv_minus_refund_amount"].format) == ("CNY", "currency")
    assert {m.name for m in compiled.metrics} >= {"gmv", "refund_rate", "order_count", "refund_amount"}


def test_v1_catalogs_keep_percent_change_and_fraction_rates(catalog_v1: Catalog) -> None:
    query = metric_query_model(["refund_rate"], ["channel"]).model_validate(
        {
            "metrics": ["refund_rate"],
            "dimensions": ["channel"],
            "time_range": "last_month",
            "comparison": "period_over_period",
        }
    )
    info = {c.name: c for c in compile_metric_query(query, catalog_v1).column_info}
    assert (info["refund_rate"].format, info["refund_rate_change_pct"].kind) == ("fraction", "change_pct")
    assert info["refund_rate_change_pct"].format == "percent"
    assert info["channel"].format == "text"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            {"metrics": ["gmv"], "dimensions": ["region"], "comparison": "share_within_group"},
            "comparison",
            "needs two dimensions",
        ),
        (
            {
                "metrics": ["gmv"],
                "dimensions": ["region", "channel"],
                "comparison": "share_of_total",
                "comparison_output": "value_and_previous",
            },
            "comparison_output",
            "needs period_over_period or year_over_year",
        ),
        (
            {
                "calculations": [{"op": "ratio", "left": "gmv", "right": "order_count"}],
                "dimensions": ["region"],
                "comparison": "share_of_total",
            },
            "comparison",
            "Calculation `gmv_per_order_count` is a ratio",
        ),
        (
            {"calculations": [{"op": "ratio", "left": "gmv", "right": "sales"}]},
            "calculations[0].right",
            "Unknown metric `sales`",
        ),
        (
            {"calculations": [{"op": "ratio", "left": "gmv", "right": "new_users"}], "dimensions": ["region"]},
            "dimensions[0]",
            "Metric `new_users` cannot be grouped by `region`",
        ),
        (
            {"calculations": [{"op": "ratio", "left": "gmv", "right": "order_count"}] * 2},
            "calculations",
            "appears twice",
        ),
        (
            {"metrics": ["gmv"], "order_by": [{"target": "gmv_per_order_count"}]},
            "order_by[0].target",
            "metrics, calculations or dimensions",
        ),
    ],
)
def test_v2_query_errors(catalog: Catalog, query: dict[str, Any], field: str, message: str) -> None:
    v2 = v2_catalog(catalog, reference_date="2025-12-31")
    with pytest.raises(MetricQueryError, match=message) as info:
        compile_metric_query(MetricQuery.model_validate(query), v2)
    assert info.value.field == field


def test_a_period_the_catalog_does_not_have_is_refused(catalog: Catalog) -> None:
    v2 = v2_catalog(catalog, reference_date="2025-12-31", periods=["last_month", "last_3_months"])
    query = metric_query_model(["gmv"], [], periods=["last_6_months"]).model_validate(
        {"metrics": ["gmv"], "time_range": "last_6_months"}
    )
    with pytest.raises(MetricQueryError, match="Unknown period `last_6_months`: did you mean `last_3_months`") as info:
        compile_metric_query(query, v2)
    assert info.value.field == "time_range"
    # a standard name the catalog leaves out is refused too: the catalog's periods are the vocabulary
    with pytest.raises(MetricQueryError, match="Unknown period `this_year`"):
        compile_metric_query(MetricQuery.model_validate({"metrics": ["gmv"], "time_range": "this_year"}), v2)


def test_the_narrowed_model_offers_the_catalogs_periods(catalog: Catalog) -> None:
    v2 = v2_catalog(catalog, reference_date="2025-12-31", periods=["last_month", "h1"])
    model = metric_query_model(["gmv", "order_count"], ["region"], periods=[p.name for p in v2.periods()])
    schema = model.model_json_schema()
    names = next(b for b in schema["properties"]["time_range"]["anyOf"] if "enum" in b)["enum"]
    assert names == ["last_month", "h1", "all_time"]
    calculation = schema["$defs"]["Calculation"]["properties"]
    assert calculation["left"]["enum"] == calculation["right"]["enum"] == ["gmv", "order_count"]
    assert metric_query_model(["gmv"], []).model_json_schema()["properties"]["calculations"]["maxItems"] == 0
    with pytest.raises(ValidationError):
        model.model_validate({"metrics": ["gmv"], "time_range": "this_year"})
    assert "metrics" in schema["required"]  # the model states what it shows: at least one metric
    assert schema["properties"]["metrics"]["minItems"] == 1
    calculations = [{"op": "difference", "left": "gmv", "right": "order_count"}]
    with pytest.raises(ValidationError):
        model.model_validate({"calculations": calculations})
    with pytest.raises(ValidationError):
        model.model_validate({"metrics": [], "calculations": calculations})
    query = model.model_validate({"metrics": ["gmv"], "calculations": calculations})
    assert isinstance(query, MetricQuery)
    assert query.metrics == ("gmv",)
    assert query.calculations[0].name == "gmv_minus_order_count"


def test_comparison_output_is_ignored_without_a_comparison(catalog: Catalog) -> None:
    query = MetricQuery.model_validate(
        {"metrics": ["gmv"], "dimensions": ["region"], "comparison_output": "change_only"}
    )
    assert compile_metric_query(query, catalog).columns == ("region", "gmv")
