"""The demo catalog against a small demo warehouse: every example and every metric definition runs."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from knowledge.catalog import Catalog, Metric, demo_catalog_path, load_catalog

CATALOG = load_catalog(demo_catalog_path())


@pytest.fixture(scope="module")
def con(small_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(small_warehouse), read_only=True)
    yield connection
    connection.close()


@pytest.mark.parametrize(
    "index", range(len(CATALOG.examples)), ids=[f"example{i}" for i in range(len(CATALOG.examples))]
)
def test_example_sql_runs(con: duckdb.DuckDBPyConnection, index: int) -> None:
    rows = con.execute(CATALOG.examples[index].sql).fetchall()
    assert rows, "an example over two years of data should return rows"
    assert any(value is not None for value in rows[0])


def _from_clause(catalog: Catalog, base: str) -> str:
    """The base table LEFT JOINed to every table reachable without fan-out, along the join tree."""
    clauses = [base]
    seen = {base}
    queue = deque([base])
    while queue:
        table = queue.popleft()
        for join in catalog.joins:
            for near, far, forward in ((join.left, join.right, True), (join.right, join.left, False)):
                near_table, far_table = near.split(".")[0], far.split(".")[0]
                safe = join.cardinality in (("many_to_one", "one_to_one") if forward else ("one_to_many", "one_to_one"))
                if near_table == table and far_table not in seen and safe:
                    seen.add(far_table)
                    queue.append(far_table)
                    clauses.append(f"LEFT JOIN {far_table} ON {near} = {far}")
    return " ".join(clauses)


def _simple(metric: Metric) -> bool:
    return not metric.is_derived


@pytest.mark.parametrize("name", [m.name for m in CATALOG.metrics if _simple(m)])
def test_metric_definition_runs_per_dimension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    metric = CATALOG.metric(name)
    assert metric is not None
    assert metric.table is not None
    where = f"WHERE {metric.filter}" if metric.filter else ""
    total = con.execute(f"SELECT {metric.sql} FROM {_from_clause(CATALOG, metric.table)} {where}").fetchone()
    assert total is not None
    assert total[0] is not None
    assert total[0] > 0
    for dim_name in metric.dimensions:
        dim = CATALOG.dimension(dim_name)
        assert dim is not None
        sql = f"SELECT {dim.sql}, {metric.sql} FROM {_from_clause(CATALOG, metric.table)} {where} GROUP BY 1"
        groups = len(con.execute(sql).fetchall())
        assert groups >= (1 if dim_name == "order_status" else 2), dim_name


def test_enumerated_values_match_the_data(con: duckdb.DuckDBPyConnection) -> None:
    for table in CATALOG.tables:
        for column in table.columns:
            if column.values is not None:
                found = {r[0] for r in con.execute(f"SELECT DISTINCT {column.name} FROM {table.name}").fetchall()}
                assert found == set(column.values), f"{table.name}.{column.name}"


def test_declared_columns_match_the_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    for table in CATALOG.tables:
        actual = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table.name}").fetchall()}
        declared = {c.name: c.type.replace(" ", "") for c in table.columns}
        assert declared == {k: v.replace(" ", "") for k, v in actual.items()}, table.name


def test_reference_date_is_the_last_day_of_data(con: duckdb.DuckDBPyConnection) -> None:
    last = con.execute("SELECT MAX(order_date) FROM orders").fetchone()
    assert last is not None
    assert last[0] == CATALOG.reference_date
