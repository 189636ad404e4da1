"""The MCP server: the metrics agent, the catalog and gated SQL as tools for MCP clients (``kubeai mcp``).

Built with the official ``mcp`` SDK (:class:`mcp.server.mcpserver.MCPServer`) on an agent the caller has opened::

    async with MetricsAgent.open(config) as agent:
        server = build_server(config, agent=agent)
        await server.run_stdio_async()                              # a local client starts ``kubeai mcp``
        # or: await serve_http(server, lookup=KeyStore.in_data_dir(config.data_dir).lookup, port=8765)

Tools, each with a typed input schema and a structured output:

* ``ask``: put a business question to the metrics agent; the answer, the SQL it ran and the rows.
* ``list_metrics`` / ``list_dimensions``: the catalog, with English and Chinese labels, descriptions, units, the
  dimensions each metric allows and the time grains.
* ``run_sql``: one ``SELECT`` through the SQL gate (:mod:`tools.sql_gate`), then the agent's read-only warehouse
  runner, rows capped by ``warehouse.max_rows``.

Who may do what: over **stdio** the server runs as the local user with full access, like ``kubeai ask``. Over
**streamable HTTP** every request must carry an API key (``Authorization: Bearer <key>``); :class:`RequireKey`
answers 401 (no key, an unknown one) or 403 (a revoked one) with one sentence otherwise, and the key's user and
scope apply to ``ask`` and ``run_sql``: its row filters are injected into every query, and threads are kept per
user. A failed tool call is an MCP tool error
(``isError``) whose text is one sentence, never a traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Protocol, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from agents.metrics import MetricsAgent, MetricsResult
from app.messages import INVALID_KEY, Sentence, error_body, missing_key, preferred_language, revoked_key
from kubeai import __version__
from kubeai.config import ProjectConfig
from kubeai.errors import KubeAIError, ServingError
from kubeai.values import json_value
from tools.sql_gate import check_sql

__all__ = [
    "KEY_SCOPE_FIELD",
    "Answer",
    "Caller",
    "DimensionInfo",
    "Dimensions",
    "KeyLookup",
    "MetricInfo",
    "Metrics",
    "RequireKey",
    "SqlRows",
    "build_server",
    "http_app",
    "serve_http",
]

_T = TypeVar("_T")

KEY_SCOPE_FIELD = "kubeai.api_key"
"""The ASGI scope entry where :class:`RequireKey` leaves the verified key for the tools to read."""


class Caller(Protocol):
    """What the server needs of an API key (:class:`app.keys.ApiKey`): whose it is, which rows it may see."""

    @property
    def id(self) -> str:
        """The key's public id, for messages."""
        ...

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked."""
        ...

    @property
    def user(self) -> str:
        """The key's user; threads are kept per user."""
        ...

    @property
    def scope(self) -> Mapping[str, tuple[str, ...]]:
        """Catalog dimension -> the values this key may see; empty for no restriction."""
        ...


KeyLookup = Callable[[str], Caller | None]
"""The key a presented secret belongs to, revoked or not, or None for an unknown one (:meth:`KeyStore.lookup`)."""


# -- structured outputs -------------------------------------------------------------------------------------------


class MetricInfo(BaseModel):
    """One metric of the catalog."""

    name: str = Field(description="The metric's name, as ask's answers and the metric queries use it.")
    label_en: str
    label_zh: str
    description: str
    unit: str | None = Field(description="Unit of the value, e.g. CNY, orders, users.")
    format: str = Field(description="number, currency, percent, ...")
    derived: bool = Field(description="Computed from other metrics by a formula.")
    dimensions: list[str] = Field(description="Dimensions this metric can be broken down or filtered by.")
    time_grains: list[str] = Field(description="Time grains it can be reported at (day, week, month, ...).")


class Metrics(BaseModel):
    """The catalog's metrics."""

    catalog: str
    metrics: list[MetricInfo]


class DimensionInfo(BaseModel):
    """One dimension or attribute of the catalog."""

    name: str
    label_en: str
    label_zh: str
    description: str
    type: str = Field(description="categorical, time or number.")
    time_grains: list[str] = Field(description="For a time dimension: the grains it can be grouped by.")
    filter_only: bool = Field(description="An attribute: it can filter, never group.")


class Dimensions(BaseModel):
    """The catalog's dimensions and attributes."""

    catalog: str
    dimensions: list[DimensionInfo]


class SqlRows(BaseModel):
    """What one gated query returned."""

    sql: str = Field(description="The statement as it ran: gated, limited, scoped and in the warehouse's dialect.")
    dialect: str
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool = Field(description="More rows existed than warehouse.max_rows; only that many came back.")


class Answer(BaseModel):
    """The metrics agent's answer to one question."""

    thread_id: str = Field(description="Pass it back as thread_id to ask a follow-up in the same conversation.")
    answer: str
    abstained: bool = Field(description="The agent declined: not a question about the data, or one it cannot answer.")
    reason: str = Field(description="Why it declined, when it did.")
    language: str
    metrics: list[str]
    dimensions: list[str]
    sql: str | None = Field(description="The SQL that produced the rows (None when nothing ran).")
    dialect: str
    columns: list[str]
    headers: list[str] = Field(description="The columns' display labels with units, in the question's language.")
    rows: list[list[Any]]
    truncated: bool
    chart_kind: str | None
    chart: dict[str, Any] | None = Field(description="The Plotly figure JSON, when include_chart was set.")
    pending_sql: str | None = Field(
        description="Set when metrics_agent.require_approval paused the run before executing this SQL."
    )


# -- the server -----------------------------------------------------------------------------------------------------


def build_server(config: ProjectConfig, *, agent: MetricsAgent) -> MCPServer:
    """An MCP server whose tools answer from ``agent`` (opened by the caller, closed by the caller).

    Args:
        config: The project configuration (``warehouse.max_rows`` and ``statement_timeout_s`` bound ``run_sql``).
        agent: The opened metrics agent; its catalog, gate and read-only runner also serve the catalog and SQL
            tools. A key's scope is applied with :meth:`MetricsAgent.scoped`.
    """
    tools = _Tools(config=config, agent=agent)
    server = MCPServer(
        "kubeai",
        title="kubeai metrics agent",
        version=__version__,
        instructions=(
            "Answers business metric questions on one data warehouse, in English or Chinese. Call list_metrics "
            "and list_dimensions to see what can be asked; ask to get a number with its SQL and rows; run_sql for "
            "one read-only SELECT of your own."
        ),
    )
    read_only = ToolAnnotations(readOnlyHint=True, destructiveHint=False, openWorldHint=False)
    server.add_tool(tools.ask, name="ask", title="Ask the metrics agent", annotations=read_only)
    server.add_tool(tools.list_metrics, name="list_metrics", title="List metrics", annotations=read_only)
    server.add_tool(tools.list_dimensions, name="list_dimensions", title="List dimensions", annotations=read_only)
    server.add_tool(tools.run_sql, name="run_sql", title="Run a gated SQL query", annotations=read_only)
    return server


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Access:
    """Who is calling: ``user`` None is the local user (stdio) with full access."""

    user: str | None
    scope: Mapping[str, tuple[str, ...]]


_LOCAL = _Access(user=None, scope={})


@dataclasses.dataclass(kw_only=True)
class _Tools:
    config: ProjectConfig
    agent: MetricsAgent

    async def ask(
        self,
        question: Annotated[str, Field(description="A business question about the data, in English or Chinese.")],
        thread_id: Annotated[
            str | None, Field(description="Continue this conversation (a thread_id an earlier answer returned).")
        ] = None,
        include_chart: Annotated[bool, Field(description="Also return the chart as Plotly figure JSON.")] = False,
        ctx: Context[Any, Any] | None = None,
    ) -> Answer:
        """Answer a business question on the warehouse: the answer, the SQL that ran and the result rows."""
        access = _access(ctx)
        agent = self._agent_for(access)
        own = thread_id or uuid.uuid4().hex
        result = await _tool_call(agent.ask(question, thread_id=_stored_thread(access, own)))
        return _answer(result, thread_id=own, chart=include_chart)

    def list_metrics(self) -> Metrics:
        """The catalog's metrics: labels in English and Chinese, description, unit, dimensions and time grains."""
        catalog = self.agent.context.catalog
        grains = {d.name: list(d.time_grains) for d in catalog.all_dimensions if d.type == "time"}
        out = []
        for metric in catalog.metrics:
            allowed = list(catalog.allowed_dimensions(metric.name))
            out.append(
                MetricInfo(
                    name=metric.name,
                    label_en=metric.label.en,
                    label_zh=metric.label.zh,
                    description=metric.description,
                    unit=metric.unit,
                    format=str(metric.format),
                    derived=metric.is_derived,
                    dimensions=allowed,
                    time_grains=list(dict.fromkeys(g for d in allowed for g in grains.get(d, ()))),
                )
            )
        return Metrics(catalog=catalog.name, metrics=out)

    def list_dimensions(self) -> Dimensions:
        """The catalog's dimensions and attributes: labels in English and Chinese, type and time grains."""
        catalog = self.agent.context.catalog
        return Dimensions(
            catalog=catalog.name,
            dimensions=[
                DimensionInfo(
                    name=d.name,
                    label_en=d.label.en,
                    label_zh=d.label.zh,
                    description=d.description,
                    type=d.type,
                    time_grains=list(d.time_grains),
                    filter_only=d.filter_only,
                )
                for d in catalog.all_dimensions
            ],
        )

    async def run_sql(
        self,
        sql: Annotated[
            str, Field(description="One read-only SELECT over the catalog's tables, in the warehouse's dialect.")
        ],
        ctx: Context[Any, Any] | None = None,
    ) -> SqlRows:
        """Run one SELECT through the SQL gate on a read-only connection; rows are capped by warehouse.max_rows."""
        access = _access(ctx)
        context = self._agent_for(access).context
        warehouse = self.config.warehouse
        try:
            gated = check_sql(sql, context.gate)
            result = await asyncio.to_thread(
                context.runner.run, gated.sql, max_rows=warehouse.max_rows, timeout_s=warehouse.statement_timeout_s
            )
        except KubeAIError as exc:
            raise ToolError(str(exc)) from None
        rows = [[json_value(v) for v in row] for row in result.frame.itertuples(index=False, name=None)]
        return SqlRows(
            sql=result.sql,
            dialect=gated.dialect,
            columns=[str(c) for c in result.frame.columns],
            rows=rows,
            row_count=len(rows),
            truncated=result.truncated,
        )

    def _agent_for(self, access: _Access) -> MetricsAgent:
        """The agent, or its view whose SQL gate filters every query to the caller's rows."""
        try:
            return self.agent.scoped(access.scope)
        except KubeAIError as exc:
            raise ToolError(str(exc)) from None


def _access(ctx: Context[Any, Any] | None) -> _Access:
    """The caller: the key :class:`RequireKey` verified for this HTTP request, or the local user.

    A request that came over HTTP without a verified key (the app was served without :class:`RequireKey`) is
    refused rather than given the local user's full access.
    """
    request = None
    if ctx is not None:
        try:
            request = ctx.request_context.request
        except ValueError:  # no request context: called in-process
            request = None
    if request is None:
        return _LOCAL
    key = getattr(request, "scope", {}).get(KEY_SCOPE_FIELD)
    if key is None:
        raise ToolError("This request carries no verified API key; send Authorization: Bearer <key>.")
    return _Access(user=str(key.user), scope=dict(key.scope))


def _stored_thread(access: _Access, thread_id: str) -> str:
    """The checkpointer's id of a caller's thread: each HTTP user has a namespace of their own.

    The user's length leads, so no pair of user and thread id can spell another user's namespace.
    """
    return thread_id if access.user is None else f"mcp:{len(access.user)}:{access.user}:{thread_id}"


async def _tool_call(call: Awaitable[_T]) -> _T:
    """Await a project call; its error becomes an MCP tool error with its one sentence."""
    try:
        return await call
    except KubeAIError as exc:
        raise ToolError(str(exc)) from None


def _answer(result: MetricsResult, *, thread_id: str, chart: bool) -> Answer:
    return Answer(
        thread_id=thread_id,
        answer=result.answer,
        abstained=result.abstained,
        reason=result.reason,
        language=result.language,
        metrics=list(result.metrics),
        dimensions=list(result.dimensions),
        sql=result.sql,
        dialect=result.dialect,
        columns=list(result.columns),
        headers=result.headers,
        rows=[list(row) for row in result.rows],
        truncated=result.truncated,
        chart_kind=result.chart_kind,
        chart=result.chart if chart else None,
        pending_sql=result.pending_sql,
    )


# -- streamable HTTP with API keys ------------------------------------------------------------------------------------

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class RequireKey:
    """ASGI middleware: every HTTP request must carry a valid API key as ``Authorization: Bearer <key>``.

    As in the HTTP API (:mod:`app.api.auth`), a missing, malformed or unknown key gets 401 and a revoked one 403,
    with a one-sentence JSON error in English and Chinese (:func:`app.messages.error_body`); a valid key is left in
    the request's scope under :data:`KEY_SCOPE_FIELD` for the tools. The SDK's own auth is an OAuth resource server
    that sends clients to discover an authorization server, which API keys do not have; this checks the key and
    nothing else.
    """

    def __init__(self, app: ASGIApp, lookup: KeyLookup) -> None:
        self.app = app
        self.lookup = lookup

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Check the request's key, then hand it to the app (other ASGI events pass straight through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secret = _bearer(scope)
        if secret is None:
            await _refuse(scope, send, 401, missing_key())
            return
        key = await asyncio.to_thread(self.lookup, secret)
        if key is None:
            await _refuse(scope, send, 401, INVALID_KEY)
            return
        if key.revoked:
            await _refuse(scope, send, 403, revoked_key(key.id))
            return
        await self.app({**scope, KEY_SCOPE_FIELD: key}, receive, send)


def _bearer(scope: Mapping[str, Any]) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            kind, _, secret = value.decode("latin-1").strip().partition(" ")
            secret = secret.strip()
            return secret if kind.lower() == "bearer" and secret else None
    return None


async def _refuse(
    scope: Mapping[str, Any], send: Callable[[Any], Awaitable[None]], status: int, sentence: Sentence
) -> None:
    accept = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"accept-language"), None)
    body = json.dumps(error_body(sentence, preferred_language(accept)), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="kubeai"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def http_app(server: MCPServer, *, lookup: KeyLookup, host: str = "127.0.0.1", path: str = "/mcp") -> ASGIApp:
    """The server's streamable HTTP ASGI app at ``path``, behind :class:`RequireKey`."""
    app = server.streamable_http_app(streamable_http_path=path, host=host)
    return RequireKey(app, lookup)


async def serve_http(
    server: MCPServer,
    *,
    lookup: KeyLookup,
    host: str = "127.0.0.1",
    port: int = 8765,
    path: str = "/mcp",
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve streamable HTTP with uvicorn until interrupted.

    The socket is bound first, so a port in use is one sentence, and ``announce`` hears the address clients
    connect to (with the port the system chose for ``port=0``) once connections are queued for it.

    Raises:
        ServingError: The address cannot be bound.
    """
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    except OSError as exc:
        sock.close()
        raise ServingError(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port or stop what uses it."
        ) from None
    bound = sock.getsockname()[1]
    app = http_app(server, lookup=lookup, host=host, path=path)
    uv = uvicorn.Server(uvicorn.Config(app, host=host, port=bound, log_level="warning"))
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    if announce is not None:
        announce(f"MCP over streamable HTTP at http://{shown}:{bound}{path} (send Authorization: Bearer <key>)")
    try:
        await uv.serve(sockets=[sock])
    finally:
        sock.close()
