"""Gate output run on a real PostgreSQL: every valid query executes, and the scope filters and row cap hold.

The throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``, Unix socket only, no TCP) comes from the session fixture
in :mod:`tests.integration.postgres_server`; this module loads the gate's sample schema into its own database and
talks to it through ``psql``, so it needs the PostgreSQL server binaries (``apt-get install -y postgresql``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kubeai.errors import WarehouseError
from tests.integration.postgres_server import PostgresServer
from tests.unit.tools.sql_gate.sql_gate_samples import ROWS, SCHEMA, load_corpus, make_context, runs_on
from tools.sql_gate import check_sql
from tools.warehouse import PostgresRunner

pytestmark = pytest.mark.integration

DATABASE = "sql_gate"


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


@dataclass(frozen=True)
class Postgres:
    server: PostgresServer

    def query(self, sql: str) -> list[list[str]]:
        return self.server.psql_run(sql, database=DATABASE)


@pytest.fixture(scope="module")
def postgres(postgres_server: PostgresServer) -> Postgres:
    postgres_server.create_database(DATABASE)
    server = Postgres(server=postgres_server)
    statements = []
    for table, columns in SCHEMA.items():
        definition = ", ".join(
            f'"{name}" {type_.replace("DOUBLE", "DOUBLE PRECISION")}' for name, type_ in columns.items()
        )
        statements.append(f'CREATE TABLE "{table}" ({definition});')
        for row in ROWS[table]:
            statements.append(f'INSERT INTO "{table}" VALUES ({", ".join(_literal(v) for v in row)});')
    server.query("\n".join(statements))
    return server


def _gated(sql: str, **overrides: object) -> str:
    return check_sql(sql, make_context(target_dialect="postgres", **overrides)).sql


def test_every_valid_query_executes_on_postgres(postgres: Postgres) -> None:
    for case in filter(lambda case: runs_on(case, "postgres"), load_corpus("valid.jsonl")):
        result = check_sql(
            case["sql"], make_context(source_dialect=case.get("dialect", "duckdb"), target_dialect="postgres")
        )
        postgres.query(result.sql)


def test_scope_filters_hold_on_postgres(postgres: Postgres) -> None:
    assert postgres.query(_gated("SELECT count(*) FROM orders")) == [["3"]]
    assert postgres.query(_gated("SELECT count(*) FROM orders", scope_filters={})) == [["5"]]
    left_join = "SELECT u.id, count(o.id) FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id ORDER BY 1"
    assert postgres.query(_gated(left_join)) == [["1", "2"], ["2", "1"], ["3", "0"]]


def test_chinese_literals_and_row_cap_on_postgres(postgres: Postgres) -> None:
    sql = (
        "SELECT count(*) FROM orders o JOIN cities c ON o.city_id = c.id "
        "JOIN regions r ON c.region_id = r.id WHERE r.region_name = '华东'"
    )
    assert postgres.query(_gated(sql)) == [["2"]]
    assert len(postgres.query(_gated("SELECT id FROM orders", max_rows=2, scope_filters={}))) == 2


def test_postgres_estimate_refuses_a_product_the_gate_never_sees(postgres: Postgres) -> None:
    """A join on a low-cardinality key passes the gate's syntactic check; PostgreSQL's own plan estimate
    (the nested product of every city's orders and users) is what refuses it."""
    runner = PostgresRunner(postgres.server.url(DATABASE), max_estimated_rows=5_000)
    try:
        keyed = _gated("SELECT count(*) FROM orders o JOIN users u ON o.user_id = u.id", scope_filters={})
        assert runner.run(keyed, max_rows=1, timeout_s=10).frame.iloc[0, 0] == 5
        product = _gated(
            "SELECT count(*) FROM orders o JOIN order_items i ON o.city_id = i.quantity JOIN users u "
            "ON u.city_id = o.city_id JOIN refunds r ON r.order_id > o.id",
            scope_filters={},
        )
        estimate = runner.estimate(product, timeout_s=10)
        assert estimate is not None and estimate.rows > 5_000
        with pytest.raises(WarehouseError, match=r"^PostgreSQL estimates that this query builds about [0-9,]+ rows"):
            runner.run(product, max_rows=1, timeout_s=10)
    finally:
        runner.close()
