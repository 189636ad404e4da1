"""One way the app's small SQLite stores (API keys, the API's thread registry) open their file."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from kubeai.errors import ConfigError

__all__ = ["connect"]


@contextlib.contextmanager
def connect(path: Path, *, schema: str, what: str) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` with ``schema`` applied, in one transaction that commits on success; closed after.

    Args:
        path: The SQLite file; its folder is created.
        schema: Idempotent DDL (``CREATE TABLE IF NOT EXISTS ...``) run first.
        what: The store, as the error sentence names it ("the API key store").

    Raises:
        ConfigError: The file cannot be opened.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"Cannot open {what} {path}: {exc}.", field="data_dir") from None
    try:
        with connection:
            connection.execute(schema)
            yield connection
    finally:
        connection.close()
