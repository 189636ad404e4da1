"""Read-only PostgreSQL runner on psycopg 3.

Every query runs inside ``BEGIN READ ONLY`` with ``statement_timeout`` set for that transaction only, through a
server-side cursor that fetches ``max_rows + 1`` rows, and the transaction is rolled back afterwards, so nothing
a query does can persist. The connection is opened on first use and reopened if the server dropped it. With
``max_estimated_rows`` set, ``EXPLAIN (FORMAT JSON)`` runs first in the same transaction and a query whose plan
has a node of more ``Plan Rows`` than that is refused before it starts.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kubeai.errors import WarehouseError
from tools.warehouse._errors import check_limits, connection_error, query_error, timeout_error
from tools.warehouse._estimate import check_estimate, postgres_plan_rows
from tools.warehouse._frame import rows_to_frame
from tools.warehouse.base import PlanEstimate, QueryResult

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresRunner", "redact_url"]

_CURSOR_NAME = "kubeai_query"
_T = TypeVar("_T")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for error messages and logs."""
    return re.sub(r"(//[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)


def _estimate(conn: psycopg.Connection[Any], sql: str) -> PlanEstimate:
    row = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()
    plan = json.loads(row[0]) if row is not None and isinstance(row[0], str) else (row[0] if row else [])
    return PlanEstimate(rows=postgres_plan_rows(plan), engine="PostgreSQL")


def _pg_words(exc: psycopg.Error) -> str:
    """The server's primary message and hint, without the position context that would point into our DECLARE."""
    primary = exc.diag.message_primary
    if not primary:
        return str(exc)
    hint = exc.diag.message_hint
    return f"{primary}; hint: {hint}" if hint else primary


class PostgresRunner:
    """Runs read-only queries against one PostgreSQL database.

    Args:
        url: A libpq URL (``postgresql://user:pass@host:5432/db`` or ``postgres://...``); a
            ``postgresql+psycopg://`` SQLAlchemy-style URL is accepted too.
        connect_timeout_s: How long to wait for the server when connecting.
        max_estimated_rows: Refuse, before running, a query whose plan PostgreSQL estimates to build more rows
            than this in one step (a join without a join condition); None runs every query.
    """

    dialect = "postgres"

    def __init__(self, url: str, *, connect_timeout_s: int = 10, max_estimated_rows: int | None = None) -> None:
        self.url = re.sub(r"^postgresql\+psycopg://", "postgresql://", url)
        self._connect_timeout_s = connect_timeout_s
        self.max_estimated_rows = max_estimated_rows
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PostgresRunner({redact_url(self.url)!r})"

    def _connection(self) -> psycopg.Connection[Any]:
        import psycopg

        if self._closed:
            raise WarehouseError("The PostgreSQL runner is closed; open a new one with open_runner.")
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self._connect_timeout_s)
            except psycopg.Error as exc:
                raise connection_error("PostgreSQL", redact_url(self.url), exc) from exc
        return self._conn

    def run(self, sql: str, *, max_rows: int, timeout_s: float) -> QueryResult:
        """Execute one read-only statement; see :meth:`tools.warehouse.SQLRunner.run`."""
        check_limits(max_rows, timeout_s)

        def execute(conn: psycopg.Connection[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
            if self.max_estimated_rows is not None:
                check_estimate(_estimate(conn, sql), self.max_estimated_rows)
            with conn.cursor(_CURSOR_NAME) as cursor:
                cursor.execute(sql)
                columns = [d.name for d in cursor.description or ()]
                return columns, cursor.fetchmany(max_rows + 1)

        started = time.perf_counter()
        columns, rows = self._read_only(execute, timeout_s)
        elapsed = time.perf_counter() - started
        return QueryResult(
            frame=rows_to_frame(columns, rows[:max_rows]), truncated=len(rows) > max_rows, elapsed_s=elapsed, sql=sql
        )

    def estimate(self, sql: str, *, timeout_s: float) -> PlanEstimate | None:
        """PostgreSQL's estimate for a statement; see :meth:`tools.warehouse.SQLRunner.estimate`."""
        check_limits(1, timeout_s)
        return self._read_only(lambda conn: _estimate(conn, sql), timeout_s)

    def _read_only(self, work: Callable[[psycopg.Connection[Any]], _T], timeout_s: float) -> _T:
        """Run ``work`` in a read-only transaction with ``statement_timeout``, then roll back."""
        import psycopg

        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN READ ONLY")
                conn.execute(
                    "SELECT set_config('statement_timeout', %s, true)", (f"{max(1, round(timeout_s * 1000))}ms",)
                )
                return work(conn)
            except psycopg.errors.QueryCanceled as exc:
                raise timeout_error(timeout_s) from exc
            except psycopg.OperationalError as exc:
                if conn.broken:
                    raise connection_error("PostgreSQL", redact_url(self.url), exc) from exc
                raise query_error("PostgreSQL", _pg_words(exc)) from exc
            except psycopg.Error as exc:
                raise query_error("PostgreSQL", _pg_words(exc)) from exc
            finally:
                if not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection; calling it twice is harmless."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
