"""Read-only warehouse runners: execute gated SQL and return a pandas DataFrame.

``open_runner(url)`` validates a warehouse URL and returns a :class:`SQLRunner` for it: DuckDB (a file path,
``duckdb:///path`` or ``duckdb:path``), PostgreSQL through psycopg 3 (``postgresql://``, ``postgres://``,
``postgresql+psycopg://``), or any other SQLAlchemy URL whose dialect is in :data:`SQLALCHEMY_DIALECTS`.
``runner.run(sql, max_rows=, timeout_s=)`` returns a :class:`QueryResult`; ``runner.estimate(sql, timeout_s=)``
the engine's own :class:`PlanEstimate` (DuckDB and PostgreSQL), which ``open_runner(..., max_estimated_rows=)``
makes the runner check before every query. See ``docs/warehouses-and-charts.md``.
"""

from __future__ import annotations

from tools.warehouse.base import PlanEstimate, QueryResult, SQLRunner
from tools.warehouse.duckdb_runner import DuckDBRunner
from tools.warehouse.factory import open_runner
from tools.warehouse.postgres_runner import PostgresRunner
from tools.warehouse.sqlalchemy_runner import SQLALCHEMY_DIALECTS, SQLAlchemyRunner

__all__ = [
    "SQLALCHEMY_DIALECTS",
    "DuckDBRunner",
    "PlanEstimate",
    "PostgresRunner",
    "QueryResult",
    "SQLAlchemyRunner",
    "SQLRunner",
    "open_runner",
]
