"""Gate output run on a real in-memory DuckDB: it executes, the scope filters hold, the row cap holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from kubeai.errors import SQLGateError
from tests.unit.tools.sql_gate.sql_gate_samples import ROWS, SCHEMA, load_corpus, make_context, runs_on
from tools.sql_gate import check_sql


@pytest.fixture(scope="module")
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    for table, columns in SCHEMA.items():
        definition = ", ".join(f'"{name}" {type_}' for name, type_ in columns.items())
        connection.execute(f'CREATE TABLE "{table}" ({definition})')
        placeholders = ", ".join("?" for _ in columns)
        connection.executemany(f'INSERT INTO "{table}" VALUES ({placeholders})', ROWS[table])
    yield connection
    connection.close()


def _run(connection: duckdb.DuckDBPyConnection, sql: str, **overrides: object) -> list[tuple[object, ...]]:
    result = check_sql(sql, make_context(**overrides))
    return connection.execute(result.sql).fetchall()


def test_every_valid_query_executes(warehouse: duckdb.DuckDBPyConnection) -> None:
    for case in filter(lambda case: runs_on(case, "duckdb"), load_corpus("valid.jsonl")):
        source = case.get("dialect", "duckdb")
        result = check_sql(case["sql"], make_context(source_dialect=source))
        warehouse.execute(result.sql).fetchall()


def test_scope_filter_limits_plain_reads_to_the_tenant(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert _run(warehouse, "SELECT count(*) FROM orders") == [(3,)]
    assert _run(warehouse, "SELECT count(*) FROM orders", scope_filters={}) == [(5,)]


def test_scope_filter_holds_on_the_nullable_side_of_a_left_join(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = _run(
        warehouse,
        "SELECT u.id, count(o.id) AS n FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id ORDER BY 1",
    )
    # User 3 belongs to tenant 7 but users has no filter here; their tenant-7 orders must not be counted.
    assert rows == [(1, 2), (2, 1), (3, 0)]


def test_scope_filter_holds_in_subqueries_ctes_and_unions(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert _run(warehouse, "SELECT count(*) FROM orders WHERE id IN (SELECT order_id FROM refunds)") == [(1,)]
    assert _run(warehouse, "WITH x AS (SELECT id FROM orders) SELECT count(*) FROM x") == [(3,)]
    union = "SELECT count(*) FROM (SELECT id FROM orders UNION ALL SELECT order_id FROM refunds) AS t"
    assert _run(warehouse, union) == [(4,)]
    shadow = "WITH orders AS (SELECT * FROM orders) SELECT count(*) FROM orders"
    assert _run(warehouse, shadow) == [(3,)]


def test_chinese_literals_reach_the_warehouse_intact(warehouse: duckdb.DuckDBPyConnection) -> None:
    sql = (
        "SELECT sum(o.amount) FROM orders o JOIN cities c ON o.city_id = c.id "
        "JOIN regions r ON c.region_id = r.id WHERE r.region_name = '华东'"
    )
    assert _run(warehouse, sql) == [(1620.0,)]


def test_row_cap_applies_to_the_result(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert len(_run(warehouse, "SELECT id FROM orders", max_rows=2, scope_filters={})) == 2
    assert len(_run(warehouse, "SELECT id FROM orders LIMIT 4", max_rows=2, scope_filters={})) == 2
    assert len(_run(warehouse, "SELECT id FROM orders LIMIT 1", max_rows=2, scope_filters={})) == 1


def test_string_literal_tables_really_read_files_and_are_rejected(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("token\nhunter2\n", encoding="utf-8")
    hostile = f"SELECT * FROM '{secret}'"
    # The threat is real: DuckDB reads the file when handed the raw text.
    assert warehouse.execute(hostile).fetchall() == [("hunter2",)]
    with pytest.raises(SQLGateError) as caught:
        check_sql(hostile, make_context())
    assert caught.value.rule == "no_dangerous_functions"
