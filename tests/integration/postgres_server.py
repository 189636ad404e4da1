"""A throw-away PostgreSQL cluster for integration tests, shared by the whole test session.

``initdb`` + ``pg_ctl`` start a cluster in a temporary directory that listens on a Unix socket only (no TCP, so
nothing can collide or reach it). PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` system user through ``runuser``. Each test module creates its own database with
:meth:`PostgresServer.create_database`, so modules never see each other's tables.

Use it from a test module with ``from tests.integration.postgres_server import postgres_server`` or, for every
integration test, from ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["PostgresServer", "copy_duckdb_to_postgres", "pg_bin", "postgres_server"]

# The port only names the socket file inside the cluster's own directory, so it cannot collide.
PORT = 55_432
SUPERUSER = "kubeai"


def pg_bin(name: str) -> str | None:
    """A PostgreSQL executable from PATH or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster: its socket directory, port, superuser and the ``psql`` client."""

    psql: str
    socket_dir: Path
    port: int = PORT
    user: str = SUPERUSER

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` over the Unix socket."""
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"

    def psql_run(self, sql: str, *, database: str = "postgres") -> list[list[str]]:
        """Run ``sql`` through ``psql`` (tab-separated, unaligned) and return the rows; fails the test on error."""
        completed = subprocess.run(
            [
                self.psql,
                *("-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, "-d", database),
                *("-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert completed.returncode == 0, f"{completed.stderr.strip()}\n{sql}"
        return [line.split("\t") for line in completed.stdout.splitlines() if line]

    def create_database(self, name: str) -> str:
        """Create an empty database (dropping any old one of that name) and return its URL."""
        self.psql_run(f'DROP DATABASE IF EXISTS "{name}"')
        self.psql_run(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        return self.url(name)


@contextlib.contextmanager
def _cluster() -> Iterator[PostgresServer]:
    """Start a cluster, yield it, stop it and delete its directory; skip when the server binaries are missing."""
    initdb, pg_ctl, psql = pg_bin("initdb"), pg_bin("pg_ctl"), pg_bin("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, psql) are not installed; apt-get install postgresql")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser; PostgreSQL refuses to start as root")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="kubeai-pg-"))
    if as_user:
        shutil.chown(root, user="postgres")
    data = root / "data"
    started = False
    try:
        initdb_args = ["-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"]
        subprocess.run([*as_user, initdb, *initdb_args], check=True, capture_output=True)
        options = f"-c listen_addresses='' -c unix_socket_directories={root} -p {PORT} -c fsync=off"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        started = True
        yield PostgresServer(psql=psql, socket_dir=root)
    finally:
        if started:
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False, capture_output=True
            )
        shutil.rmtree(root, ignore_errors=True)


# Test modules that import the fixture each get their own session-scoped copy of it; they share one cluster,
# started by the first and stopped when the last is torn down (at the end of the session).
_shared: dict[str, Any] = {"users": 0, "server": None, "stack": None}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's throw-away PostgreSQL cluster; skips plainly when the server binaries are missing."""
    if _shared["server"] is None:
        stack = contextlib.ExitStack()
        _shared["server"] = stack.enter_context(_cluster())
        _shared["stack"] = stack
    _shared["users"] += 1
    try:
        yield _shared["server"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            stack, _shared["stack"], _shared["server"] = _shared["stack"], None, None
            stack.close()


TABLES = ("regions", "cities", "categories", "products", "channels", "users", "orders", "order_items", "refunds")
PG_TYPES = {"INTEGER": "integer", "BIGINT": "bigint", "VARCHAR": "text", "DATE": "date", "TIMESTAMP": "timestamp"}


def _pg_type(duck_type: str) -> str:
    if duck_type.startswith("DECIMAL"):
        return duck_type.replace("DECIMAL", "numeric")
    return PG_TYPES[duck_type]


def copy_duckdb_to_postgres(duck_path: Path, url: str) -> None:
    """Copy the demo warehouse's tables from a DuckDB file into a PostgreSQL database (plus a sequence)."""
    import duckdb
    import psycopg

    source = duckdb.connect(str(duck_path), read_only=True)
    try:
        with psycopg.connect(url) as target, target.cursor() as cur:
            for table in TABLES:
                columns = source.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                    "ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                definition = ", ".join(f'"{name}" {_pg_type(kind)}' for name, kind in columns)
                cur.execute(f'CREATE TABLE "{table}" ({definition})')
                with cur.copy(f'COPY "{table}" FROM STDIN') as copy:
                    for row in source.execute(f'SELECT * FROM "{table}"').fetchall():
                        copy.write_row(row)
            cur.execute("CREATE SEQUENCE counter")
    finally:
        source.close()
