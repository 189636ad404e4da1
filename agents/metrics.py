"""The metrics-analysis agent: ask a business question, get the number, the SQL, a chart and an answer.

    async with MetricsAgent.open(load_config()) as agent:
        result = await agent.ask("上个月各地区的GMV是多少？")
        print(result.answer, result.sql)
        result.frame        # pandas DataFrame (raw column names), built once on first use
        result.headers      # the columns' labels with units, in the question's language
        result.chart        # Plotly figure JSON

Threads (``thread_id``) keep the conversation in a LangGraph checkpointer (SQLite in ``data_dir`` by default,
PostgreSQL when ``metrics_agent.checkpoint_url`` says so), so follow-ups like "and by month?" work. With
``require_approval``, :meth:`MetricsAgent.ask` returns with ``pending_sql`` set and :meth:`MetricsAgent.resume`
continues after a human approves, edits or rejects the SQL.

Each step's checkpoint is written before the next step starts (``durability="sync"``), so a process killed
mid-answer leaves its question in the thread with no answer; the next turn leaves such an unanswered question out
of the history it rewrites follow-ups with (:meth:`MetricsAgent.history` marks it ``unanswered``). :meth:`ask`
starts a thread under any new id; :meth:`find_thread` resolves the id, or a unique beginning of one, of a thread
that must already exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from opentelemetry.trace import Span

from graphs.metrics import (
    ColumnInfo,
    Context,
    InputState,
    Role,
    State,
    build_graph,
    checkpoint_serializer,
    conversation,
    display_headers,
    result_frame,
)
from knowledge.catalog import (
    Catalog,
    catalog_collection,
    catalog_entries,
    demo_catalog_path,
    load_catalog,
)
from knowledge.catalog.scope import row_filters
from knowledge.index import KnowledgeBase, open_knowledge_base
from kubeai.config import ProjectConfig
from kubeai.errors import CatalogError, ConfigError, ThreadNotFoundError
from kubeai.progress import ProgressCallback
from kubeai.tracing import KUBEAI_LANGUAGE, run_span
from serving.adapters import AdapterStore, active_model
from serving.client import ModelClient
from tools.metric_query.values import DimensionValues, ValueReadError, read_dimension_values
from tools.sql_gate import GateContext
from tools.warehouse import SQLRunner, open_runner

__all__ = ["MetricsAgent", "MetricsResult", "ask", "metrics_role"]

Decision = Literal["approve", "reject"] | Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class MetricsResult:
    """Everything one question produced.

    The result table is ``columns`` and JSON ``rows`` as the graph carried them, with what each column holds
    (``column_info``: role, unit, format and labels; ``column_source`` says whether the compiler declared them or
    they were inferred from free SQL's values). :attr:`frame` builds the DataFrame once, on first use;
    :attr:`headers` are the columns' display labels.
    """

    thread_id: str
    question: str
    standalone_question: str
    language: str
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...]
    query: dict[str, Any] | None
    path: str
    sql: str | None
    dialect: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool
    chart: dict[str, Any] | None
    chart_kind: str | None
    answer: str
    abstained: bool
    reason: str
    definitions: tuple[dict[str, str], ...]
    timings: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, dict[str, int]] = field(default_factory=dict)
    pending_sql: str | None = None
    # Per prompt of the turn: its tokens and budget, what was left out to fit the context, too long to send,
    # answer cut off by its token limit.
    prompt_fit: tuple[dict[str, Any], ...] = ()
    column_info: tuple[ColumnInfo, ...] = ()
    column_source: str = ""

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The result table as a DataFrame with the raw column names (dates parsed), built on first use."""
        return result_frame(self.columns, self.rows, self.column_info)

    @property
    def headers(self) -> list[str]:
        """The columns' labels with units in the question's language (``GMV (CNY)``, ``成交额（CNY）``)."""
        return display_headers(self.columns, self.column_info, self.language)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: the fields ``kubeai ask --json`` prints."""
        return {
            "thread_id": self.thread_id,
            "question": self.question,
            "standalone_question": self.standalone_question,
            "metrics": list(self.metrics),
            "dimensions": list(self.dimensions),
            "query": self.query,
            "path": self.path,
            "sql": self.sql,
            "dialect": self.dialect,
            "columns": list(self.columns),
            "headers": self.headers,
            "column_info": [dict(c) for c in self.column_info],
            "column_source": self.column_source,
            "rows": [list(row) for row in self.rows],
            "truncated": self.truncated,
            "chart": self.chart,
            "chart_kind": self.chart_kind,
            "answer": self.answer,
            "abstained": self.abstained,
            "reason": self.reason,
            "definitions": list(self.definitions),
            "timings": self.timings,
            "tokens": self.tokens,
            "pending_sql": self.pending_sql,
            "prompt_fit": list(self.prompt_fit),
        }


def metrics_role(catalog: Catalog) -> str:
    """The role a metrics adapter fine-tuned on ``catalog`` is promoted for: ``metrics:<catalog name>``."""
    return f"metrics:{catalog.name}"


_log = logging.getLogger(__name__)

VALUES_PER_DIMENSION = 1000
"""How many of each categorical dimension's values the agent reads when it opens, to find them in questions."""


def _dimension_values(catalog: Catalog, runner: SQLRunner, timeout_s: float) -> DimensionValues | None:
    """The warehouse's dimension values for linking a question's words to filters; ``None`` when it refuses.

    Linking only corrects the model's filters, so a warehouse that cannot list a dimension's values (a missing
    table, a permission) costs that help and a warning, not the agent: the question's own query reports the
    warehouse's error if it has one.
    """
    try:
        return read_dimension_values(catalog, runner, max_values=VALUES_PER_DIMENSION, timeout_s=timeout_s)
    except ValueReadError as exc:
        _log.warning("Question words will not be linked to dimension values: %s", exc)
        return None


def _tuned_model(config: ProjectConfig, catalog: Catalog) -> str | None:
    """The adapter ``metrics_agent.adapter`` names: ``auto`` reads the promoted one, ``none`` turns it off."""
    chosen = config.metrics_agent.adapter
    if chosen == "none":
        return None
    if chosen == "auto":
        return active_model(AdapterStore(config.data_dir / "adapters"), metrics_role(catalog))
    return chosen


class MetricsAgent:
    """Answers metric questions on one warehouse; build it with :meth:`open` from the project configuration."""

    def __init__(
        self, *, context: Context, checkpointer: BaseCheckpointSaver[str] | None, threads_at: str = "the checkpointer"
    ) -> None:
        self.context = context
        self._graph = build_graph(checkpointer)
        self._checkpointer = checkpointer
        self._threads_at = threads_at
        self._stateless = checkpointer is None

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        config: ProjectConfig,
        *,
        catalog_path: Path | None = None,
        db_url: str | None = None,
        model: str | None = None,
        llm: ModelClient | None = None,
        tuned_model: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> AsyncIterator[MetricsAgent]:
        """Open the catalog, warehouse, knowledge base and checkpointer named by ``config``; close them after.

        Args:
            config: The project configuration.
            catalog_path: Overrides ``warehouse.catalog`` (default: the bundled demo catalog).
            db_url: Overrides ``warehouse.url`` (default: the catalog's own connection).
            model: The model or adapter to use (default: ``models.agents.metrics`` or the base model).
            llm: A model client to use instead of one built from ``config.llm``.
            tuned_model: The catalog's fine-tuned adapter (default: ``metrics_agent.adapter``; ``auto`` is the
                adapter promoted for the catalog, see :func:`metrics_role`).
            progress: Told how opening goes (see :mod:`kubeai.progress`): loading the catalog, comparing it with
                its index and embedding what changed, which can take minutes for a large catalog.

        Raises:
            CatalogError: The catalog is invalid, or makes more entries than ``metrics_agent.max_catalog_entries``.
        """
        settings = config.metrics_agent
        path = catalog_path or config.warehouse.catalog or demo_catalog_path()
        if progress is not None:
            progress(f"loading catalog {Path(path).name}", 0, None)
        catalog = await asyncio.to_thread(load_catalog, path)
        url = db_url or config.warehouse.url or catalog.warehouse.connection
        runner = open_runner(
            url, base_dir=Path(path).resolve().parent, max_estimated_rows=config.warehouse.max_estimated_rows
        )
        knowledge: KnowledgeBase | None = None
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(runner.close)
            if settings.rag:
                knowledge = open_knowledge_base(
                    embeddings=config.embeddings, store=config.vector_store, data_dir=config.data_dir
                )
                stack.callback(knowledge.close)
                await asyncio.to_thread(
                    ensure_indexed, knowledge, catalog, max_entries=settings.max_catalog_entries, progress=progress
                )
            client = llm or ModelClient(config.llm, default_model=config.models.base.name)
            gate = GateContext(
                schema=catalog.schema_mapping(),
                source_dialect=catalog.warehouse.dialect,
                target_dialect=runner.dialect,
                max_rows=config.warehouse.max_rows,
                cross_join_tables=frozenset(config.warehouse.cross_join_tables),
            )
            values = await asyncio.to_thread(_dimension_values, catalog, runner, config.warehouse.statement_timeout_s)
            context = Context(
                catalog=catalog,
                knowledge=knowledge,
                llm=client,
                runner=runner,
                gate=gate,
                model=model or config.models.agents.get("metrics"),
                strategy=settings.strategy,
                max_attempts=settings.max_attempts,
                require_approval=settings.require_approval,
                chain_of_thought=settings.chain_of_thought,
                retrieval_k=settings.retrieval_k,
                alpha=settings.alpha,
                max_rows=config.warehouse.max_rows,
                timeout_s=config.warehouse.statement_timeout_s,
                tuned_model=tuned_model or _tuned_model(config, catalog),
                values=values,
            )
            checkpointer = await stack.enter_async_context(_checkpointer(config))
            yield cls(context=context, checkpointer=checkpointer, threads_at=_checkpoint_location(config))

    def scoped(
        self, scope: Mapping[str, Sequence[str]], *, require_approval: bool | None = None, model: str | None = None
    ) -> MetricsAgent:
        """This agent for a user who may see only ``scope``'s rows (catalog dimension to allowed values).

        The scope becomes row filters the SQL gate applies to every query of every path, whatever the question
        or the model's SQL says (:func:`knowledge.catalog.scope.row_filters`). The view shares the graph and the
        checkpointer; an empty scope (and the overrides left ``None``) returns this agent.
        ``require_approval`` overrides ``metrics_agent.require_approval`` for runs of the view. ``model`` (a
        served model or adapter, checked by the caller) answers every model call of the view's runs: the catalog's
        tuned adapter is left out unless ``model`` is that adapter, whose first attempt keeps its short prompt.

        Raises:
            ConfigError: A scope dimension is not one of the catalog's or lists no values.
        """
        if not scope and require_approval is None and model is None:
            return self
        context = self.context
        if scope:
            filters = row_filters(context.catalog, scope)
            context = dataclasses.replace(context, gate=dataclasses.replace(context.gate, scope_filters=filters))
        if require_approval is not None:
            context = dataclasses.replace(context, require_approval=require_approval)
        if model is not None:
            tuned = context.tuned_model if context.tuned_model == model else None
            context = dataclasses.replace(context, model=model, tuned_model=tuned)
        view = copy.copy(self)
        view.context = context
        return view

    async def last_result(self, thread_id: str) -> MetricsResult:
        """The latest turn of a stored thread as a result (``pending_sql`` set while it waits for approval)."""
        snapshot = await self._graph.aget_state(self._config(thread_id))
        return await self._result(thread_id, str((snapshot.values or {}).get("question", "")))

    async def checkpoints(self, thread_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The thread's checkpoints, newest first: id, time, the steps still to run, and the question then."""
        found = []
        async for snapshot in self._graph.aget_state_history(self._config(thread_id), limit=limit):
            values = snapshot.values or {}
            found.append(
                {
                    "checkpoint_id": (snapshot.config.get("configurable") or {}).get("checkpoint_id"),
                    "created_at": snapshot.created_at,
                    "next": list(snapshot.next),
                    "step": (snapshot.metadata or {}).get("step"),
                    "question": values.get("question", ""),
                    "answer": values.get("answer", ""),
                }
            )
        return found

    async def ask(self, question: str, *, thread_id: str | None = None) -> MetricsResult:
        """Answer one question, continuing ``thread_id``'s conversation if given."""
        thread = thread_id or uuid.uuid4().hex
        with self._run_span("ask", thread) as span:
            await self._graph.ainvoke(
                InputState(question=question), self._config(thread), context=self.context, durability="sync"
            )
            result = await self._result(thread, question)
            span.set_attribute(KUBEAI_LANGUAGE, result.language)
        return result

    async def resume(self, thread_id: str, decision: Decision) -> MetricsResult:
        """Continue a question paused for approval.

        Args:
            thread_id: The paused thread.
            decision: ``"approve"``, ``"reject"``, or ``{"action": "edit", "sql": "SELECT ..."}``.
        """
        payload = {"action": decision} if isinstance(decision, str) else dict(decision)
        with self._run_span("resume", thread_id) as span:
            state = await self._graph.aget_state(self._config(thread_id))
            question = str(state.values.get("question", ""))
            await self._graph.ainvoke(
                Command(resume=payload), self._config(thread_id), context=self.context, durability="sync"
            )
            result = await self._result(thread_id, question)
            span.set_attribute(KUBEAI_LANGUAGE, result.language)
        return result

    async def stream(self, question: str, *, thread_id: str | None = None) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yield ``(node, update)`` as each node finishes, for progress display."""
        thread = thread_id or uuid.uuid4().hex
        with self._run_span("stream", thread) as span:
            async for chunk in self._graph.astream(
                InputState(question=question),
                self._config(thread),
                context=self.context,
                stream_mode="updates",
                durability="sync",
            ):
                for node, update in chunk.items():
                    if isinstance(update, dict) and update.get("language"):
                        span.set_attribute(KUBEAI_LANGUAGE, str(update["language"]))
                    yield node, update if isinstance(update, dict) else {}

    async def history(self, thread_id: str) -> list[tuple[Role, str]]:
        """The thread's conversation as ``(role, text)`` pairs, read back from the checkpointer.

        Roles are ``user``, ``assistant``, and ``unanswered`` for a question whose turn never finished (the
        process was killed mid-answer, or it waits for approval); follow-ups are not rewritten into those.
        """
        snapshot = await self._graph.aget_state(self._config(thread_id))
        messages = snapshot.values.get("messages", []) if snapshot.values else []
        return conversation(messages)

    async def has_thread(self, thread_id: str) -> bool:
        """Whether the checkpointer holds a thread with exactly this id."""
        if self._checkpointer is None:
            return False
        return await self._checkpointer.aget_tuple(self._config(thread_id)) is not None

    async def find_thread(self, thread_id: str) -> str:
        """The full id of a stored thread: ``thread_id`` itself, or the one stored id that begins with it.

        :meth:`ask` starts a thread under any new id; a caller that means to continue a conversation (``kubeai
        ask --thread``) resolves the id here first, so a mistyped or shortened id is an error, not an empty thread.

        Raises:
            ThreadNotFoundError: No stored thread has that id or begins with it, or several begin with it.
        """
        if await self.has_thread(thread_id):
            return thread_id
        matches = await self._thread_ids(thread_id) if thread_id else []
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
            raise ThreadNotFoundError(
                f"{len(matches)} conversation threads begin with {thread_id!r} ({shown}); give more of the id.",
                thread_id=thread_id,
                matches=tuple(matches),
            )
        raise ThreadNotFoundError(
            f"No conversation thread {thread_id!r} in {self._threads_at}; check the id (the CLI prints it after each "
            "answer), or start a new thread by leaving --thread out.",
            thread_id=thread_id,
        )

    async def _thread_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Stored thread ids that begin with ``prefix``, at most ``limit``."""
        saver = self._checkpointer
        if saver is None:
            return []
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        if isinstance(saver, AsyncSqliteSaver):  # the default store: ask SQLite rather than read every checkpoint
            await saver.setup()
            query = "SELECT DISTINCT thread_id FROM checkpoints WHERE substr(thread_id, 1, ?) = ? LIMIT ?"
            async with saver.conn.execute(query, (len(prefix), prefix, limit)) as cursor:
                return sorted(str(row[0]) for row in await cursor.fetchall())
        found: set[str] = set()
        async for item in saver.alist(None):
            thread = str(item.config["configurable"]["thread_id"])
            if thread.startswith(prefix):
                found.add(thread)
                if len(found) >= limit:
                    break
        return sorted(found)

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    def _run_span(self, entry: str, thread_id: str) -> contextlib.AbstractContextManager[Span]:
        """The run's span (:func:`kubeai.tracing.run_span`): thread, model and adapter of this agent."""
        model = self.context.model or self.context.llm.default_model
        return run_span("metrics", entry=entry, thread_id=thread_id, model=model, adapter=self.context.tuned_model)

    async def _result(self, thread_id: str, question: str) -> MetricsResult:
        snapshot = await self._graph.aget_state(self._config(thread_id))
        state = State(**{k: v for k, v in snapshot.values.items() if k in State.__dataclass_fields__})
        pending = None
        for task in snapshot.tasks:
            for item in task.interrupts:
                if isinstance(item.value, dict):
                    pending = item.value.get("sql")
        catalog = self.context.catalog
        metrics = tuple((state.query or {}).get("metrics", ())) or tuple(state.metric_names[:1])
        dimensions = tuple((state.query or {}).get("dimensions", ()))
        return MetricsResult(
            thread_id=thread_id,
            question=question,
            standalone_question=state.standalone_question,
            language=state.language,
            metrics=metrics,
            dimensions=dimensions,
            query=state.query,
            path=state.path,
            sql=state.gated_sql,
            dialect=state.dialect or self.context.runner.dialect,
            columns=tuple(state.columns),
            rows=tuple(tuple(row) for row in state.rows),
            truncated=state.truncated,
            chart=state.chart,
            chart_kind=state.chart_kind,
            answer=state.answer,
            abstained=state.abstained,
            reason=state.reason,
            definitions=_definitions(catalog, metrics),
            timings=dict(state.timings),
            tokens={k: dict(v) for k, v in state.tokens.items()},
            pending_sql=pending,
            prompt_fit=tuple(state.prompt_fit),
            column_info=tuple(state.column_info),
            column_source=state.column_source,
        )


def ensure_indexed(
    knowledge: KnowledgeBase,
    catalog: Catalog,
    *,
    max_entries: int | None = None,
    progress: ProgressCallback | None = None,
) -> bool:
    """Bring the catalog's index (its own collection, :func:`catalog_collection`) up to date; True if it changed.

    Only entries that are new or whose text changed are embedded, and entries no longer in the catalog are
    deleted: editing one metric of a large catalog re-embeds that metric's entries, not the whole catalog.

    Args:
        knowledge: The knowledge base holding the catalog collection.
        catalog: The catalog.
        max_entries: Refuse a catalog that makes more retrieval entries than this, before embedding anything.
        progress: Told ``("comparing the catalog with its index", 0, None)``, then
            ``("embedding catalog entries", done, total)`` while entries are embedded.

    Raises:
        CatalogError: The catalog makes more than ``max_entries`` entries.
        VectorStoreError: The embedding model or the store failed; the index is left as it was.
    """
    entries = catalog_entries(catalog)
    if max_entries is not None and len(entries) > max_entries:
        raise CatalogError(
            f"Catalog {catalog.name} makes {len(entries):,} retrieval entries ({len(catalog.metrics):,} metrics, "
            f"their dimensions, examples and names), over the limit of {max_entries:,} "
            "(metrics_agent.max_catalog_entries); split the catalog, or raise the limit."
        )
    if progress is not None:
        progress("comparing the catalog with its index", 0, None)
    collection = catalog_collection(catalog)
    stored = {h.id: h.text for h in knowledge.get(collection)}
    changed = [e for e in entries if stored.get(e.id) != e.text]
    wanted = {e.id for e in entries}
    stale = [entry_id for entry_id in stored if entry_id not in wanted]
    if changed:
        knowledge.index(collection, changed, progress=progress, what="embedding catalog entries")
    if stale:  # after the new entries are stored: a failure never leaves the index with fewer entries
        knowledge.delete(collection, ids=stale)
    return bool(changed or stale)


def _checkpoint_location(config: ProjectConfig) -> str:
    """Where threads are kept, for messages: the SQLite file, or the PostgreSQL database's host and name."""
    url = config.metrics_agent.checkpoint_url
    if url and url.startswith(("postgresql://", "postgres://")):
        return f"the PostgreSQL checkpoints at {url.rsplit('@', 1)[-1]}"  # never the password
    return str(Path(url.removeprefix("sqlite:///")) if url else config.data_dir / "checkpoints.sqlite")


@contextlib.asynccontextmanager
async def _checkpointer(config: ProjectConfig) -> AsyncIterator[BaseCheckpointSaver[str]]:
    url = config.metrics_agent.checkpoint_url
    if url and url.startswith(("postgresql://", "postgres://")):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(url, serde=checkpoint_serializer()) as saver:
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(url.removeprefix("sqlite:///")) if url else config.data_dir / "checkpoints.sqlite"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the checkpoint folder {path.parent}: {exc}.", field="data_dir") from None
    import aiosqlite

    async with aiosqlite.connect(str(path)) as conn:  # as AsyncSqliteSaver.from_conn_string, with our serializer
        yield AsyncSqliteSaver(conn, serde=checkpoint_serializer())


def _definitions(catalog: Catalog, metrics: tuple[str, ...]) -> tuple[dict[str, str], ...]:
    out = []
    for name in metrics:
        metric = catalog.metric(name)
        if metric is None:
            continue
        definition = metric.formula or metric.sql or ""
        if metric.filter:
            definition += f" WHERE {metric.filter}"
        out.append(
            {
                "name": name,
                "label_en": metric.label.en,
                "label_zh": metric.label.zh,
                "definition": definition,
                "description": metric.description,
            }
        )
    return tuple(out)


def ask(question: str, config: ProjectConfig, *, thread_id: str | None = None, **options: Any) -> MetricsResult:
    """Synchronous one-shot wrapper around :meth:`MetricsAgent.ask`."""

    async def run() -> MetricsResult:
        async with MetricsAgent.open(config, **options) as agent:
            return await agent.ask(question, thread_id=thread_id)

    return asyncio.run(run())
