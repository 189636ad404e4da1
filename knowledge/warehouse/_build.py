"""Writing a generated warehouse into a DuckDB file so that a failed build leaves nothing behind.

The bundled warehouses (the demo e-commerce one and the logistics one) are generated into a temporary file beside
the target and renamed into place only when DuckDB has finished; any failure removes the temporary file and its
write-ahead log and reports one sentence.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeai.errors import WarehouseError

if TYPE_CHECKING:
    import duckdb

__all__ = ["WarehouseReport", "check_target", "write_atomically"]


@dataclass(frozen=True, kw_only=True)
class WarehouseReport:
    """What a warehouse build wrote.

    Attributes:
        path: The DuckDB file.
        rows: Row count per table.
        seconds: Wall time of the build.
        seed: The seed used.
        first_date: First date of the data (the first order, the first shipment).
        last_date: Last date of the data, the natural reference date for relative questions.
    """

    path: Path
    rows: dict[str, int]
    seconds: float
    seed: int
    first_date: date
    last_date: date


def check_target(path: str | os.PathLike[str], *, example: str, overwrite: bool) -> Path:
    """The target file, after checking it is not a folder and may be (over)written.

    Raises:
        WarehouseError: The path is a folder, or it exists and ``overwrite`` is false.
    """
    target = Path(path)
    if target.is_dir():
        raise WarehouseError(f"{target} is a folder; pass a file path such as {target / example}.")
    if target.exists() and not overwrite:
        raise WarehouseError(f"{target} already exists; pass overwrite (--force) to replace it.")
    return target


def write_atomically(
    target: Path,
    *,
    what: str,
    load: Callable[[duckdb.DuckDBPyConnection], None],
    tables: Sequence[str],
    dates_sql: str,
) -> tuple[dict[str, int], date, date]:
    """Load a warehouse into a temporary DuckDB file and rename it to ``target``.

    Args:
        target: The file to write (its folder is created).
        what: The warehouse's name in error messages, e.g. ``demo``.
        load: Creates and fills the tables on the connection it is given.
        tables: The tables whose rows are counted for the report.
        dates_sql: A query returning the first and last date of the data.

    Returns:
        Row count per table, and the first and last date.

    Raises:
        WarehouseError: DuckDB failed, or the data has no dates; nothing is left at ``target`` or beside it.
    """
    import duckdb

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove(tmp)
    try:
        con = duckdb.connect(str(tmp))
        try:
            load(con)
            rows = {t: int(_scalar(con, f"SELECT COUNT(*) FROM {t}")) for t in tables}
            first, last = con.execute(dates_sql).fetchone() or (None, None)
            if not isinstance(first, date) or not isinstance(last, date):
                raise WarehouseError(f"The generated {what} warehouse has no dates; nothing was written.")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, target)
    except duckdb.Error as exc:
        raise WarehouseError(f"Building the {what} warehouse failed in DuckDB: {exc}; nothing was written.") from None
    finally:
        _remove(tmp)
    return rows, first, last


def _remove(tmp: Path) -> None:
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None
