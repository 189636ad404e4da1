"""The local trace store: finished spans in ``<data_dir>/traces.sqlite``, read back by ``kubeai traces``.

:class:`SqliteSpanExporter` is an OpenTelemetry span exporter; :mod:`app.tracing` runs it behind a batch span
processor, so spans are written from a background thread in batches and a run never waits for the disk. A store
that cannot be written (a read-only folder, a full disk) is logged once and the runs go on untraced locally.

The store keeps the newest ``observability.max_runs`` traces (one trace per run, or per API request around a run)
and deletes older ones as new spans arrive. :class:`TraceStore` reads it: recent runs with their per-node latency
and tokens (:meth:`TraceStore.recent`), and one trace's spans (:meth:`TraceStore.spans`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from app._sqlite import connect
from kubeai.errors import TraceNotFoundError
from kubeai.tracing import (
    ENDUSER_ID,
    ERROR_TYPE,
    GEN_AI_AGENT_NAME,
    GEN_AI_CONVERSATION_ID,
    GEN_AI_OPERATION_NAME,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    KUBEAI_ADAPTER,
    KUBEAI_ENTRY,
    KUBEAI_LANGUAGE,
    KUBEAI_MODEL,
    KUBEAI_NODE,
    KUBEAI_SPAN,
)

__all__ = [
    "OUTSIDE_NODES",
    "NodeSummary",
    "RunSummary",
    "SpanRecord",
    "SqliteSpanExporter",
    "TraceStore",
    "span_record",
]

log = logging.getLogger("kubeai.traces")

STORE_FILE = "traces.sqlite"

_SPANS = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_id TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    thread_id TEXT,
    attributes TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
)
"""
_MORE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS traces (trace_id TEXT PRIMARY KEY, started_ns INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS traces_started ON traces (started_ns)",
    "CREATE INDEX IF NOT EXISTS spans_thread ON spans (thread_id)",
)


@dataclass(frozen=True, kw_only=True)
class SpanRecord:
    """One finished span as the store keeps it (ids as hex, times in nanoseconds since the epoch)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status: str
    status_message: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """How long the span took."""
        return max(self.end_ns - self.start_ns, 0) / 1e9

    @property
    def span_type(self) -> str:
        """``request``, ``run``, ``node``, ``chat``, or ``other``."""
        if self.attributes.get(GEN_AI_OPERATION_NAME) == "chat":
            return "chat"
        return str(self.attributes.get(KUBEAI_SPAN, "other"))

    @property
    def tokens(self) -> tuple[int, int]:
        """The input and output tokens of a model call (zero for other spans)."""
        return int(self.attributes.get(GEN_AI_USAGE_INPUT_TOKENS, 0)), int(
            self.attributes.get(GEN_AI_USAGE_OUTPUT_TOKENS, 0)
        )


@dataclass(frozen=True, kw_only=True)
class NodeSummary:
    """A graph node's share of a run: how often it ran, for how long, and the tokens its model calls used."""

    name: str
    runs: int
    seconds: float
    input_tokens: int
    output_tokens: int
    calls: int


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """One trace summarized: its outermost run, the thread and user, per-node latency and tokens."""

    trace_id: str
    started: datetime
    seconds: float
    agent: str
    entry: str
    thread_id: str | None
    user: str | None
    model: str | None
    adapter: str | None
    language: str | None
    error: str | None
    nodes: tuple[NodeSummary, ...]

    @property
    def input_tokens(self) -> int:
        """All model calls' input tokens in the run."""
        return sum(n.input_tokens for n in self.nodes)

    @property
    def output_tokens(self) -> int:
        """All model calls' output tokens in the run."""
        return sum(n.output_tokens for n in self.nodes)


def span_record(span: ReadableSpan) -> SpanRecord:
    """The store's record of a finished OpenTelemetry span."""
    context = span.get_span_context()
    assert context is not None, "a finished SDK span has a context"
    parent = span.parent
    return SpanRecord(
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        kind=span.kind.name.lower(),
        start_ns=span.start_time or 0,
        end_ns=span.end_time or span.start_time or 0,
        status=span.status.status_code.name.lower(),
        status_message=span.status.description,
        attributes={k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()},
    )


class TraceStore:
    """Spans in one SQLite file: written in batches, trimmed to the newest traces, read back per run or trace.

    Args:
        path: The SQLite file (``<data_dir>/traces.sqlite``); created on the first write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, spans: Iterable[SpanRecord], *, max_runs: int) -> None:
        """Store ``spans`` and keep only the newest ``max_runs`` traces.

        Raises:
            ConfigError: The file cannot be opened.
            sqlite3.Error: It cannot be written.
        """
        rows = [
            (
                s.trace_id,
                s.span_id,
                s.parent_id,
                s.name,
                s.kind,
                s.start_ns,
                s.end_ns,
                s.status,
                s.status_message,
                _thread_of(s),
                json.dumps(s.attributes, ensure_ascii=False, default=str),
            )
            for s in spans
        ]
        if not rows:
            return
        with self._open() as db:
            db.executemany("INSERT OR REPLACE INTO spans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany(
                "INSERT INTO traces VALUES (?, ?) ON CONFLICT (trace_id) "
                "DO UPDATE SET started_ns = min(started_ns, excluded.started_ns)",
                [(row[0], row[5]) for row in rows],
            )
            stale = "SELECT trace_id FROM traces ORDER BY started_ns DESC LIMIT -1 OFFSET ?"
            db.execute(f"DELETE FROM spans WHERE trace_id IN ({stale})", (max_runs,))
            db.execute(f"DELETE FROM traces WHERE trace_id IN ({stale})", (max_runs,))

    def recent(self, *, thread_id: str | None = None, limit: int = 20) -> list[RunSummary]:
        """The newest ``limit`` traces (of one thread, when given), newest first, each summarized as a run."""
        if not self.path.is_file():
            return []
        with self._open() as db:
            if thread_id is None:
                query = "SELECT trace_id FROM traces ORDER BY started_ns DESC LIMIT ?"
                ids = [row[0] for row in db.execute(query, (limit,))]
            else:
                query = (
                    "SELECT t.trace_id FROM traces t WHERE t.trace_id IN "
                    "(SELECT trace_id FROM spans WHERE substr(thread_id, 1, length(?)) = ?) "
                    "ORDER BY t.started_ns DESC LIMIT ?"
                )
                ids = [row[0] for row in db.execute(query, (thread_id, thread_id, limit))]
            spans = _read(db, "WHERE trace_id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))
        by_trace: dict[str, list[SpanRecord]] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        return [summarize(by_trace[i]) for i in ids if i in by_trace]

    def spans(self, trace_id: str) -> list[SpanRecord]:
        """The spans of the trace whose id is, or uniquely begins with, ``trace_id``, in start order.

        Raises:
            TraceNotFoundError: No stored trace has that id or begins with it, or several begin with it.
        """
        matches: list[str] = []
        if self.path.is_file() and trace_id:
            with self._open() as db:
                query = "SELECT trace_id FROM traces WHERE substr(trace_id, 1, ?) = ? LIMIT 4"
                matches = [row[0] for row in db.execute(query, (len(trace_id), trace_id.lower()))]
                if len(matches) == 1:
                    return _read(db, "WHERE trace_id = ?", (matches[0],))
        if matches:
            raise TraceNotFoundError(
                f"Several stored traces begin with {trace_id!r} ({', '.join(matches[:3])}, ...); give more of the id.",
                trace_id=trace_id,
                matches=tuple(matches),
            )
        raise TraceNotFoundError(
            f"No trace {trace_id!r} in {self.path}; `kubeai traces` lists the recent ones (the store keeps the "
            "newest observability.max_runs).",
            trace_id=trace_id,
        )

    @contextlib.contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        with connect(self.path, schema=_SPANS, what="the trace store") as db:
            for statement in _MORE_SCHEMA:
                db.execute(statement)
            yield db


class SqliteSpanExporter(SpanExporter):
    """Writes finished spans to a :class:`TraceStore`; a failing store is logged once and never fails a run.

    Args:
        path: The SQLite file.
        max_runs: Traces kept; older ones are deleted as new spans arrive.
    """

    def __init__(self, path: Path, *, max_runs: int) -> None:
        self.store = TraceStore(path)
        self.max_runs = max_runs
        self._warned = False
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Store one batch; ``FAILURE`` (logged the first time) when the store cannot be written."""
        try:
            with self._lock:
                self.store.write([span_record(s) for s in spans], max_runs=self.max_runs)
        except Exception as exc:  # any failure of the store: the run it traces must go on
            if not self._warned:
                self._warned = True
                log.warning(
                    "Cannot write traces to %s (%s); runs go on, but `kubeai traces` will miss them.",
                    self.store.path,
                    exc,
                )
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release: each batch opens and closes the file."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered here (the batch processor buffers)."""
        return True


OUTSIDE_NODES = "(no node)"
"""The name :func:`summarize` gives the model calls of a trace that ran outside every graph node."""


def summarize(spans: Sequence[SpanRecord]) -> RunSummary:
    """One trace's run: the outermost ``run`` span, its nodes' latency and the tokens of the model calls below."""
    by_id = {s.span_id: s for s in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in by_id else None
        children.setdefault(parent, []).append(span)
    runs = [s for s in spans if s.span_type == "run"]
    outer = min(runs, key=lambda s: (_depth(s, by_id), s.start_ns)) if runs else min(spans, key=lambda s: s.start_ns)
    root = min(spans, key=lambda s: (_depth(s, by_id), s.start_ns))
    nodes: dict[str, list[SpanRecord]] = {}
    for node in _descendants(outer, children, stop_at_runs=True):
        if node.span_type == "node":
            nodes.setdefault(str(node.attributes.get(KUBEAI_NODE, node.name)), []).append(node)
    summaries = []
    for name, found in sorted(nodes.items(), key=lambda item: min(s.start_ns for s in item[1])):
        chats = [c for n in found for c in _descendants(n, children) if c.span_type == "chat"]
        summaries.append(
            NodeSummary(
                name=name,
                runs=len(found),
                seconds=sum(s.seconds for s in found),
                input_tokens=sum(c.tokens[0] for c in chats),
                output_tokens=sum(c.tokens[1] for c in chats),
                calls=len(chats),
            )
        )
    counted = {c.span_id for n in nodes.values() for s in n for c in _descendants(s, children)}
    loose = [
        s
        for s in [outer, *_descendants(outer, children, stop_at_runs=True)]
        if s.span_type == "chat" and s.span_id not in counted
    ]
    if loose:  # model calls made outside any graph node (a prompt app, the support assistant, a lone call)
        summaries.append(
            NodeSummary(
                name=OUTSIDE_NODES,
                runs=len(loose),
                seconds=sum(c.seconds for c in loose),
                input_tokens=sum(c.tokens[0] for c in loose),
                output_tokens=sum(c.tokens[1] for c in loose),
                calls=len(loose),
            )
        )
    attributes = {**root.attributes, **outer.attributes}
    failed = next((s for s in (outer, root) if s.status == "error"), None)
    error = None
    if failed is not None:
        error = str(failed.attributes.get(ERROR_TYPE) or failed.status_message or "error")
    thread = attributes.get(GEN_AI_CONVERSATION_ID) or next((_thread_of(s) for s in spans if _thread_of(s)), None)
    return RunSummary(
        trace_id=outer.trace_id,
        started=datetime.fromtimestamp(root.start_ns / 1e9, UTC),
        seconds=root.seconds,
        agent=str(attributes.get(GEN_AI_AGENT_NAME, outer.name)),
        entry=str(attributes.get(KUBEAI_ENTRY, "")),
        thread_id=str(thread) if thread else None,
        user=_text(attributes.get(ENDUSER_ID)),
        model=_text(attributes.get(KUBEAI_MODEL)),
        adapter=_text(attributes.get(KUBEAI_ADAPTER)),
        language=_text(attributes.get(KUBEAI_LANGUAGE)),
        error=error,
        nodes=tuple(summaries),
    )


def depth_first(spans: Sequence[SpanRecord]) -> list[tuple[int, SpanRecord]]:
    """``(depth, span)`` for a trace's spans, parents before children, siblings in start order."""
    by_id = {s.span_id: s for s in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in sorted(spans, key=lambda s: s.start_ns):
        children.setdefault(span.parent_id if span.parent_id in by_id else None, []).append(span)
    ordered: list[tuple[int, SpanRecord]] = []
    stack = [(0, s) for s in reversed(children.get(None, []))]
    while stack:
        depth, span = stack.pop()
        ordered.append((depth, span))
        stack.extend((depth + 1, c) for c in reversed(children.get(span.span_id, [])))
    return ordered


def _descendants(
    span: SpanRecord, children: Mapping[str | None, list[SpanRecord]], *, stop_at_runs: bool = False
) -> list[SpanRecord]:
    found: list[SpanRecord] = []
    stack = list(children.get(span.span_id, []))
    while stack:
        child = stack.pop()
        found.append(child)
        if not (stop_at_runs and child.span_type == "run"):
            stack.extend(children.get(child.span_id, []))
    return found


def _depth(span: SpanRecord, by_id: Mapping[str, SpanRecord]) -> int:
    depth = 0
    while span.parent_id in by_id:
        span = by_id[span.parent_id]  # type: ignore[index]
        depth += 1
    return depth


def _read(db: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> list[SpanRecord]:
    query = (
        "SELECT trace_id, span_id, parent_id, name, kind, start_ns, end_ns, status, status_message, attributes "
        f"FROM spans {where} ORDER BY start_ns"
    )
    return [
        SpanRecord(
            trace_id=row[0],
            span_id=row[1],
            parent_id=row[2],
            name=row[3],
            kind=row[4],
            start_ns=row[5],
            end_ns=row[6],
            status=row[7],
            status_message=row[8],
            attributes=json.loads(row[9]),
        )
        for row in db.execute(query, params)
    ]


def _thread_of(span: SpanRecord) -> str | None:
    value = span.attributes.get(GEN_AI_CONVERSATION_ID)
    return str(value) if value else None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
