"""Read-only PostgreSQL runner on psycopg 3.

Every query runs inside ``BEGIN READ ONLY`` with ``statement_timeout`` set for that transaction only, through a
server-side cursor that fetches ``max_rows + 1`` rows, and the transaction is rolled back afterwards, so nothing
a query does can persist. The connection is opened on first use and reopened if the server dropped it.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from kubeai.errors import WarehouseError
from tools.warehouse._errors import check_limits, connection_error, query_error, timeout_error
from tools.warehouse._frame import rows_to_frame
from tools.warehouse.base import QueryResult

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresRunner", "redact_url"]

_CURSOR_NAME = "kubeai_query"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for error messages and logs."""
    return re.sub(r"(//[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)


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
    """

    dialect = "postgres"

    def __init__(self, url: str, *, connect_timeout_s: int = 10) -> None:
        self.url = re.sub(r"^postgresql\+psycopg://", "postgresql://", url)
        self._connect_timeout_s = connect_timeout_s
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
        import psycopg

        check_limits(max_rows, timeout_s)
        with self._lock:
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.execute("BEGIN READ ONLY")
                conn.execute(
                    "SELECT set_config('statement_timeout', %s, true)", (f"{max(1, round(timeout_s * 1000))}ms",)
                )
                with conn.cursor(_CURSOR_NAME) as cursor:
                    cursor.execute(sql)
                    columns = [d.name for d in cursor.description or ()]
                    rows = cursor.fetchmany(max_rows + 1)
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
            elapsed = time.perf_counter() - started
        return QueryResult(
            frame=rows_to_frame(columns, rows[:max_rows]), truncated=len(rows) > max_rows, elapsed_s=elapsed, sql=sql
        )

    def close(self) -> None:
        """Close the connection; calling it twice is harmless."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
