"""Gate output run on a real PostgreSQL: every valid query executes, and the scope filters and row cap hold.

The test starts a throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``, Unix socket only, no TCP) in a
temporary directory and talks to it through ``psql``, so it needs the PostgreSQL server binaries
(``apt-get install -y postgresql``) but no Python driver. When run as root it runs the server as the
``postgres`` system user, which PostgreSQL requires.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.tools.sql_gate.sql_gate_samples import ROWS, SCHEMA, load_corpus, make_context
from tools.sql_gate import check_sql

pytestmark = pytest.mark.integration

# Unix socket only, in the test's own directory: the port just names the socket file, so it cannot collide.
PORT = 55_432
PSQL_FLAGS = ("-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


@dataclass(frozen=True)
class Postgres:
    psql: str
    socket_dir: Path

    def query(self, sql: str) -> list[list[str]]:
        completed = subprocess.run(
            [self.psql, "-h", str(self.socket_dir), "-p", str(PORT), "-U", "gate", "-d", "postgres", *PSQL_FLAGS, sql],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert completed.returncode == 0, f"{completed.stderr.strip()}\n{sql}"
        return [line.split("\t") for line in completed.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    initdb, pg_ctl, psql = _pg_bin("initdb"), _pg_bin("pg_ctl"), _pg_bin("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, psql) are not installed; apt-get install postgresql")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser; PostgreSQL refuses to start as root")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="sql-gate-pg-"))
    if as_user:
        shutil.chown(root, user="postgres")
    data = root / "data"
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "gate", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses='' -c unix_socket_directories={root} -p {PORT} -c fsync=off"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        server = Postgres(psql=psql, socket_dir=root)
        statements = []
        for table, columns in SCHEMA.items():
            definition = ", ".join(
                f'"{name}" {type_.replace("DOUBLE", "DOUBLE PRECISION")}' for name, type_ in columns.items()
            )
            statements.append(f'CREATE TABLE "{table}" ({definition});')
            for row in ROWS[table]:
                statements.append(f'INSERT INTO "{table}" VALUES ({", ".join(_literal(v) for v in row)});')
        server.query("\n".join(statements))
        yield server
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _gated(sql: str, **overrides: object) -> str:
    return check_sql(sql, make_context(target_dialect="postgres", **overrides)).sql


def test_every_valid_query_executes_on_postgres(postgres: Postgres) -> None:
    for case in load_corpus("valid.jsonl"):
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
