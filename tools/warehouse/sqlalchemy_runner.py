"""Read-only runner for any other SQLAlchemy URL (SQLite, MySQL, SQL Server, Snowflake, Trino, ...).

Read-only enforcement depends on what the engine offers, from strongest to weakest:

* SQLite: the file is opened through a ``mode=ro`` URI and an authorizer refuses ``ATTACH``/``DETACH``.
* PostgreSQL through another driver (psycopg2, pg8000): the ``postgresql_readonly`` execution option plus a
  transaction-local ``statement_timeout``.
* MySQL and MariaDB: the session is set ``TRANSACTION READ ONLY`` on connect, with ``max_execution_time``
  (MySQL) or ``max_statement_time`` (MariaDB) as the timeout.
* Everything else: best effort; the transaction is rolled back after every query (the SQL gate is the real
  guard) and the timeout cancels through the driver's ``cancel()``/``interrupt()`` when it has one.

Give such a warehouse a database user with SELECT rights only; that is the guarantee the runner cannot give. These
runners give no row estimates (``estimate`` returns None), so ``warehouse.max_estimated_rows`` does not apply; the
SQL gate's ``no_cartesian_product`` rule and the statement timeout still do.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kubeai.errors import WarehouseError
from tools.warehouse._errors import check_limits, connection_error, query_error, timeout_error
from tools.warehouse._frame import rows_to_frame
from tools.warehouse.base import PlanEstimate, QueryResult

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

__all__ = ["SQLALCHEMY_DIALECTS", "SQLAlchemyRunner", "sqlglot_dialect"]

#: SQLAlchemy backend name (the part of the URL scheme before ``+driver``) -> sqlglot dialect name.
SQLALCHEMY_DIALECTS: MappingProxyType[str, str] = MappingProxyType(
    {
        "awsathena": "athena",
        "bigquery": "bigquery",
        "clickhouse": "clickhouse",
        "databricks": "databricks",
        "doris": "doris",
        "hive": "hive",
        "mariadb": "mysql",
        "mssql": "tsql",
        "mysql": "mysql",
        "oracle": "oracle",
        "postgresql": "postgres",
        "presto": "presto",
        "redshift": "redshift",
        "snowflake": "snowflake",
        "sqlite": "sqlite",
        "starrocks": "starrocks",
        "teradatasql": "teradata",
        "trino": "trino",
    }
)

_SQLITE_DENY_ACTIONS = frozenset({24, 25})  # SQLITE_ATTACH, SQLITE_DETACH


def sqlglot_dialect(backend: str) -> str:
    """The sqlglot dialect for a SQLAlchemy backend name.

    Raises:
        kubeai.errors.WarehouseError: The backend is not in :data:`SQLALCHEMY_DIALECTS`.
    """
    try:
        return SQLALCHEMY_DIALECTS[backend]
    except KeyError:
        known = ", ".join(sorted(SQLALCHEMY_DIALECTS))
        raise WarehouseError(
            f"Warehouse dialect {backend!r} is not supported; use one of {known}, postgresql or a DuckDB file."
        ) from None


def _sqlite_read_only(url: URL, base_dir: Path | None) -> URL:
    database = url.database or ""
    if database in {"", ":memory:"} or database.startswith("file:"):
        raise WarehouseError(
            f"SQLite warehouse URL {url.render_as_string()} must name a database file, as sqlite:///path/to/file.db."
        )
    path = Path(database).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise WarehouseError(f"Warehouse file {path} does not exist; point warehouse.url at an existing SQLite file.")
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    return url.set(database=uri, query={"mode": "ro", "uri": "true"})


def _sqlite_authorizer(action: int, *_args: Any) -> int:
    import sqlite3

    return sqlite3.SQLITE_DENY if action in _SQLITE_DENY_ACTIONS else sqlite3.SQLITE_OK


class SQLAlchemyRunner:
    """Runs read-only queries through a SQLAlchemy engine.

    Args:
        url: A SQLAlchemy URL whose backend is in :data:`SQLALCHEMY_DIALECTS`; its driver must be installed.
        base_dir: Directory that a relative SQLite path is resolved against.

    Raises:
        kubeai.errors.WarehouseError: The URL is malformed, its dialect unsupported, its driver missing, or a SQLite
            file does not exist.
    """

    def __init__(self, url: str, *, base_dir: Path | None = None) -> None:
        import sqlalchemy
        from sqlalchemy import event

        try:
            parsed = sqlalchemy.make_url(url)
        except sqlalchemy.exc.ArgumentError as exc:
            raise WarehouseError(
                f"Warehouse URL {url!r} is not a valid SQLAlchemy URL; write it as dialect+driver://user@host/db."
            ) from exc
        self.backend = parsed.get_backend_name()
        self.dialect = sqlglot_dialect(self.backend)
        if self.backend == "sqlite":
            parsed = _sqlite_read_only(parsed, base_dir)
        self.display_url = parsed.render_as_string(hide_password=True)
        try:
            self._engine: Engine | None = sqlalchemy.create_engine(parsed, pool_pre_ping=True)
        except (ImportError, sqlalchemy.exc.NoSuchModuleError) as exc:
            raise WarehouseError(
                f"The driver for {self.display_url} is not installed ({exc}); install the SQLAlchemy driver package "
                "for this database."
            ) from exc
        if self.backend == "sqlite":
            event.listen(
                self._engine, "connect", lambda dbapi_conn, _rec: dbapi_conn.set_authorizer(_sqlite_authorizer)
            )
        elif self.backend in {"mysql", "mariadb"}:
            event.listen(self._engine, "connect", _mysql_read_only)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLAlchemyRunner({self.display_url!r})"

    def _timeout_statement(self, timeout_s: float) -> tuple[str, dict[str, Any]] | None:
        ms = max(1, round(timeout_s * 1000))
        if self.backend == "postgresql":
            return "SELECT set_config('statement_timeout', :v, true)", {"v": f"{ms}ms"}
        if self.backend == "mysql":
            return "SET SESSION max_execution_time = :v", {"v": ms}
        if self.backend == "mariadb":
            return "SET SESSION max_statement_time = :v", {"v": timeout_s}
        return None

    def _connect(self) -> Connection:
        import sqlalchemy

        if self._engine is None:
            raise WarehouseError(f"The runner for {self.display_url} is closed; open a new one with open_runner.")
        try:
            conn = self._engine.connect()
        except sqlalchemy.exc.DBAPIError as exc:
            raise connection_error(self.backend, self.display_url, exc.orig or exc) from exc
        except sqlalchemy.exc.SQLAlchemyError as exc:  # e.g. an async-only driver such as asyncpg
            raise connection_error(self.backend, self.display_url, exc) from exc
        options: dict[str, Any] = {"stream_results": True}
        if self.backend == "postgresql":
            options["postgresql_readonly"] = True
        return conn.execution_options(**options)

    def run(self, sql: str, *, max_rows: int, timeout_s: float) -> QueryResult:
        """Execute one read-only statement; see :meth:`tools.warehouse.SQLRunner.run`."""
        check_limits(max_rows, timeout_s)
        with self._lock, self._connect() as conn:
            started = time.perf_counter()
            try:
                columns, rows = self._execute(conn, sql, max_rows=max_rows, timeout_s=timeout_s)
            finally:
                conn.rollback()
            elapsed = time.perf_counter() - started
        return QueryResult(
            frame=rows_to_frame(columns, rows[:max_rows]), truncated=len(rows) > max_rows, elapsed_s=elapsed, sql=sql
        )

    def _execute(
        self, conn: Connection, sql: str, *, max_rows: int, timeout_s: float
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql`` with the timeout armed; the first ``max_rows + 1`` rows."""
        import sqlalchemy

        dbapi_conn = conn.connection.dbapi_connection
        cancel_fn = getattr(dbapi_conn, "interrupt", None) or getattr(dbapi_conn, "cancel", None)
        fired, finished = threading.Event(), threading.Event()

        def cancel() -> None:
            if not finished.is_set():
                fired.set()
                if callable(cancel_fn):
                    cancel_fn()

        timer = threading.Timer(timeout_s, cancel)
        timer.daemon = True
        try:
            timeout_stmt = self._timeout_statement(timeout_s)
            if timeout_stmt is not None:
                conn.execute(sqlalchemy.text(timeout_stmt[0]), timeout_stmt[1])
            timer.start()
            result = conn.exec_driver_sql(sql)
            columns = list(map(str, result.keys())) if result.returns_rows else []
            rows = [tuple(r) for r in result.fetchmany(max_rows + 1)] if columns else []
            result.close()
        except sqlalchemy.exc.DBAPIError as exc:
            if fired.is_set() or _is_timeout(exc):
                raise timeout_error(timeout_s) from exc
            raise query_error(self.backend, exc.orig or exc) from exc
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise query_error(self.backend, exc) from exc
        finally:
            finished.set()
            timer.cancel()
        return columns, rows

    def estimate(self, sql: str, *, timeout_s: float) -> PlanEstimate | None:
        """No estimate: EXPLAIN output differs by engine and driver; see :meth:`tools.warehouse.SQLRunner.estimate`."""
        del sql, timeout_s
        return None

    def close(self) -> None:
        """Dispose of the engine and its pooled connections; calling it twice is harmless."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _mysql_read_only(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
    finally:
        cursor.close()


def _is_timeout(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "statement timeout" in text or "max_execution_time" in text or "max_statement_time" in text
