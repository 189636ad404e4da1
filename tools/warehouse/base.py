"""The interface every warehouse backend implements, and the result it returns.

A runner executes one already-gated, read-only ``SELECT`` and hands back a pandas DataFrame of at most
``max_rows`` rows, cancelling the statement after ``timeout_s`` seconds. Runners are defence in depth behind the
SQL gate (:mod:`tools.sql_gate`): each backend also opens its connection or transaction read-only, so a statement
that slipped past the gate still cannot write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PlanEstimate", "QueryResult", "SQLRunner"]


@dataclass(frozen=True)
class QueryResult:
    """What one query returned.

    Attributes:
        frame: The rows, at most ``max_rows`` of them, with the query's column names.
        truncated: True when more rows existed than ``max_rows`` (only ``max_rows`` were fetched).
        elapsed_s: Wall time from sending the statement to having the rows.
        sql: The statement as executed.
    """

    frame: pd.DataFrame
    truncated: bool
    elapsed_s: float
    sql: str


@dataclass(frozen=True)
class PlanEstimate:
    """What the engine's own planner expects a query to cost, from ``EXPLAIN`` without running it.

    Attributes:
        rows: The most rows any step of the plan is expected to produce (a join's output, a scan), not just the
            final result: ``SELECT count(*)`` over a cross join of two million-row tables returns one row but
            builds 10^12 on the way.
        engine: The engine that made the estimate, for messages (``DuckDB``, ``PostgreSQL``).
    """

    rows: float
    engine: str


@runtime_checkable
class SQLRunner(Protocol):
    """A read-only connection to one warehouse.

    Attributes:
        dialect: The sqlglot dialect name of the engine (``duckdb``, ``postgres``, ``tsql``, ...), so the gate can
            transpile to it.
    """

    dialect: str

    def run(self, sql: str, *, max_rows: int, timeout_s: float) -> QueryResult:
        """Execute one read-only statement.

        A runner opened with a ``max_estimated_rows`` bound first asks :meth:`estimate` and refuses, without
        running it, a statement the engine expects to build more rows than that in any one step.

        Args:
            sql: The statement, already checked by the SQL gate.
            max_rows: Fetch at most this many rows; ``QueryResult.truncated`` says whether more existed.
            timeout_s: Cancel the statement after this many seconds.

        Returns:
            The rows and how the query went.

        Raises:
            kubeai.errors.WarehouseUnavailableError: The warehouse cannot be reached or opened (no query can run).
            kubeai.errors.WarehouseError: The statement failed or ran too long; the message includes the
                database's own words so a model can repair the query.
        """
        ...

    def estimate(self, sql: str, *, timeout_s: float) -> PlanEstimate | None:
        """The engine's estimate for a statement, from its ``EXPLAIN``, without running it.

        Returns:
            The estimate, or None when the engine gives no row estimates (the runner then runs queries without
            checking their size first).

        Raises:
            kubeai.errors.WarehouseError: The engine could not plan the statement.
        """
        ...

    def close(self) -> None:
        """Release the connection; calling it twice is harmless."""
        ...
