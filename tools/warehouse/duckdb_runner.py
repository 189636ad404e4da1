"""Read-only DuckDB runner: the demo warehouse and any local DuckDB file.

The file is opened with ``read_only=True`` and a locked configuration that forbids file system access and
extension installation or loading, so even SQL that bypassed the gate cannot write a table, read
``/etc/passwd``, ``COPY ... TO`` a file, ``ATTACH`` another database or turn those settings back on. DuckDB has no
server-side statement timeout: a timer thread calls ``connection.interrupt()`` after ``timeout_s``. Rows are
fetched one 2,048-row vector at a time until ``max_rows + 1`` have arrived, so a huge result never lands in memory.
With ``max_estimated_rows`` set, ``EXPLAIN (FORMAT JSON)`` runs first and a query whose plan is estimated to
build more rows than that in one step is refused before it starts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kubeai.errors import WarehouseError
from tools.warehouse._errors import check_limits, query_error, timeout_error
from tools.warehouse._estimate import check_estimate, duckdb_plan_rows
from tools.warehouse._frame import dedupe_columns, normalise_frame
from tools.warehouse.base import PlanEstimate, QueryResult

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

_T = TypeVar("_T")

__all__ = ["DUCKDB_CONFIG", "DuckDBRunner"]

#: Settings applied when the file is opened; ``lock_configuration`` comes last so nothing can undo them.
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}


class DuckDBRunner:
    """Runs read-only queries against one DuckDB file.

    Args:
        path: The DuckDB file; it must exist.
        max_estimated_rows: Refuse, before running, a query whose plan DuckDB estimates to build more rows than
            this in one step (a join without a join condition); None runs every query.

    Raises:
        kubeai.errors.WarehouseError: The file does not exist or is not a DuckDB database.
    """

    dialect = "duckdb"

    def __init__(self, path: Path, *, max_estimated_rows: int | None = None) -> None:
        import duckdb

        if not path.is_file():
            raise WarehouseError(
                f"Warehouse file {path} does not exist; build the demo with `kubeai warehouse build-demo`."
            )
        self.path = path
        self.max_estimated_rows = max_estimated_rows
        try:
            self._conn: duckdb.DuckDBPyConnection | None = duckdb.connect(
                str(path), read_only=True, config=DUCKDB_CONFIG
            )
        except duckdb.Error as exc:
            raise WarehouseError(
                f"Could not open {path} as a DuckDB warehouse ({' '.join(str(exc).split())}); "
                "close other connections to this file (a writer in another process, or one opened here with other "
                "settings) and try again."
            ) from exc
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DuckDBRunner({str(self.path)!r})"

    def run(self, sql: str, *, max_rows: int, timeout_s: float) -> QueryResult:
        """Execute one read-only statement; see :meth:`tools.warehouse.SQLRunner.run`."""
        check_limits(max_rows, timeout_s)

        def execute(conn: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, bool]:
            if self.max_estimated_rows is not None:
                check_estimate(_estimate(conn, sql), self.max_estimated_rows)
            return _fetch(conn.execute(sql), max_rows)

        started = time.perf_counter()
        frame, truncated = self._interruptible(execute, timeout_s)
        return QueryResult(frame=frame, truncated=truncated, elapsed_s=time.perf_counter() - started, sql=sql)

    def estimate(self, sql: str, *, timeout_s: float) -> PlanEstimate | None:
        """DuckDB's estimate for a statement; see :meth:`tools.warehouse.SQLRunner.estimate`."""
        check_limits(1, timeout_s)
        return self._interruptible(lambda conn: _estimate(conn, sql), timeout_s)

    def _interruptible(self, work: Callable[[duckdb.DuckDBPyConnection], _T], timeout_s: float) -> _T:
        """Run ``work`` on the connection, interrupting it after ``timeout_s``; DuckDB errors become one sentence."""
        import duckdb

        with self._lock:
            conn = self._conn
            if conn is None:
                raise WarehouseError(f"The DuckDB runner for {self.path} is closed; open a new one with open_runner.")
            fired = threading.Event()
            finished = threading.Event()

            def cancel() -> None:
                if not finished.is_set():
                    fired.set()
                    conn.interrupt()

            timer = threading.Timer(timeout_s, cancel)
            timer.daemon = True
            timer.start()
            try:
                return work(conn)
            except duckdb.InterruptException as exc:
                raise timeout_error(timeout_s) from exc
            except duckdb.Error as exc:
                if fired.is_set():
                    raise timeout_error(timeout_s) from exc
                raise query_error("DuckDB", exc) from exc
            finally:
                finished.set()
                timer.cancel()

    def close(self) -> None:
        """Close the connection; calling it twice is harmless."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _estimate(conn: duckdb.DuckDBPyConnection, sql: str) -> PlanEstimate:
    rows = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchall()
    plan = [node for row in rows for node in json.loads(row[1])]
    return PlanEstimate(rows=duckdb_plan_rows(plan), engine="DuckDB")


def _fetch(cursor: duckdb.DuckDBPyConnection, max_rows: int) -> tuple[pd.DataFrame, bool]:
    """At most ``max_rows`` rows as a DataFrame, and whether more existed.

    Rows arrive in DuckDB vectors of 2,048 as typed DataFrames (``fetch_df_chunk``), so at most
    ``max_rows + 2048`` rows are ever materialised, however large the result.
    """
    import pandas as pd

    if cursor.description is None:  # a statement without a result set
        return pd.DataFrame(), False
    names = dedupe_columns([str(d[0]) for d in cursor.description])
    chunks = [cursor.fetch_df_chunk(1)]
    fetched = len(chunks[0])
    while fetched <= max_rows and len(chunks[-1]) > 0:
        chunks.append(cursor.fetch_df_chunk(1))
        fetched += len(chunks[-1])
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    frame = normalise_frame(frame.iloc[:max_rows].reset_index(drop=True))
    frame.columns = pd.Index(names)
    return frame, fetched > max_rows
