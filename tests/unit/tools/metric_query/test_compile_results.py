"""Compiled metric queries, run through the SQL gate on a real demo DuckDB, against hand-written SQL.

Every case compiles a query (validated through the narrowed model a served model would fill), passes the SQL
through ``tools.sql_gate.check_sql`` with a context built from the catalog, executes it, and compares the
RESULT with an independently written query's result. The demo catalog's reference date is 2025-12-31.

Each case runs on the demo catalog as a version 1 catalog (growth in percent as ``<metric>_change_pct``, exactly
as before version 2) and as the version 2 catalog it is (growth as a fraction, ``<metric>_growth``): the
expected percent column is divided by 100 and renamed for the latter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from knowledge.catalog import Catalog
from tools.metric_query import CompiledQuery, compile_metric_query, metric_query_model
from tools.sql_gate import GateContext, check_sql

ORDERS_BY_REGION = """
    FROM orders o JOIN cities c ON c.city_id = o.city_id JOIN regions r ON r.region_id = c.region_id"""


@dataclass(frozen=True)
class Case:
    id: str
    query: dict[str, Any]
    expected_sql: str
    ordered: bool = False  # compare row order too (time series, explicit order, top-N)


CASES = [
    Case(
        "total_gmv",
        {"metrics": ["gmv"]},
        "SELECT SUM(paid_amount) AS gmv FROM orders WHERE status <> 'cancelled'",
    ),
    Case(
        "gmv_by_region_last_month",
        {"metrics": ["gmv"], "dimensions": ["region"], "time_range": "last_month"},
        f"""SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
            WHERE o.status <> 'cancelled' AND o.order_date BETWEEN DATE '2025-11-01' AND DATE '2025-11-30'
            GROUP BY r.region_name""",
    ),
    Case(
        "gmv_by_month_last_12_months",
        {"metrics": ["gmv"], "dimensions": ["order_date"], "time_grain": "month", "time_range": "last_12_months"},
        """SELECT CAST(DATE_TRUNC('month', order_date) AS DATE) AS order_date_month, SUM(paid_amount) AS gmv
           FROM orders WHERE status <> 'cancelled' AND order_date BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'
           GROUP BY 1 ORDER BY 1""",
        ordered=True,
    ),
    Case(
        "refund_rate_by_channel",
        {"metrics": ["refund_rate"], "dimensions": ["channel"]},
        """WITH s AS (SELECT ch.channel_code AS channel, SUM(o.paid_amount) AS gmv
                      FROM orders o JOIN channels ch ON ch.channel_id = o.channel_id
                      WHERE o.status <> 'cancelled' GROUP BY 1),
                r AS (SELECT ch.channel_code AS channel, SUM(rf.refund_amount) AS refunded
                      FROM refunds rf JOIN orders o ON o.order_id = rf.order_id
                      JOIN channels ch ON ch.channel_id = o.channel_id GROUP BY 1)
           SELECT s.channel, r.refunded::DOUBLE / s.gmv AS refund_rate FROM s JOIN r ON r.channel = s.channel
           ORDER BY 2 DESC""",
        ordered=True,
    ),
    Case(
        "gmv_and_refunds_by_region_this_year",
        {"metrics": ["gmv", "refund_amount"], "dimensions": ["region"], "time_range": "this_year"},
        f"""SELECT g.region, g.gmv, rf.refund_amount FROM
              (SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
               WHERE o.status <> 'cancelled' AND year(o.order_date) = 2025 GROUP BY 1) g
            JOIN
              (SELECT r.region_name AS region, SUM(x.refund_amount) AS refund_amount
               FROM refunds x JOIN orders o ON o.order_id = x.order_id
               JOIN cities c ON c.city_id = o.city_id JOIN regions r ON r.region_id = c.region_id
               WHERE year(x.refund_date) = 2025 GROUP BY 1) rf
            ON rf.region = g.region""",
    ),
    Case(
        "gmv_by_channel_in_east_china_last_quarter",
        {
            "metrics": ["gmv"],
            "dimensions": ["channel"],
            "time_range": "last_quarter",
            "filters": [{"dimension": "region", "op": "eq", "values": ["华东"]}],
        },
        """SELECT ch.channel_code AS channel, SUM(o.paid_amount) AS gmv
           FROM orders o JOIN channels ch ON ch.channel_id = o.channel_id
           JOIN cities c ON c.city_id = o.city_id JOIN regions r ON r.region_id = c.region_id
           WHERE o.status <> 'cancelled' AND r.region_code = 'east'
             AND o.order_date >= DATE '2025-07-01' AND o.order_date < DATE '2025-10-01'
           GROUP BY 1""",
    ),
    Case(
        "order_count_in_regions_named_in_two_languages",
        {
            "metrics": ["order_count"],
            "dimensions": ["region"],
            "filters": [{"dimension": "region", "op": "in", "values": ["华东", "North China", "south china"]}],
        },
        f"""SELECT r.region_name AS region, COUNT(*) AS order_count {ORDERS_BY_REGION}
            WHERE o.status <> 'cancelled' AND r.region_code IN ('east', 'north', 'south') GROUP BY 1""",
    ),
    Case(
        "top_10_products_by_units_last_quarter",
        {
            "metrics": ["items_sold"],
            "dimensions": ["product"],
            "time_range": "last_quarter",
            "order_by": [{"target": "items_sold", "direction": "desc"}],
            "limit": 10,
        },
        """SELECT p.product_name AS product, SUM(oi.quantity) AS items_sold
           FROM order_items oi JOIN orders o ON o.order_id = oi.order_id
           JOIN products p ON p.product_id = oi.product_id
           WHERE o.status <> 'cancelled' AND o.order_date >= DATE '2025-07-01' AND o.order_date < DATE '2025-10-01'
           GROUP BY 1 ORDER BY 2 DESC, 1 ASC LIMIT 10""",
        ordered=True,
    ),
    Case(
        "top_5_brands_on_live_stream_named_in_chinese",
        {
            "metrics": ["item_sales"],
            "dimensions": ["brand"],
            "time_range": "this_year",
            "filters": [{"dimension": "channel", "values": ["直播"]}],
            "limit": 5,
        },
        """SELECT p.brand, SUM(oi.line_amount) AS item_sales
           FROM order_items oi JOIN orders o ON o.order_id = oi.order_id
           JOIN products p ON p.product_id = oi.product_id JOIN channels ch ON ch.channel_id = o.channel_id
           WHERE o.status <> 'cancelled' AND ch.channel_code = 'live_stream' AND year(o.order_date) = 2025
           GROUP BY 1 ORDER BY 2 DESC LIMIT 5""",
        ordered=True,
    ),
    Case(
        "gmv_by_region_last_month_vs_the_month_before",
        {"metrics": ["gmv"], "dimensions": ["region"], "time_range": "last_month", "comparison": "period_over_period"},
        f"""WITH cur AS (SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
                         WHERE o.status <> 'cancelled' AND o.order_date >= DATE '2025-11-01'
                           AND o.order_date < DATE '2025-12-01' GROUP BY 1),
                 prev AS (SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
                          WHERE o.status <> 'cancelled' AND o.order_date >= DATE '2025-10-01'
                            AND o.order_date < DATE '2025-11-01' GROUP BY 1)
            SELECT cur.region, cur.gmv, prev.gmv AS gmv_previous,
                   (cur.gmv - prev.gmv) / prev.gmv * 100 AS gmv_change_pct
            FROM cur LEFT JOIN prev ON prev.region = cur.region""",
    ),
    Case(
        "gmv_by_month_this_year_vs_last_year",
        {
            "metrics": ["gmv"],
            "dimensions": ["order_date"],
            "time_grain": "month",
            "time_range": "this_year",
            "comparison": "year_over_year",
        },
        """WITH m AS (SELECT CAST(DATE_TRUNC('month', order_date) AS DATE) AS month, SUM(paid_amount) AS gmv
                      FROM orders WHERE status <> 'cancelled' GROUP BY 1)
           SELECT cur.month AS order_date_month, cur.gmv, prev.gmv AS gmv_previous,
                  (cur.gmv / prev.gmv - 1) * 100 AS gmv_change_pct
           FROM m cur LEFT JOIN m prev ON prev.month = cur.month - INTERVAL 1 YEAR
           WHERE cur.month >= DATE '2025-01-01' ORDER BY 1""",
        ordered=True,
    ),
    Case(
        "weekly_orders_vs_the_week_before",
        {
            "metrics": ["order_count"],
            "dimensions": ["order_date"],
            "time_grain": "week",
            "time_range": {"start": "2025-11-03", "end": "2025-11-30"},
            "comparison": "period_over_period",
        },
        """WITH w AS (SELECT CAST(DATE_TRUNC('week', order_date) AS DATE) AS week, COUNT(*) AS n FROM orders
                      WHERE status <> 'cancelled' AND order_date BETWEEN DATE '2025-10-27' AND DATE '2025-11-30'
                      GROUP BY 1),
                l AS (SELECT week, n, LAG(n) OVER (ORDER BY week) AS p FROM w)
           SELECT week AS order_date_week, n AS order_count, p AS order_count_previous,
                  100.0 * (n - p) / p AS order_count_change_pct
           FROM l WHERE week >= DATE '2025-11-03' ORDER BY 1""",
        ordered=True,
    ),
    Case(
        "paying_users_by_gender_last_month_vs_a_year_earlier",
        {
            "metrics": ["paying_users"],
            "dimensions": ["gender"],
            "time_range": "last_month",
            "comparison": "year_over_year",
        },
        """WITH b AS (SELECT u.gender, year(o.order_date) AS y, COUNT(DISTINCT o.user_id) AS n
                      FROM orders o JOIN users u ON u.user_id = o.user_id
                      WHERE o.status <> 'cancelled' AND month(o.order_date) = 11 GROUP BY 1, 2)
           SELECT cur.gender, cur.n AS paying_users, prev.n AS paying_users_previous,
                  100.0 * (cur.n - prev.n) / prev.n AS paying_users_change_pct
           FROM b cur LEFT JOIN b prev ON prev.gender = cur.gender AND prev.y = 2024 WHERE cur.y = 2025""",
    ),
    Case(
        "order_share_by_channel_this_year",
        {
            "metrics": ["order_count"],
            "dimensions": ["channel"],
            "time_range": "this_year",
            "comparison": "share_of_total",
        },
        """SELECT channel, n AS order_count, n / SUM(n) OVER () AS order_count_share FROM
             (SELECT ch.channel_code AS channel, COUNT(*) AS n FROM orders o
              JOIN channels ch ON ch.channel_id = o.channel_id
              WHERE o.status <> 'cancelled' AND o.order_date >= DATE '2025-01-01' GROUP BY 1)""",
    ),
    Case(
        "gmv_share_of_each_region_within_each_quarter",
        {
            "metrics": ["gmv"],
            "dimensions": ["order_date", "region"],
            "time_grain": "quarter",
            "time_range": "this_year",
            "comparison": "share_of_total",
        },
        f"""SELECT q AS order_date_quarter, region, gmv, gmv / SUM(gmv) OVER (PARTITION BY q) AS gmv_share FROM
              (SELECT CAST(DATE_TRUNC('quarter', o.order_date) AS DATE) AS q, r.region_name AS region,
                      SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
               WHERE o.status <> 'cancelled' AND year(o.order_date) = 2025 GROUP BY 1, 2)
            ORDER BY 1, 2""",
        ordered=True,
    ),
    Case(
        "aov_by_city_tier_this_year",
        {"metrics": ["aov"], "dimensions": ["city_tier"], "time_range": "this_year"},
        """SELECT c.tier AS city_tier, SUM(o.paid_amount) / COUNT(o.order_id) AS aov
           FROM orders o JOIN cities c ON c.city_id = o.city_id
           WHERE o.status <> 'cancelled' AND year(o.order_date) = 2025 GROUP BY 1""",
    ),
    Case(
        "cancellation_rate_by_quarter_this_year",
        {
            "metrics": ["cancellation_rate"],
            "dimensions": ["order_date"],
            "time_grain": "quarter",
            "time_range": "this_year",
        },
        """SELECT CAST(DATE_TRUNC('quarter', order_date) AS DATE) AS order_date_quarter,
                  COUNT(*) FILTER (WHERE status = 'cancelled') / COUNT(*) AS cancellation_rate
           FROM orders WHERE year(order_date) = 2025 GROUP BY 1 ORDER BY 1""",
        ordered=True,
    ),
    Case(
        "new_users_per_day_last_30_days",
        {
            "metrics": ["new_users"],
            "dimensions": ["registration_date"],
            "time_grain": "day",
            "time_range": "last_30_days",
        },
        """SELECT registered_date AS registration_date_day, COUNT(*) AS new_users FROM users
           WHERE registered_date > DATE '2025-12-01' AND registered_date <= DATE '2025-12-31' GROUP BY 1 ORDER BY 1""",
        ordered=True,
    ),
    Case(
        "net_gmv_by_payment_method_in_2024",
        {
            "metrics": ["net_gmv"],
            "dimensions": ["payment_method"],
            "time_range": {"start": "2024-01-01", "end": "2024-12-31"},
        },
        """WITH sales AS (SELECT o.payment_method, SUM(o.paid_amount) AS gmv FROM orders AS o
                          WHERE o.status <> 'cancelled' AND year(o.order_date) = 2024 GROUP BY 1),
                returned AS (SELECT o.payment_method, SUM(rf.refund_amount) AS refund_amount FROM refunds AS rf
                             JOIN orders AS o ON rf.order_id = o.order_id WHERE year(rf.refund_date) = 2024 GROUP BY 1)
           SELECT s.payment_method, s.gmv - COALESCE(rt.refund_amount, 0) AS net_gmv
           FROM sales AS s LEFT JOIN returned AS rt ON rt.payment_method = s.payment_method""",
    ),
    Case(
        "arppu_by_age_band_and_gender",
        {"metrics": ["arppu"], "dimensions": ["age_band", "gender"]},
        """SELECT u.age_band, u.gender, SUM(o.paid_amount) / COUNT(DISTINCT o.user_id) AS arppu
           FROM orders o JOIN users u ON o.user_id = u.user_id WHERE o.status <> 'cancelled' GROUP BY 1, 2""",
    ),
    Case(
        "refunds_by_reason_last_month_except_cash",
        {
            "metrics": ["refund_amount"],
            "dimensions": ["refund_reason"],
            "time_range": "last_month",
            "filters": [{"dimension": "payment_method", "op": "ne", "values": ["cash"]}],
        },
        """SELECT rf.reason AS refund_reason, SUM(rf.refund_amount) AS refund_amount
           FROM refunds rf JOIN orders o ON o.order_id = rf.order_id
           WHERE o.payment_method <> 'cash'
             AND rf.refund_date >= DATE '2025-11-01' AND rf.refund_date < DATE '2025-12-01'
           GROUP BY 1""",
    ),
    Case(
        "first_three_regions_alphabetically_without_refunded_orders",
        {
            "metrics": ["gmv"],
            "dimensions": ["region"],
            "filters": [{"dimension": "order_status", "op": "not_in", "values": ["refunded"]}],
            "order_by": [{"target": "region", "direction": "asc"}],
            "limit": 3,
        },
        f"""SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv {ORDERS_BY_REGION}
            WHERE o.status NOT IN ('cancelled', 'refunded') GROUP BY 1 ORDER BY 1 LIMIT 3""",
        ordered=True,
    ),
    Case(
        "units_per_order_by_channel_this_month",
        {"metrics": ["items_per_order"], "dimensions": ["channel"], "time_range": "this_month"},
        """SELECT ch.channel_code AS channel,
                  SUM(oi.quantity)::DOUBLE / (SELECT COUNT(*) FROM orders o2 WHERE o2.channel_id = ch.channel_id
                      AND o2.status <> 'cancelled' AND o2.order_date >= DATE '2025-12-01') AS items_per_order
           FROM order_items oi JOIN orders o ON o.order_id = oi.order_id
           JOIN channels ch ON ch.channel_id = o.channel_id
           WHERE o.status <> 'cancelled' AND o.order_date >= DATE '2025-12-01' GROUP BY ch.channel_id, 1""",
    ),
    Case(
        "three_metrics_from_three_tables_this_year",
        {"metrics": ["gmv", "refund_count", "new_users"], "time_range": "this_year"},
        """SELECT (SELECT SUM(paid_amount) FROM orders WHERE status <> 'cancelled' AND year(order_date) = 2025) AS gmv,
                  (SELECT COUNT(*) FROM refunds WHERE year(refund_date) = 2025) AS refund_count,
                  (SELECT COUNT(*) FROM users WHERE year(registered_date) = 2025) AS new_users""",
    ),
    Case(
        "last_two_quarters_of_refunds_vs_the_quarter_before",
        {
            "metrics": ["refund_count"],
            "dimensions": ["order_date"],
            "time_grain": "quarter",
            "comparison": "period_over_period",
            "order_by": [{"target": "order_date", "direction": "desc"}],
            "limit": 2,
        },
        """WITH q AS (SELECT CAST(DATE_TRUNC('quarter', o.order_date) AS DATE) AS quarter, COUNT(*) AS n
                      FROM refunds rf JOIN orders o ON o.order_id = rf.order_id GROUP BY 1),
                l AS (SELECT quarter, n, LAG(n) OVER (ORDER BY quarter) AS p FROM q)
           SELECT quarter AS order_date_quarter, n AS refund_count, p AS refund_count_previous,
                  100.0 * (n - p) / p AS refund_count_change_pct
           FROM l ORDER BY 1 DESC LIMIT 2""",
        ordered=True,
    ),
    Case(
        "gmv_in_singles_day_week_by_city_tier_gte_filter",
        {
            "metrics": ["gmv", "paying_users"],
            "dimensions": ["city_tier"],
            "filters": [
                {"dimension": "order_date", "op": "gte", "values": ["2025-11-10"]},
                {"dimension": "order_date", "op": "lte", "values": ["2025-11-16"]},
            ],
        },
        """SELECT c.tier AS city_tier, SUM(o.paid_amount) AS gmv, COUNT(DISTINCT o.user_id) AS paying_users
           FROM orders o JOIN cities c ON c.city_id = o.city_id
           WHERE o.status <> 'cancelled' AND o.order_date BETWEEN DATE '2025-11-10' AND DATE '2025-11-16' GROUP BY 1""",
    ),
]


def _context(catalog: Catalog, target: str = "duckdb") -> GateContext:
    return GateContext(schema=catalog.schema_mapping(), source_dialect=catalog.warehouse.dialect, target_dialect=target)


def _compile(case: Case, catalog: Catalog) -> CompiledQuery:
    metrics = case.query["metrics"]
    dimensions = [*case.query.get("dimensions", []), *(f["dimension"] for f in case.query.get("filters", []))]
    model = metric_query_model(metrics, dimensions)
    return compile_metric_query(model.model_validate(case.query), catalog)


def _normalized(frame: pd.DataFrame, keys: list[str], ordered: bool) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object and column not in keys:
            frame[column] = pd.to_numeric(frame[column])
        elif pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype("float64")
    if not ordered and keys:
        frame = frame.sort_values(keys, na_position="last")
    return frame.reset_index(drop=True)


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], ordered: bool) -> None:
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) > 0, "a case that returns no rows proves nothing; pick a range with data"
    pd.testing.assert_frame_equal(
        _normalized(actual, keys, ordered), _normalized(expected, keys, ordered), check_dtype=False, rtol=1e-9
    )


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 15
    assert len({c.id for c in CASES}) == len(CASES)


def _as_growth(frame: pd.DataFrame) -> pd.DataFrame:
    """A v1 result's ``<m>_change_pct`` columns (percent) as v2's ``<m>_growth`` (a fraction)."""
    frame = frame.copy()
    renamed: dict[str, str] = {}
    for column in frame.columns:
        if str(column).endswith("_change_pct"):
            frame[column] = pd.to_numeric(frame[column]) / 100
            renamed[column] = str(column).removesuffix("_change_pct") + "_growth"
    return frame.rename(columns=renamed)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_compiled_query_passes_the_gate_and_matches_hand_written_sql(
    case: Case, version: int, catalog: Catalog, catalog_v1: Catalog, warehouse: duckdb.DuckDBPyConnection
) -> None:
    catalog = catalog_v1 if version == 1 else catalog
    assert catalog.version == version
    compiled = _compile(case, catalog)
    gated = check_sql(compiled.sql, _context(catalog))
    actual = warehouse.execute(gated.sql).df()
    expected = warehouse.execute(case.expected_sql).df()
    if version == 1:
        expected.columns = list(actual.columns) if len(expected.columns) == len(actual.columns) else expected.columns
    else:
        v1_columns = list(_compile(case, catalog_v1).columns)
        expected.columns = v1_columns if len(expected.columns) == len(v1_columns) else expected.columns
        expected = _as_growth(expected)
    assert list(actual.columns) == list(compiled.columns)
    keys = [c.name for c in compiled.column_info if c.kind == "dimension"]
    _assert_same(actual, expected, keys, case.ordered)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_postgres_rendering_parses_back_to_the_same_query(
    case: Case, version: int, catalog: Catalog, catalog_v1: Catalog, warehouse: duckdb.DuckDBPyConnection
) -> None:
    catalog = catalog_v1 if version == 1 else catalog
    compiled = _compile(case, catalog)
    postgres = compiled.to_sql("postgres")
    tree = sqlglot.parse_one(postgres, read="postgres")
    assert isinstance(tree, exp.Select)
    assert [s.alias_or_name for s in tree.selects] == list(compiled.columns)
    assert len(list(tree.find_all(exp.CTE))) == len(list(compiled.expression.find_all(exp.CTE)))
    if compiled.query.time_grain is not None:
        truncs = list(tree.find_all(exp.DateTrunc, exp.TimestampTrunc))
        assert truncs
        assert {t.args["unit"].name.lower() for t in truncs} == {compiled.query.time_grain}
    assert re.search(r"INTERVAL '\d+ QUARTER", postgres) is None  # PostgreSQL intervals have no QUARTER unit
    check_sql(compiled.sql, _context(catalog, "postgres"))
    # The PostgreSQL text, read back and run on DuckDB, gives the same rows as the DuckDB text.
    keys = [c.name for c in compiled.column_info if c.kind == "dimension"]
    _assert_same(warehouse.execute(tree.sql("duckdb")).df(), warehouse.execute(compiled.sql).df(), keys, ordered=True)


def test_timestamp_time_dimension_truncates_as_a_timestamp(
    catalog: Catalog, warehouse: duckdb.DuckDBPyConnection
) -> None:
    data = catalog.model_dump()
    for dimension in data["dimensions"]:
        if dimension["name"] == "order_date":
            dimension["sql"] = "orders.order_time"
    by_time = Catalog.model_validate(data)
    query = metric_query_model(["gmv"], ["order_date"]).model_validate(
        {"metrics": ["gmv"], "dimensions": ["order_date"], "time_grain": "week", "time_range": "last_quarter"}
    )
    from_time = compile_metric_query(query, by_time)
    from_date = compile_metric_query(query, catalog)
    assert from_time.expression.find(exp.TimestampTrunc) is not None
    assert from_date.expression.find(exp.DateTrunc) is not None
    context = _context(catalog)
    actual = warehouse.execute(check_sql(from_time.sql, context).sql).df()
    expected = warehouse.execute(check_sql(from_date.sql, context).sql).df()
    _assert_same(actual, expected, ["order_date_week"], ordered=True)
    assert len(actual) == 14  # 2025-06-30 .. 2025-09-29: the weeks touching July to September
