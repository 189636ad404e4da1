"""The one-sentence :class:`~kubeai.errors.WarehouseError` messages every runner raises."""

from __future__ import annotations

import re

from kubeai.errors import WarehouseError, WarehouseUnavailableError

__all__ = ["check_limits", "connection_error", "query_error", "timeout_error"]


def _db_words(exc: BaseException | str) -> str:
    """The database's own message on one line, without a trailing full stop."""
    text = re.sub(r"\s+", " ", str(exc)).strip().rstrip(".")
    return text or type(exc).__name__


def check_limits(max_rows: int, timeout_s: float) -> None:
    """Reject a non-positive row cap or timeout before anything is sent."""
    if max_rows < 1:
        raise WarehouseError(f"max_rows must be at least 1, got {max_rows}; pass the row cap from the config.")
    if not timeout_s > 0:
        raise WarehouseError(f"timeout_s must be positive, got {timeout_s}; pass the statement timeout in seconds.")


def timeout_error(timeout_s: float) -> WarehouseError:
    """The error for a statement cancelled after ``timeout_s`` seconds."""
    return WarehouseError(
        f"The query ran longer than {timeout_s:g} s and was cancelled; narrow the date range or add filters."
    )


def query_error(engine: str, exc: BaseException | str) -> WarehouseError:
    """The error for a statement the database rejected, quoting the database's message for repair."""
    return WarehouseError(f"{engine} rejected the query ({_db_words(exc)}); fix the SQL and try again.")


def connection_error(engine: str, target: str, exc: BaseException | str) -> WarehouseUnavailableError:
    """The error for a warehouse that could not be reached or opened."""
    return WarehouseUnavailableError(
        f"Could not connect to the {engine} warehouse at {target} ({_db_words(exc)}); "
        "check that it is running and that warehouse.url is right."
    )
