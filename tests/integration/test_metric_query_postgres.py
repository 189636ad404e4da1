"""Compiled metric queries on a real PostgreSQL: the gate's PostgreSQL rendering gives DuckDB's answers.

The unit tests compare each compiled query's DuckDB result with hand-written SQL. Here the same queries are
rendered for PostgreSQL by the gate and run on a copy of the same demo warehouse, which checks what only a real
server can: DATE_TRUNC on dates, interval shifts, IS NOT DISTINCT FROM, DOUBLE PRECISION division, NULLS LAST.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from knowledge.warehouse import build_demo_warehouse
from tests.integration.postgres_server import PostgresServer, copy_duckdb_to_postgres
from tests.unit.tools.metric_query.test_compile_results import CASES, Case, _compile
from tools.sql_gate import GateContext, check_sql
from tools.warehouse import SQLRunner, open_runner

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())


@pytest.fixture(scope="module")
def runners(
    postgres_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SQLRunner, SQLRunner]]:
    duck_path = tmp_path_factory.mktemp("metric_query_pg") / "demo.duckdb"
    build_demo_warehouse(duck_path, orders=5_000, seed=11)
    url = postgres_server.create_database("metric_query_demo")
    copy_duckdb_to_postgres(duck_path, url)
    duck, pg = open_runner(str(duck_path)), open_runner(url)
    try:
        yield duck, pg
    finally:
        duck.close()
        pg.close()


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            converted = pd.to_numeric(frame[column], errors="coerce")
            if converted.notna().sum() == frame[column].notna().sum():
                frame[column] = converted
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.date
        if pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype("float64")
    return frame


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_postgres_gives_the_duckdb_answer(case: Case, catalog: Catalog, runners: tuple[SQLRunner, SQLRunner]) -> None:
    duck, pg = runners
    compiled = _compile(case, catalog)
    schema = catalog.schema_mapping()
    duck_sql = check_sql(compiled.sql, GateContext(schema=schema, target_dialect="duckdb")).sql
    pg_sql = check_sql(compiled.sql, GateContext(schema=schema, target_dialect="postgres")).sql
    expected = duck.run(duck_sql, max_rows=1000, timeout_s=30).frame
    actual = pg.run(pg_sql, max_rows=1000, timeout_s=30).frame
    assert list(actual.columns) == list(compiled.columns)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(_numeric(actual), _numeric(expected), check_dtype=False, rtol=1e-9)
