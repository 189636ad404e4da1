"""The warehouse runners on a real PostgreSQL: same answers as DuckDB, no writes, statement timeouts.

A small seeded demo warehouse is built in DuckDB, copied table by table into a fresh PostgreSQL database, and the
same questions (written in DuckDB SQL, transpiled to PostgreSQL by sqlglot like the gate does) are asked of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlglot

from knowledge.warehouse import build_demo_warehouse
from kubeai.errors import WarehouseError
from tests.integration.postgres_server import PostgresServer, copy_duckdb_to_postgres
from tools.warehouse import PostgresRunner, SQLAlchemyRunner, SQLRunner, open_runner

pytestmark = pytest.mark.integration

QUESTIONS = (
    # GMV by month in 2024
    "SELECT date_trunc('month', order_date) AS month, sum(paid_amount) AS gmv, count(*) AS orders "
    "FROM orders WHERE order_date < DATE '2025-01-01' GROUP BY 1 ORDER BY 1",
    # Orders by region, Chinese names
    "SELECT r.region_name, count(*) AS orders, avg(o.paid_amount) AS aov FROM orders o "
    "JOIN cities c ON o.city_id = c.city_id JOIN regions r ON c.region_id = r.region_id GROUP BY 1 ORDER BY 1",
    # A Chinese literal in a filter
    "SELECT count(*) AS orders FROM orders o JOIN cities c ON o.city_id = c.city_id "
    "JOIN regions r ON c.region_id = r.region_id WHERE r.region_name = '华东'",
    # Refund rate by category and channel, with NULL-safe division
    "SELECT cat.category_name, ch.channel_code, count(DISTINCT rf.order_id) * 1.0 / count(DISTINCT o.order_id) AS rate "
    "FROM orders o JOIN order_items oi ON oi.order_id = o.order_id JOIN products p ON p.product_id = oi.product_id "
    "JOIN categories cat ON cat.category_id = p.category_id JOIN channels ch ON ch.channel_id = o.channel_id "
    "LEFT JOIN refunds rf ON rf.order_id = o.order_id GROUP BY 1, 2 ORDER BY 1, 2",
    # Raw rows with dates, timestamps, decimals and text
    "SELECT * FROM orders ORDER BY order_id LIMIT 200",
)


@dataclass(frozen=True)
class Warehouses:
    duckdb: SQLRunner
    postgres: SQLRunner
    postgres_url: str
    server: PostgresServer


@pytest.fixture(scope="module")
def warehouses(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouses]:
    duck_path = tmp_path_factory.mktemp("warehouse") / "demo.duckdb"
    build_demo_warehouse(duck_path, orders=3_000, seed=11)
    url = postgres_server.create_database("warehouse_demo")
    copy_duckdb_to_postgres(duck_path, url)
    duck, pg = open_runner(str(duck_path)), open_runner(url)
    try:
        yield Warehouses(duckdb=duck, postgres=pg, postgres_url=url, server=postgres_server)
    finally:
        duck.close()
        pg.close()


def _both(w: Warehouses, sql: str, *, max_rows: int = 10_000) -> tuple[pd.DataFrame, pd.DataFrame]:
    pg_sql = sqlglot.transpile(sql, read="duckdb", write="postgres")[0]
    duck = w.duckdb.run(sql, max_rows=max_rows, timeout_s=30)
    pg = w.postgres.run(pg_sql, max_rows=max_rows, timeout_s=30)
    assert not duck.truncated
    assert not pg.truncated
    return duck.frame, pg.frame


def test_open_runner_picks_psycopg_for_postgres_urls(warehouses: Warehouses) -> None:
    assert isinstance(warehouses.postgres, PostgresRunner)
    assert warehouses.postgres.dialect == "postgres"
    assert warehouses.duckdb.dialect == "duckdb"


@pytest.mark.parametrize("sql", QUESTIONS)
def test_postgres_answers_equal_duckdb(warehouses: Warehouses, sql: str) -> None:
    duck, pg = _both(warehouses, sql)
    assert len(duck) > 0
    assert list(duck.columns) == list(pg.columns)
    # Integer sums are HUGEINT in DuckDB and NUMERIC in PostgreSQL, so dtypes may differ; values may not.
    pd.testing.assert_frame_equal(duck, pg, check_dtype=False, rtol=1e-9)


def test_row_cap_and_truncation_flag(warehouses: Warehouses) -> None:
    capped = warehouses.postgres.run("SELECT order_id FROM orders ORDER BY order_id", max_rows=10, timeout_s=10)
    assert capped.truncated
    assert capped.frame["order_id"].tolist() == list(range(1, 11))
    whole = warehouses.postgres.run("SELECT order_id FROM orders", max_rows=3_000, timeout_s=10)
    assert not whole.truncated
    assert len(whole.frame) == 3_000


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE stolen (x int)",
        "INSERT INTO regions VALUES (99, 'XX', '火星', 'Mars')",
        "UPDATE orders SET paid_amount = 0",
        "DELETE FROM refunds",
        "SELECT nextval('counter')",
        "SELECT setval('counter', 42)",
    ],
)
def test_writes_fail_and_change_nothing(warehouses: Warehouses, sql: str) -> None:
    before = warehouses.server.psql_run(
        "SELECT (SELECT count(*) FROM regions), (SELECT count(*) FROM refunds), (SELECT sum(paid_amount) FROM orders),"
        " (SELECT last_value FROM counter), to_regclass('stolen') IS NULL",
        database="warehouse_demo",
    )
    with pytest.raises(WarehouseError, match="PostgreSQL rejected the query"):
        warehouses.postgres.run(sql, max_rows=10, timeout_s=10)
    after = warehouses.server.psql_run(
        "SELECT (SELECT count(*) FROM regions), (SELECT count(*) FROM refunds), (SELECT sum(paid_amount) FROM orders),"
        " (SELECT last_value FROM counter), to_regclass('stolen') IS NULL",
        database="warehouse_demo",
    )
    assert after == before


def test_sequence_write_is_refused_by_the_read_only_transaction(warehouses: Warehouses) -> None:
    with pytest.raises(WarehouseError, match="read-only transaction"):
        warehouses.postgres.run("SELECT nextval('counter')", max_rows=1, timeout_s=10)


def test_statement_timeout_cancels_and_the_runner_recovers(warehouses: Warehouses) -> None:
    with pytest.raises(WarehouseError, match=r"ran longer than 1 s and was cancelled; narrow the date range"):
        warehouses.postgres.run("SELECT pg_sleep(5)", max_rows=1, timeout_s=1)
    assert warehouses.postgres.run("SELECT 1 AS one", max_rows=1, timeout_s=5).frame["one"].tolist() == [1]
    # SET LOCAL: the timeout does not leak into the session.
    assert warehouses.server.psql_run("SHOW statement_timeout", database="warehouse_demo") == [["0"]]


def test_database_errors_are_quoted_for_repair(warehouses: Warehouses) -> None:
    with pytest.raises(WarehouseError, match=r'column "nope" does not exist'):
        warehouses.postgres.run("SELECT nope FROM orders", max_rows=1, timeout_s=5)
    with pytest.raises(WarehouseError, match="syntax error"):
        warehouses.postgres.run("SELEC 1", max_rows=1, timeout_s=5)
    assert warehouses.postgres.run("SELECT 2 AS two", max_rows=1, timeout_s=5).frame["two"].tolist() == [2]


def test_connection_refused_is_one_clear_sentence(tmp_path: Path) -> None:
    runner = open_runner(f"postgresql://nobody@/nowhere?host={tmp_path}&port=5999")
    with pytest.raises(WarehouseError, match=r"^Could not connect to the PostgreSQL warehouse at .*check that it is"):
        runner.run("SELECT 1", max_rows=1, timeout_s=5)
    runner.close()


def test_password_is_not_shown_in_errors(tmp_path: Path) -> None:
    runner = open_runner(f"postgresql://nobody:s3cret@/nowhere?host={tmp_path}&port=5999")
    with pytest.raises(WarehouseError) as caught:
        runner.run("SELECT 1", max_rows=1, timeout_s=5)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in repr(runner)


def test_sqlalchemy_runner_on_postgres_is_read_only_and_times_out(warehouses: Warehouses) -> None:
    runner = SQLAlchemyRunner(warehouses.postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        assert runner.dialect == "postgres"
        sql = QUESTIONS[1]
        expected = warehouses.duckdb.run(sql, max_rows=100, timeout_s=30).frame
        got = runner.run(sqlglot.transpile(sql, read="duckdb", write="postgres")[0], max_rows=100, timeout_s=30)
        pd.testing.assert_frame_equal(expected, got.frame, check_dtype=False, rtol=1e-9)
        with pytest.raises(WarehouseError, match="read-only transaction"):
            runner.run("SELECT nextval('counter')", max_rows=1, timeout_s=5)
        with pytest.raises(WarehouseError, match="ran longer than 1 s"):
            runner.run("SELECT pg_sleep(5)", max_rows=1, timeout_s=1)
        capped = runner.run("SELECT order_id FROM orders ORDER BY 1", max_rows=5, timeout_s=5)
        assert capped.truncated
        assert len(capped.frame) == 5
    finally:
        runner.close()
