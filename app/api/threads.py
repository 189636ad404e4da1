"""The thread registry: who owns each thread, which assistant it talks to, and its status, in a SQLite file.

The conversation itself lives in the metrics agent's checkpointer; the planner keeps no checkpoints, so its
thread's last values (the plan, the answer, the turns so far) are kept here. Both survive a restart.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app._sqlite import connect

__all__ = ["ThreadRecord", "ThreadRegistry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_threads (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    "values" TEXT NOT NULL
)
"""
_COLUMNS = 'thread_id, owner, assistant_id, created_at, updated_at, metadata, status, "values"'


@dataclass(frozen=True, kw_only=True)
class ThreadRecord:
    """One thread of the API."""

    thread_id: str
    owner: str
    assistant_id: str
    created_at: str
    updated_at: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    status: str = "idle"
    values: Mapping[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ThreadRegistry:
    """Threads in ``<data_dir>/api_threads.sqlite``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with connect(self.path, schema=_SCHEMA, what="the thread registry") as connection:
            yield connection

    def create(self, thread_id: str, *, owner: str, assistant_id: str, metadata: Mapping[str, Any]) -> ThreadRecord:
        """Register a new thread; ``None`` is never returned: an existing id raises ``sqlite3.IntegrityError``."""
        now = _now()
        record = ThreadRecord(
            thread_id=thread_id,
            owner=owner,
            assistant_id=assistant_id,
            created_at=now,
            updated_at=now,
            metadata=dict(metadata),
        )
        with self._connect() as db:
            db.execute(
                f"INSERT INTO api_threads ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (thread_id, owner, assistant_id, now, now, json.dumps(dict(metadata)), "idle", "{}"),
            )
        return record

    def get(self, thread_id: str) -> ThreadRecord | None:
        """The thread, or ``None``."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM api_threads WHERE thread_id = ?", (thread_id,)).fetchone()
        return None if row is None else _record(row)

    def owned_by(
        self, owner: str, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[ThreadRecord]:
        """``owner``'s threads (with ``status`` only, when given), most recently updated first."""
        where, params = ("owner = ? AND status = ?", (owner, status)) if status else ("owner = ?", (owner,))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM api_threads WHERE {where} ORDER BY updated_at DESC, thread_id "
                "LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [_record(row) for row in rows]

    def update(self, thread_id: str, *, status: str, values: Mapping[str, Any] | None = None) -> None:
        """Set the thread's status (and its stored values, for the planner)."""
        with self._connect() as db:
            if values is None:
                db.execute(
                    "UPDATE api_threads SET status = ?, updated_at = ? WHERE thread_id = ?",
                    (status, _now(), thread_id),
                )
            else:
                db.execute(
                    'UPDATE api_threads SET status = ?, updated_at = ?, "values" = ? WHERE thread_id = ?',
                    (status, _now(), json.dumps(dict(values), ensure_ascii=False, default=str), thread_id),
                )


def _record(row: tuple[Any, ...]) -> ThreadRecord:
    return ThreadRecord(
        thread_id=row[0],
        owner=row[1],
        assistant_id=row[2],
        created_at=row[3],
        updated_at=row[4],
        metadata=json.loads(row[5]),
        status=row[6],
        values=json.loads(row[7]),
    )
