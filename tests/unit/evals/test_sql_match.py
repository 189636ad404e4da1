"""Exact match of normalised SQL trees: aliases, casing, conjunct order, qualification, unparsable input."""

from __future__ import annotations

import pytest

from evals.scorers import normalize_sql, sql_exact_match

SCHEMA = {
    "orders": {"order_id": "BIGINT", "city_id": "INT", "status": "VARCHAR", "paid_amount": "DECIMAL(12,2)"},
    "cities": {"city_id": "INT", "city_name": "VARCHAR", "tier": "VARCHAR"},
}

GOLD = (
    "SELECT c.city_name AS city, SUM(o.paid_amount) AS gmv FROM orders AS o "
    "JOIN cities AS c ON o.city_id = c.city_id WHERE o.status <> 'cancelled' GROUP BY c.city_name "
    "ORDER BY gmv DESC LIMIT 5"
)


@pytest.mark.parametrize(
    "predicted",
    [
        GOLD,
        # keyword and identifier casing, != for <>, other output aliases, no table aliases, GROUP BY ordinal
        "select CITIES.CITY_NAME, sum(ORDERS.PAID_AMOUNT) as total from ORDERS join CITIES "
        "on ORDERS.CITY_ID = CITIES.CITY_ID where ORDERS.STATUS != 'cancelled' group by 1 order by total desc limit 5",
        # other table aliases, ORDER BY the expression instead of its alias
        "SELECT x.city_name, SUM(y.paid_amount) FROM orders y JOIN cities x ON y.city_id = x.city_id "
        "WHERE y.status <> 'cancelled' GROUP BY x.city_name ORDER BY SUM(y.paid_amount) DESC LIMIT 5",
    ],
)
def test_equivalent_spellings_match(predicted: str) -> None:
    assert sql_exact_match(predicted, GOLD, schema=SCHEMA)


def test_unqualified_columns_resolve_through_the_schema() -> None:
    predicted = (
        "SELECT city_name, SUM(paid_amount) FROM orders JOIN cities ON orders.city_id = cities.city_id "
        "WHERE status <> 'cancelled' GROUP BY city_name ORDER BY 2 DESC LIMIT 5"
    )
    assert sql_exact_match(predicted, GOLD, schema=SCHEMA)


def test_conjunct_and_disjunct_order_is_ignored() -> None:
    gold = "SELECT a FROM t WHERE x = 1 AND (y = 2 OR z = 3) AND w > 0"
    assert sql_exact_match("select a from t where w > 0 and (z = 3 or y = 2) and x = 1", gold)


@pytest.mark.parametrize(
    "predicted",
    [
        GOLD.replace("'cancelled'", "'refunded'"),
        GOLD.replace("LIMIT 5", "LIMIT 10"),
        GOLD.replace("DESC", "ASC"),
        GOLD.replace("SUM(o.paid_amount) AS gmv", "AVG(o.paid_amount) AS gmv").replace("ORDER BY gmv", "ORDER BY 2"),
        GOLD.replace("c.city_name", "c.tier"),
    ],
)
def test_different_queries_do_not_match(predicted: str) -> None:
    assert not sql_exact_match(predicted, GOLD, schema=SCHEMA)


def test_string_literal_case_matters() -> None:
    assert not sql_exact_match("SELECT a FROM t WHERE s = 'Cancelled'", "SELECT a FROM t WHERE s = 'cancelled'")


def test_subquery_aliases_are_kept_apart_from_table_names() -> None:
    gold = "SELECT t.n FROM (SELECT COUNT(*) AS n FROM orders) AS t"
    assert sql_exact_match("select T.N from (select count(*) as n from ORDERS) t", gold, schema=SCHEMA)
    assert not sql_exact_match("SELECT t.n FROM (SELECT COUNT(*) AS n FROM cities) AS t", gold, schema=SCHEMA)


def test_self_join_keeps_its_aliases() -> None:
    gold = "SELECT a.city_id FROM cities AS a JOIN cities AS b ON a.tier = b.tier"
    assert sql_exact_match("SELECT x.city_id FROM cities x JOIN cities y ON x.tier = y.tier", gold, schema=SCHEMA) is (
        False
    )
    assert sql_exact_match(gold.lower(), gold, schema=SCHEMA)


@pytest.mark.parametrize(
    "broken",
    ["SELEC city FROM", "SELECT (", "", "   ", "SELECT 1; SELECT 2", "DROP", "SELECT " + "(" * 3000 + "1" + ")" * 3000],
)
def test_unparsable_or_multi_statement_sql_never_matches_and_never_raises(broken: str) -> None:
    assert normalize_sql(broken) is None
    assert not sql_exact_match(broken, GOLD, schema=SCHEMA)
    assert not sql_exact_match(GOLD, broken, schema=SCHEMA)
    assert not sql_exact_match(broken, broken)


def test_unknown_column_falls_back_to_unqualified_normalisation() -> None:
    sql = "SELECT nope FROM orders"
    assert normalize_sql(sql, schema=SCHEMA) is not None
    assert sql_exact_match("select NOPE from ORDERS", sql, schema=SCHEMA)


def test_dialect_is_used_for_parsing() -> None:
    assert sql_exact_match("SELECT `a` FROM `t`", "SELECT a FROM t", dialect="mysql")
