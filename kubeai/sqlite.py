"""One way the project's small SQLite stores (API keys, threads, feedback) open their file.

It lives in the lowest layer so that a store a lower package owns (the feedback that ``finetune`` reads and the
API writes) opens its file the same way as the app's own stores.
"""

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
        schema: Idempotent DDL (``CREATE TABLE IF NOT EXISTS ...``) run first; several statements may be given.
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
            for statement in filter(str.strip, schema.split(";")):
                connection.execute(statement)
            yield connection
    finally:
        connection.close()
