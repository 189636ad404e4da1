"""Read-only DuckDB runner: the demo warehouse and any local DuckDB file.

The file is opened with ``read_only=True`` and a locked configuration that forbids file system access and
extension installation or loading, so even SQL that bypassed the gate cannot write a table, read
``/etc/passwd``, ``COPY ... TO`` a file, ``ATTACH`` another database or turn those settings back on. DuckDB has no
server-side statement timeout: a timer thread calls ``connection.interrupt()`` after ``timeout_s``. Rows are
fetched one 2,048-row vector at a time until ``max_rows + 1`` have arrived, so a huge result never lands in memory.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kubeai.errors import WarehouseError
from tools.warehouse._errors import check_limits, query_error, timeout_error
from tools.warehouse._frame import dedupe_columns, normalise_frame
from tools.warehouse.base import QueryResult

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

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

    Raises:
        kubeai.errors.WarehouseError: The file does not exist or is not a DuckDB database.
    """

    dialect = "duckdb"

    def __init__(self, path: Path) -> None:
        import duckdb

        if not path.is_file():
            raise WarehouseError(
                f"Warehouse file {path} does not exist; build the demo with `kubeai warehouse build-demo`."
            )
        self.path = path
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
        import duckdb

        check_limits(max_rows, timeout_s)
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
            started = time.perf_counter()
            timer.start()
            try:
                cursor = conn.execute(sql)
                frame, truncated = _fetch(cursor, max_rows)
            except duckdb.InterruptException as exc:
                raise timeout_error(timeout_s) from exc
            except duckdb.Error as exc:
                if fired.is_set():
                    raise timeout_error(timeout_s) from exc
                raise query_error("DuckDB", exc) from exc
            finally:
                finished.set()
                timer.cancel()
            elapsed = time.perf_counter() - started
        return QueryResult(frame=frame, truncated=truncated, elapsed_s=elapsed, sql=sql)

    def close(self) -> None:
        """Close the connection; calling it twice is harmless."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


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
