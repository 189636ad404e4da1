"""Users' ratings and corrections of answers, kept with the run they judge, in ``<data_dir>/feedback.sqlite``.

The API writes it (``POST /threads/{id}/feedback``, and an approved edit of SQL); :mod:`finetune.feedback_data`
reads it to make candidate training examples. It lives here, below ``app``, so that both can use it.

    store = FeedbackStore.in_data_dir(config.data_dir)
    record = store.add(FeedbackDraft(user="ana", thread_id="t1", rating="down", correction=Correction(metric="gmv")))
    store.recent(user="ana")
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from kubeai.sqlite import connect

__all__ = ["Correction", "FeedbackDraft", "FeedbackRecord", "FeedbackStore", "Rating"]

Rating = Literal["up", "down"]
Origin = Literal["api", "approval"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    user TEXT NOT NULL,
    origin TEXT NOT NULL,
    thread_id TEXT,
    run_id TEXT,
    checkpoint_id TEXT,
    trace_id TEXT,
    assistant TEXT,
    question TEXT,
    answer TEXT,
    sql TEXT,
    query TEXT,
    rating TEXT CHECK (rating IN ('up', 'down')),
    correction_sql TEXT,
    correction_metric TEXT,
    correction_text TEXT,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_user_time ON feedback (user, created_at)
"""
_COLUMNS = (
    "id, created_at, user, origin, thread_id, run_id, checkpoint_id, trace_id, assistant, question, answer, sql, "
    "query, rating, correction_sql, correction_metric, correction_text, status"
)


@dataclass(frozen=True, kw_only=True)
class Correction:
    """What the user says the answer should have been: a statement, a metric, or words; any may be ``None``."""

    sql: str | None = None
    metric: str | None = None
    text: str | None = None

    @property
    def empty(self) -> bool:
        """Whether it says nothing."""
        return not any((value or "").strip() for value in (self.sql, self.metric, self.text))


@dataclass(frozen=True, kw_only=True)
class FeedbackDraft:
    """Feedback to store: who gave it, on which run, what was shown, and the rating or correction.

    Attributes:
        user: The key's user.
        origin: ``api`` (the feedback endpoint) or ``approval`` (an edited SQL approved to run).
        thread_id: The thread the answer belongs to.
        run_id: The run that answered, when the client knows it.
        checkpoint_id: The checkpoint the answer was read from.
        trace_id: The run's trace, when tracing recorded one.
        assistant: ``metrics`` or ``planner``.
        question: The question as the user asked it.
        answer: The answer shown.
        sql: The SQL shown (as gated and run).
        query: The structured query (a MetricQuery as JSON) the SQL was compiled from, if any.
        rating: ``up``, ``down`` or ``None``.
        correction: The correction, or ``None``.
    """

    user: str
    origin: Origin = "api"
    thread_id: str | None = None
    run_id: str | None = None
    checkpoint_id: str | None = None
    trace_id: str | None = None
    assistant: str | None = None
    question: str | None = None
    answer: str | None = None
    sql: str | None = None
    query: dict[str, Any] | None = None
    rating: Rating | None = None
    correction: Correction | None = None


@dataclass(frozen=True, kw_only=True)
class FeedbackRecord(FeedbackDraft):
    """Stored feedback: the draft with its id, time and status (``stored`` when written)."""

    id: str
    created_at: str
    status: str = "stored"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, as ``GET /feedback`` shows it."""
        return asdict(self)


class FeedbackStore:
    """Feedback in one SQLite file; every call opens, commits and closes its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FeedbackStore:
        """The store at ``<data_dir>/feedback.sqlite``."""
        return cls(data_dir / "feedback.sqlite")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with connect(self.path, schema=_SCHEMA, what="the feedback store") as connection:
            yield connection

    def add(self, draft: FeedbackDraft) -> FeedbackRecord:
        """Store ``draft`` under a new id and return the record."""
        record = FeedbackRecord(
            **{k: getattr(draft, k) for k in FeedbackDraft.__dataclass_fields__},
            id=uuid.uuid4().hex,
            created_at=datetime.now(UTC).isoformat(),
        )
        fix = record.correction or Correction()
        with self._connect() as db:
            db.execute(
                f"INSERT INTO feedback ({_COLUMNS}) VALUES ({', '.join('?' * 18)})",
                (
                    record.id,
                    record.created_at,
                    record.user,
                    record.origin,
                    record.thread_id,
                    record.run_id,
                    record.checkpoint_id,
                    record.trace_id,
                    record.assistant,
                    record.question,
                    record.answer,
                    record.sql,
                    None if record.query is None else json.dumps(record.query, ensure_ascii=False),
                    record.rating,
                    fix.sql,
                    fix.metric,
                    fix.text,
                    record.status,
                ),
            )
        return record

    def get(self, feedback_id: str) -> FeedbackRecord | None:
        """One record, or ``None``."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM feedback WHERE id = ?", (feedback_id,)).fetchone()
        return None if row is None else _record(row)

    def recent(self, *, user: str | None = None, limit: int | None = None) -> list[FeedbackRecord]:
        """Records newest first: one user's, or everyone's when ``user`` is ``None``; at most ``limit``."""
        where, args = ("WHERE user = ?", [user]) if user is not None else ("", [])
        params: list[object] = list(args)
        sql = f"SELECT {_COLUMNS} FROM feedback {where} ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute(sql, params).fetchall()
        return [_record(row) for row in rows]


def _record(row: tuple[Any, ...]) -> FeedbackRecord:
    (id_, created, user, origin, thread, run, checkpoint, trace, assistant, question, answer, sql, query) = row[:13]
    rating, fix_sql, fix_metric, fix_text, status = row[13:]
    correction = None
    if fix_sql is not None or fix_metric is not None or fix_text is not None:
        correction = Correction(sql=fix_sql, metric=fix_metric, text=fix_text)
    return FeedbackRecord(
        id=id_,
        created_at=created,
        user=user,
        origin=origin,
        thread_id=thread,
        run_id=run,
        checkpoint_id=checkpoint,
        trace_id=trace,
        assistant=assistant,
        question=question,
        answer=answer,
        sql=sql,
        query=None if query is None else json.loads(query),
        rating=rating,
        correction=correction,
        status=status,
    )
