"""What the routes do with the agents: run a turn on a thread, resume one, stream one, read a thread's state.

:class:`Agents` holds the opened agents; :class:`Service` adds the key store's scope, the thread registry and a busy
mark per thread (a second run on a busy thread is refused with 409, never interleaved).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from agents.apps import PromptApp
from agents.metrics import MetricsAgent, MetricsResult
from agents.planner import PlannerAgent, PlanRun
from app.api.apps import APP_PREFIX, ServedApps
from app.api.errors import ApiError
from app.api.feedback import record_approved_edit
from app.api.schemas import Command, RunCreate
from app.api.threads import ThreadRecord, ThreadRegistry
from app.keys import ApiKey
from kubeai.config import ProjectConfig
from kubeai.errors import ConfigError
from kubeai.values import json_value
from serving.adapters import AdapterStore
from serving.client import ModelClient

__all__ = [
    "ANSWER_NODES",
    "ASSISTANTS",
    "STREAM_MODES",
    "Agents",
    "Service",
    "answer_message",
    "jsonable",
    "stream_modes",
]

ASSISTANTS: Mapping[str, tuple[str, str]] = {
    "metrics": ("Metrics agent", "Answers questions about the data: the number, the SQL, the rows and a chart."),
    "planner": ("Planner", "Plans a multi-step request into tasks, runs them in parallel and answers with sources."),
}


@dataclass(kw_only=True)
class Agents:
    """The agents the API serves.

    ``planner`` may be absent (its assistant then answers 404), and so may ``apps`` (the prompt apps, served as
    ``app:<name>``).
    """

    metrics: MetricsAgent
    planner: PlannerAgent | None = None
    apps: ServedApps | None = None

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, config: ProjectConfig, *, llm: ModelClient) -> AsyncIterator[Agents]:
        """Open the metrics agent and the planner on ``config`` with one model client; close them after.

        The planner's ``metric_query`` asks this same metrics agent, so a key's scope applies to both alike. The
        prompt apps (bundled and ``apps.dir``) are loaded and validated too, and answer with the same client.
        """
        apps = await asyncio.to_thread(ServedApps.load, config, llm=llm)
        async with (
            MetricsAgent.open(config, llm=llm) as metrics,
            PlannerAgent.open(config, llm=llm, metrics_agent=metrics) as planner,
        ):
            yield cls(metrics=metrics, planner=planner, apps=apps)


def jsonable(value: Any) -> Any:
    """Graph values as JSON: messages as role and text, dataclasses and models as dicts, cells by ``json_value``."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if hasattr(value, "content") and hasattr(value, "type"):  # a LangChain message
        return {"role": str(value.type), "content": jsonable(value.content)}
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump())
    return json_value(value)


def question_of(payload: Mapping[str, Any] | None, *, limit: int) -> str:
    """The question of a run's input: ``question``, ``request``, or the last user message's text.

    Raises:
        ApiError: 422 when there is none, it is empty, or it is longer than ``limit`` characters.
    """
    payload = payload or {}
    text: Any = payload.get("question", payload.get("request"))
    if text is None and isinstance(payload.get("messages"), list):
        users = [m for m in payload["messages"] if isinstance(m, Mapping) and m.get("role") in ("user", "human")]
        text = users[-1].get("content") if users else None
    if not isinstance(text, str) or not text.strip():
        raise ApiError(
            "The question is empty; send it as input.question (or input.messages with a user message).",
            zh="问题为空；请放在 input.question 中发送（或在 input.messages 中放一条 user 消息）。",
            status_code=422,
        )
    if len(text) > limit:
        raise ApiError(
            f"The question is {len(text):,} characters, over the limit of {limit:,} (api.max_question_chars).",
            zh=f"问题有 {len(text):,} 个字符，超过了 {limit:,} 的上限（api.max_question_chars）。",
            status_code=422,
        )
    return text.strip()


STREAM_MODES = ("updates", "messages", "values")
"""What ``/runs/stream`` sends, in LangGraph's stream mode names; a run without ``stream_mode`` gets them all."""

ANSWER_NODES = ("answer", "abstain")
"""The metrics graph's nodes that write the answer (composed by code from the result table, not generated)."""


def stream_modes(asked: str | Sequence[str] | None) -> frozenset[str]:
    """The events a run's ``stream_mode`` asks for: ``messages-tuple`` is ``messages``; other modes send nothing."""
    if asked is None:
        return frozenset(STREAM_MODES)
    names = [asked] if isinstance(asked, str) else list(asked)
    return frozenset("messages" if name == "messages-tuple" else name for name in names)


def answer_message(text: str, *, node: str, run_id: str, thread_id: str) -> list[dict[str, Any]]:
    """A ``messages`` event's data as LangGraph's ``messages-tuple`` mode sends it: ``[message, metadata]``.

    The answer arrives as one complete message, not token by token: the metrics agent composes it by code from the
    result table, and the planner's answer is a field of one structured (JSON) reply (docs/api.md).
    """
    message = {"type": "ai", "content": text, "id": f"{run_id}-{node}"}
    return [message, {"langgraph_node": node, "run_id": run_id, "thread_id": thread_id}]


def _decision(command: Command) -> Literal["approve", "reject"] | dict[str, Any]:
    resume = command.resume
    if isinstance(resume, str):
        return resume
    if resume.action == "edit":
        return {"action": "edit", "sql": resume.sql}
    return resume.action


def metrics_values(result: MetricsResult, turns: list[tuple[str, str]]) -> dict[str, Any]:
    """A metrics turn's values: the result's fields, the turns so far, and ``__interrupt__`` while SQL waits."""
    values: dict[str, Any] = jsonable(result.to_json())
    values["messages"] = [{"role": role, "content": text} for role, text in turns]
    if result.pending_sql is not None:
        values["__interrupt__"] = [
            {
                "id": f"approve-sql-{result.thread_id}",
                "value": {
                    "sql": result.pending_sql,
                    "question": result.question,
                    "actions": ["approve", "edit", "reject"],
                },
            }
        ]
    return values


@dataclass(kw_only=True)
class Service:
    """The agents, the thread registry and the threads with a run in progress."""

    config: ProjectConfig
    agents: Agents
    threads: ThreadRegistry
    _busy: set[str] = field(default_factory=set)  # threads with a run in progress; emptied as runs end

    # Threads ---------------------------------------------------------------------------------------------------

    def owned(self, thread_id: str, caller: ApiKey) -> ThreadRecord:
        """The caller's thread.

        Raises:
            ApiError: 404 for an unknown thread, 403 for someone else's.
        """
        record = self.threads.get(thread_id)
        if record is None:
            raise ApiError(
                f"No thread {thread_id!r}; create one with POST /threads.",
                zh=f"没有会话 {thread_id!r}；请用 POST /threads 创建。",
                status_code=404,
            )
        if record.owner != caller.user:
            raise ApiError(
                f"Thread {thread_id!r} belongs to another user.",
                zh=f"会话 {thread_id!r} 属于其他用户。",
                status_code=403,
            )
        return record

    def assistant(self, assistant_id: str | None, caller: ApiKey) -> str:
        """A servable assistant id for this caller.

        Raises:
            ApiError: 404 for an unknown or unavailable assistant; 403 for a planner that cannot apply the key's
                row scope.
        """
        chosen = assistant_id or "metrics"
        if chosen.startswith(APP_PREFIX) and self.app(chosen) is not None:
            return chosen  # an app reads no warehouse rows, so a scoped key may use it
        if chosen not in ASSISTANTS or (chosen == "planner" and self.agents.planner is None):
            raise ApiError(
                f"No assistant {chosen!r}; GET /assistants lists them.",
                zh=f"没有助手 {chosen!r}；可用的助手见 GET /assistants。",
                status_code=404,
            )
        if chosen == "planner":
            self.planner_for(caller)  # 403 before the run when it cannot apply the key's scope
        return chosen

    def app(self, assistant_id: str) -> PromptApp | None:
        """The prompt app an ``app:<name>`` assistant id names, or ``None``."""
        return self.agents.apps.find(assistant_id) if self.agents.apps is not None else None

    def run_model(self, assistant_id: str, run: RunCreate) -> str | None:
        """The model or adapter ``config.configurable.model`` picks for the run; ``None`` when it picks none.

        A name is servable when it is registered (``models``: the base model and its adapters) or a trained
        adapter version that serves a role (the launcher loads those). The planner picks a model per task from
        the model cards, so it takes no per-run model.

        Raises:
            ApiError: 422 for a name that is not a string, not served, or given to the planner.
        """
        configurable = run.config.configurable if run.config is not None else {}
        name = configurable.get("model")
        if name is None or name == "":
            return None
        if not isinstance(name, str):
            raise ApiError(
                "Field `config.configurable.model` must be a model name; GET /adapters lists them.",
                zh="字段 `config.configurable.model` 应为模型名称；可用的模型见 GET /adapters。",
                status_code=422,
            )
        if assistant_id == "planner":
            raise ApiError(
                "The planner picks a model for each task from the model cards; config.configurable.model applies "
                "to the metrics agent and the apps.",
                zh="规划助手会按模型卡为每个任务选择模型；config.configurable.model 只适用于指标助手和提示词应用。",
                status_code=422,
            )
        if name in self.config.models.names():
            return name
        store = AdapterStore(self.config.data_dir / "adapters")
        if name in {served for served, _ in store.routed()}:
            return name
        if name in {version.name for version in store.versions()}:
            raise ApiError(
                f"Adapter {name!r} is trained but serves no role, so the model server has not loaded it; promote "
                "it with `kubeai adapters promote` or pick another model (GET /adapters).",
                zh=f"适配器 {name!r} 已训练但未承担任何角色，模型服务器没有加载它；请用 `kubeai adapters promote` "
                "上线，或选择其他模型（见 GET /adapters）。",
                status_code=422,
            )
        raise ApiError(
            f"Model {name!r} is not served; GET /adapters lists the models and adapters a run can use.",
            zh=f"没有提供模型 {name!r}；可用的模型和适配器见 GET /adapters。",
            status_code=422,
        )

    def metrics_for(self, caller: ApiKey, run: RunCreate | None = None) -> MetricsAgent:
        """The metrics agent with the caller's row scope (and the run's approval setting and model) applied."""
        approval = run.require_approval if run is not None else None
        model = self.run_model("metrics", run) if run is not None else None
        return self.agents.metrics.scoped(caller.scope, require_approval=approval, model=model)

    def planner_for(self, caller: ApiKey) -> PlannerAgent:
        """The planner with the caller's row scope applied to its metric tasks (:meth:`PlannerAgent.scoped`).

        Raises:
            ApiError: 404 when no planner is served; 403 when it cannot apply the key's scope (a tool of its
                could read rows around it).
        """
        if self.agents.planner is None:
            raise ApiError(
                "No assistant 'planner'; GET /assistants lists them.",
                zh="没有助手 'planner'；可用的助手见 GET /assistants。",
                status_code=404,
            )
        try:
            return self.agents.planner.scoped(caller.scope)
        except ConfigError as exc:
            raise ApiError(
                f"The planner is not available to this key: {exc}",
                zh=f"此密钥不能使用规划助手（它无法对所有工具应用密钥的行范围）：{exc}",
                status_code=403,
            ) from exc

    def serves_planner(self, caller: ApiKey) -> bool:
        """Whether the caller may use the planner: it is served and can apply the caller's scope."""
        try:
            self.planner_for(caller)
        except ApiError:
            return False
        return True

    async def state(self, record: ThreadRecord) -> dict[str, Any]:
        """A thread's state: its values, the steps still to run, pending interrupts and the checkpoint."""
        if record.assistant_id != "metrics":
            return {"values": dict(record.values), "next": [], "interrupts": [], "metadata": dict(record.metadata)}
        agent = self.agents.metrics
        checkpoints = await agent.checkpoints(record.thread_id, limit=1)
        if not checkpoints:
            return {"values": {}, "next": [], "interrupts": [], "metadata": dict(record.metadata)}
        result = await agent.last_result(record.thread_id)
        values = metrics_values(result, list(await agent.history(record.thread_id)))
        latest = checkpoints[0]
        return {
            "values": values,
            "next": latest["next"],
            "interrupts": values.get("__interrupt__", []),
            "checkpoint": {"thread_id": record.thread_id, "checkpoint_id": latest["checkpoint_id"]},
            "metadata": dict(record.metadata),
            "created_at": latest["created_at"],
        }

    async def history(self, record: ThreadRecord, *, limit: int) -> list[dict[str, Any]]:
        """The thread's checkpoints, newest first (the planner keeps none: its last values only)."""
        if record.assistant_id != "metrics":
            return [{"values": dict(record.values), "next": [], "checkpoint": None}] if record.values else []
        found = await self.agents.metrics.checkpoints(record.thread_id, limit=limit)
        return [
            {
                "values": {"question": c["question"], "answer": c["answer"]},
                "next": c["next"],
                "checkpoint": {"thread_id": record.thread_id, "checkpoint_id": c["checkpoint_id"]},
                "metadata": {"step": c["step"]},
                "created_at": c["created_at"],
            }
            for c in found
        ]

    # Runs ------------------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self, thread_id: str, *, registered: bool) -> AsyncIterator[None]:
        """Mark the thread busy for one run and keep its status; 409 while another run holds it.

        A second run is refused, never queued, so a set of busy thread ids is all it takes: one entry per run in
        progress, removed when the run ends (a long-running server does not grow with every thread it served).
        """
        if thread_id in self._busy:
            raise ApiError(
                f"A run is already in progress on thread {thread_id!r}; wait for it.",
                zh=f"会话 {thread_id!r} 上已有一个运行在进行；请等它结束。",
                status_code=409,
            )
        self._busy.add(thread_id)  # no await between the check and the add: one event loop, so no race
        try:
            if registered:
                await asyncio.to_thread(self.threads.update, thread_id, status="busy")
            status = "error"
            try:
                yield
                status = "idle"
            except asyncio.CancelledError:  # the client went away: the finished steps are checkpointed
                status = "idle"
                raise
            finally:
                if registered:  # synchronously: a cancelled task's awaits would be cancelled again
                    current = self.threads.get(thread_id)
                    final = current.status if current is not None and current.status != "busy" else status
                    self.threads.update(thread_id, status=final)
        finally:
            self._busy.discard(thread_id)

    async def wait(self, thread_id: str, assistant_id: str, run: RunCreate, caller: ApiKey) -> dict[str, Any]:
        """Run one turn (or resume one) to the end and return the thread's values."""
        if assistant_id == "planner":
            return await self._plan(thread_id, run, caller)
        if assistant_id.startswith(APP_PREFIX):
            return await self._run_app(thread_id, assistant_id, run)
        agent = self.metrics_for(caller, run)
        if run.command is not None:
            pending = await agent.last_result(thread_id) if await agent.has_thread(thread_id) else None
            if pending is None or pending.pending_sql is None:
                raise ApiError(
                    f"Thread {thread_id!r} is not waiting for an approval.",
                    zh=f"会话 {thread_id!r} 没有等待审批的查询。",
                    status_code=409,
                )
            decision = _decision(run.command)
            result = await agent.resume(thread_id, decision)
            if isinstance(decision, dict):  # an approved edit is a correction of the SQL shown: keep it as feedback
                await asyncio.to_thread(
                    record_approved_edit,
                    self.config.data_dir,
                    user=caller.user,
                    thread_id=thread_id,
                    shown=pending,
                    sql=str(decision["sql"]),
                )
        else:
            question = question_of(run.input, limit=self.config.api.max_question_chars)
            result = await agent.ask(question, thread_id=thread_id)
        values = metrics_values(result, list(await agent.history(thread_id)))
        self._mark(thread_id, values)
        return values

    async def stream(
        self, thread_id: str, assistant_id: str, run: RunCreate, caller: ApiKey, run_id: str
    ) -> AsyncIterator[tuple[str, Any]]:
        """``(event, data)`` pairs: ``metadata``, then the run's events in the modes ``run.stream_mode`` asks for.

        All modes by default: one ``updates`` per finished node, a ``messages`` event with the answer (just before
        the ``updates`` of the node that wrote it), and ``values`` with the result. The route adds ``end``.
        """
        modes = stream_modes(run.stream_mode)
        yield "metadata", {"run_id": run_id, "thread_id": thread_id, "assistant_id": assistant_id}
        async with contextlib.aclosing(self._events(thread_id, assistant_id, run, caller, run_id)) as events:
            async for event, data in events:
                if event in modes:
                    yield event, data

    async def _events(
        self, thread_id: str, assistant_id: str, run: RunCreate, caller: ApiKey, run_id: str
    ) -> AsyncGenerator[tuple[str, Any]]:
        if assistant_id == "planner":
            async for event, data in self._plan_steps(thread_id, run, caller):
                if event == "values" and data.get("answer"):
                    yield (
                        "messages",
                        answer_message(str(data["answer"]), node="respond", run_id=run_id, thread_id=thread_id),
                    )
                yield event, data
            return
        if assistant_id.startswith(APP_PREFIX):  # one model call: the answer, the app's update, the values
            values = await self._run_app(thread_id, assistant_id, run)
            yield "messages", answer_message(values["answer"], node="app", run_id=run_id, thread_id=thread_id)
            yield "updates", {"app": {key: values[key] for key in ("result", "reasoning", "model")}}
            yield "values", values
            return
        if run.command is not None:  # a resumed run: no node-by-node stream, the answer and the values
            values = await self.wait(thread_id, assistant_id, run, caller)
            node = "abstain" if values.get("abstained") else "answer"
            if values.get("answer") and not values.get("__interrupt__"):
                yield "messages", answer_message(str(values["answer"]), node=node, run_id=run_id, thread_id=thread_id)
            yield "values", values
            return
        agent = self.metrics_for(caller, run)
        question = question_of(run.input, limit=self.config.api.max_question_chars)
        async for node, update in agent.stream(question, thread_id=thread_id):
            if node in ANSWER_NODES and update.get("answer"):
                yield "messages", answer_message(str(update["answer"]), node=node, run_id=run_id, thread_id=thread_id)
            yield "updates", {node: jsonable(update)}
        result = await agent.last_result(thread_id)
        values = metrics_values(result, list(await agent.history(thread_id)))
        self._mark(thread_id, values)
        yield "values", values

    async def _run_app(self, thread_id: str, assistant_id: str, run: RunCreate) -> dict[str, Any]:
        """A prompt app's turn: its values with the turns so far, kept by the thread's record (as the planner's)."""
        app = self.app(assistant_id)
        if app is None:
            raise ApiError(
                f"No assistant {assistant_id!r}; GET /assistants lists them.",
                zh=f"没有助手 {assistant_id!r}；可用的助手见 GET /assistants。",
                status_code=404,
            )
        if run.command is not None:
            raise ApiError(
                f"Thread {thread_id!r} is not waiting for an approval: an app does not pause.",
                zh=f"会话 {thread_id!r} 没有等待审批的查询：提示词应用不会暂停。",
                status_code=409,
            )
        assert self.agents.apps is not None  # self.app found it there
        payload = run.input or {}
        given = payload.get("input")  # an app's input, or the question / last user message as for the agents
        text = question_of(
            {"question": given} if isinstance(given, str) else payload, limit=self.config.api.max_question_chars
        )
        values = await self.agents.apps.run(app, text, model=self.run_model(assistant_id, run))
        record = self.threads.get(thread_id)
        turns = list((record.values if record is not None else {}).get("messages", []))
        values["messages"] = [
            *turns,
            {"role": "user", "content": text},
            {"role": "assistant", "content": values["answer"]},
        ]
        if record is not None:
            await asyncio.to_thread(self.threads.update, thread_id, status="idle", values=values)
        return values

    def _mark(self, thread_id: str, values: Mapping[str, Any]) -> None:
        if self.threads.get(thread_id) is not None and values.get("__interrupt__"):
            self.threads.update(thread_id, status="interrupted")

    async def _plan(self, thread_id: str, run: RunCreate, caller: ApiKey) -> dict[str, Any]:
        values: dict[str, Any] = {}
        async for event, data in self._plan_steps(thread_id, run, caller):
            if event == "values":
                values = data
        return values

    async def _plan_steps(
        self, thread_id: str, run: RunCreate, caller: ApiKey
    ) -> AsyncGenerator[tuple[str, dict[str, Any]]]:
        """A planner turn on the thread, step by step.

        Yields ``("updates", {node: update})`` as each graph node finishes, then ``("values", ...)``: the run's
        result with the turns so far, which the thread keeps.
        """
        planner = self.planner_for(caller)
        request = question_of(run.input, limit=self.config.api.max_question_chars)
        record = self.threads.get(thread_id)
        turns = list((record.values if record is not None else {}).get("messages", []))
        history = [{"role": t["role"], "content": t["content"]} for t in turns if isinstance(t, Mapping)]
        result: PlanRun | None = None
        async for item in planner.stream(request, history=history):
            if isinstance(item, PlanRun):
                result = item
            else:
                node, update = item
                yield "updates", {node: jsonable(update)}
        assert result is not None, "PlannerAgent.stream ends with the run's result or raises"
        values: dict[str, Any] = jsonable(result.to_json())
        values["messages"] = [
            *history,
            {"role": "user", "content": request},
            {"role": "assistant", "content": result.answer},
        ]
        if record is not None:
            self.threads.update(thread_id, status="idle", values=values)
        yield "values", values


def new_id() -> str:
    """A new thread or run id."""
    return uuid.uuid4().hex


def timestamp(value: datetime | str | None) -> str | None:
    """ISO text for a time."""
    return value.isoformat() if isinstance(value, datetime) else value


def sse(event: str, data: Any) -> dict[str, str]:
    """One Server-Sent Event for sse-starlette."""
    return {"event": event, "data": json.dumps(data, ensure_ascii=False, default=str)}
