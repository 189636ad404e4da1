"""``open_runner``: validate a warehouse URL and open the runner for it.

The backend is chosen from the URL's form by fixed rules, never by importing a name taken from the URL:

* a bare file path (relative to ``base_dir``), ``duckdb:path`` or ``duckdb:///absolute/path`` -> DuckDB;
* ``postgresql://``, ``postgres://``, ``postgresql+psycopg://`` -> PostgreSQL through psycopg 3;
* any other ``dialect+driver://`` URL -> SQLAlchemy, if its dialect is in
  :data:`tools.warehouse.SQLALCHEMY_DIALECTS`.
"""

from __future__ import annotations

import re
from pathlib import Path

from kubeai.errors import WarehouseError
from tools.warehouse.base import SQLRunner
from tools.warehouse.duckdb_runner import DuckDBRunner
from tools.warehouse.postgres_runner import PostgresRunner
from tools.warehouse.sqlalchemy_runner import SQLAlchemyRunner

__all__ = ["open_runner"]

_PSYCOPG_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SCHEME_WITHOUT_SLASHES = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:(?![\\/])")


def open_runner(url: str, *, base_dir: Path | None = None, max_estimated_rows: int | None = None) -> SQLRunner:
    """Open a read-only runner for a warehouse URL.

    Args:
        url: A DuckDB file path, ``duckdb:path``, ``duckdb:///abs/path``, a PostgreSQL URL or a SQLAlchemy URL.
        base_dir: Directory that relative file paths are resolved against (the config file's directory);
            the current directory when omitted.
        max_estimated_rows: The DuckDB and PostgreSQL runners refuse, before running, a query the engine's
            ``EXPLAIN`` estimates to build more rows than this in one step (``warehouse.max_estimated_rows``);
            None runs every query. Other engines give no estimate.

    Returns:
        A runner whose ``dialect`` names the engine for the SQL gate.

    Raises:
        kubeai.errors.WarehouseError: The URL is empty or malformed, names an unsupported dialect, or points at a
            file that does not exist.
    """
    text = url.strip()
    if not text:
        raise WarehouseError("The warehouse URL is empty; set warehouse.url to a DuckDB file or a database URL.")
    if "\x00" in text or any(ch in text for ch in "\r\n"):
        raise WarehouseError("The warehouse URL contains control characters; set warehouse.url to a clean value.")
    if text.lower().startswith("duckdb:"):
        rest = text[len("duckdb:") :]
        rest = rest[2:] if rest.startswith("//") else rest
        return DuckDBRunner(_resolve(rest, base_dir, url), max_estimated_rows=max_estimated_rows)
    match = _SCHEME.match(text)
    if match is not None:
        scheme = match.group(1).lower()
        if scheme in _PSYCOPG_SCHEMES:
            return PostgresRunner(text, max_estimated_rows=max_estimated_rows)
        return SQLAlchemyRunner(text, base_dir=base_dir)
    if _SCHEME_WITHOUT_SLASHES.match(text):
        raise WarehouseError(
            f"Warehouse URL {text!r} is neither a file path nor a dialect://... URL; "
            "write postgresql://host/db, sqlite:///file.db or a DuckDB file path."
        )
    return DuckDBRunner(_resolve(text, base_dir, url), max_estimated_rows=max_estimated_rows)


def _resolve(raw: str, base_dir: Path | None, url: str) -> Path:
    if raw in {"", ":memory:"}:
        raise WarehouseError(f"Warehouse URL {url!r} must name a DuckDB file; an in-memory database has no data.")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path
