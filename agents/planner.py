"""The task-decomposition agent: one request becomes a task graph, run in parallel, answered with provenance.

    async with PlannerAgent.open(load_config()) as agent:
        run = await agent.run("Compare last quarter's GMV and refund rate for the top 3 regions, chart it, "
                              "and summarize in English")
        print(run.answer)
        for fact in run.provenance():
            print(fact)
        print(run.mermaid())

The agent wires the graph in :mod:`graphs.planner` to real tools: the metrics agent (one metric question per
task), document QA over the knowledge base, text tasks on a chosen model, a calculator, table operations and
charts. :meth:`PlannerAgent.plan` stops after planning and model selection; :meth:`PlannerAgent.run` executes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from agents.metrics import MetricsAgent, MetricsResult
from graphs.planner import Context, DemoBank, InputState, PlannedTask, State, TaskBoard, build_graph, to_mermaid
from graphs.planner.execution import USABLE, table_json
from knowledge.catalog import Catalog
from knowledge.demo_docs import DEMO_DOCS
from knowledge.index import KnowledgeBase, open_knowledge_base
from kubeai.config import ProjectConfig
from kubeai.errors import ConfigError, PlanningError, ToolError
from kubeai.language import detect_language
from kubeai.tracing import KUBEAI_LANGUAGE, run_span
from serving.adapters import AdapterStore, active_model
from serving.client import ModelClient
from serving.registry import ModelRegistry
from tools.metric_tool import metric_query_tool
from tools.registry import TaskOutput, ToolRegistry
from tools.request_check import RequestCheck, check_request
from tools.tables import render_table
from tools.toolbox import planner_registry

__all__ = [
    "DOCS_COLLECTION",
    "PlanRun",
    "PlanStep",
    "PlannerAgent",
    "TaskReport",
    "planning_adapter",
    "planning_role",
    "run",
]

DOCS_COLLECTION = "docs"

METRIC_TOOL = "metric_query"

PlanStep = tuple[str, dict[str, Any]]
"""A graph node that finished and the state update it made, as :meth:`PlannerAgent.stream` yields it."""
ROW_FREE_TOOLS = frozenset(
    {
        "doc_qa",
        "summarize",
        "translate",
        "classify",
        "extract",
        "calculate",
        "table_join",
        "table_filter",
        "table_top",
        "table_pivot",
        "table_compare",
        "chart",
    }
)
"""The planner's tools that read no warehouse rows: they work on documents, on text the plan gives them, or on the
tables of earlier tasks (which only ``metric_query`` fetches). A scoped planner (:meth:`PlannerAgent.scoped`)
refuses any other tool but ``metric_query``, so a new tool that reads the warehouse cannot bypass a row scope."""


@dataclass(frozen=True, kw_only=True)
class TaskReport:
    """One task of a run: what it was asked to do, on which model, and what came of it.

    Attributes:
        task: The planned task (tool, arguments, dependencies, chosen model).
        status: ``ok``, ``changed`` (it ran, but its question differs from the request's: ``task.note`` says
            how), ``failed``, ``skipped``, or ``planned`` when the plan was not executed.
        text: The result in words (``ok``, ``changed``) or why it failed or was skipped.
        table: The result table, if the task produced one.
        value: The number, for the calculator.
        chart: A Plotly figure as JSON.
        details: Extras such as the SQL that ran or the documents quoted.
        started_s: When it started, in seconds from the start of execution.
        finished_s: When it ended.
    """

    task: PlannedTask
    status: str
    text: str = ""
    table: pd.DataFrame | None = None
    value: float | None = None
    chart: dict[str, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    started_s: float | None = None
    finished_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class PlanRun:
    """Everything one request produced.

    Attributes:
        request: The request.
        language: ``en`` or ``zh``.
        tasks: The task reports in plan order.
        answer: The final answer (empty when the plan was not executed).
        cited: Ids of the tasks the answer says it used.
        status: ``planned``, ``done``, ``partial`` (some tasks failed), ``failed`` (all did), or ``abstained``:
            the request is not one to act on (a request to change data, SQL, chit-chat; see ``reason``), so
            nothing was planned and ``answer`` says why.
        attempts: Plans asked of the model (1 plus re-plans; 0 for a given plan).
        repairs: What was settled without asking the model again: dependencies added or dropped, self-references
            pointed at earlier work, a plan built from the request's own terms after the model's attempts.
        demo_ids: The demonstrations shown to the planner.
        peak_parallel: The most tasks that ran at the same moment.
        timings: Seconds per stage (plan, select, respond) and ``execute`` (wall time of the task graph).
        tokens: Prompt and completion tokens per stage.
        reason: Why the request was declined (``abstained``), in its language; empty otherwise.
        revisions: Each re-plan after a task failed or returned nothing: ``failed`` (id, tool, status, error),
            ``kept`` (finished tasks reused, not rerun), ``superseded`` (the tasks replaced, with how they ended),
            ``tasks`` (the revised tasks), ``valid`` and ``problems`` (an invalid revision ends the run with what
            it has). ``tasks`` holds the graph as it finally ran: kept and revised tasks.
    """

    request: str
    language: str
    tasks: tuple[TaskReport, ...]
    answer: str
    cited: tuple[str, ...]
    status: str
    attempts: int
    repairs: tuple[str, ...] = ()
    demo_ids: tuple[str, ...] = ()
    peak_parallel: int = 0
    timings: Mapping[str, float] = field(default_factory=dict)
    tokens: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    reason: str = ""
    revisions: tuple[Mapping[str, Any], ...] = ()

    @property
    def replanned(self) -> bool:
        """Whether a revision of the plan ran after a task failed or returned nothing."""
        return any(revision.get("valid") for revision in self.revisions)

    @property
    def plan(self) -> tuple[PlannedTask, ...]:
        """The planned tasks."""
        return tuple(report.task for report in self.tasks)

    def mermaid(self) -> str:
        """The plan as a Mermaid flowchart, coloured by outcome once executed."""
        statuses = {r.task.id: r.status for r in self.tasks if r.status != "planned"}
        return to_mermaid(self.plan, statuses or None)

    def provenance(self) -> list[str]:
        """One line per fact the answer rests on: ``[t1] metric_query: ...`` (cited tasks first)."""
        order = [*self.cited, *(r.task.id for r in self.tasks if r.task.id not in self.cited)]
        by_id = {r.task.id: r for r in self.tasks}
        usable = [i for i in order if by_id[i].status in USABLE]
        facts = [f"[{i}] {by_id[i].task.tool}: {_one_line(_fact(by_id[i]))}" for i in usable]
        return facts + [_revision_line(revision) for revision in self.revisions]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: what ``kubeai plan --json`` prints."""
        return {
            "request": self.request,
            "language": self.language,
            "status": self.status,
            "reason": self.reason,
            "replanned": self.replanned,
            "revisions": [dict(revision) for revision in self.revisions],
            "answer": self.answer,
            "cited": list(self.cited),
            "attempts": self.attempts,
            "repairs": list(self.repairs),
            "demo_ids": list(self.demo_ids),
            "peak_parallel": self.peak_parallel,
            "timings": dict(self.timings),
            "tokens": {k: dict(v) for k, v in self.tokens.items()},
            "tasks": [_report_json(r) for r in self.tasks],
            "mermaid": self.mermaid(),
        }


class PlannerAgent:
    """Plans and runs multi-task requests; build it with :meth:`open` from the project configuration."""

    def __init__(self, *, context: Context, metrics: MetricsAgent | None = None) -> None:
        """A planner on ``context``.

        Args:
            context: The graph's tools, models and settings.
            metrics: The metrics agent behind ``context.tools``' ``metric_query``, so :meth:`scoped` can apply a
                row scope to it (``None`` when the tool answers some other way, or there is none).
        """
        self.context = context
        self.metrics = metrics
        self._graph = build_graph()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        config: ProjectConfig,
        *,
        llm: ModelClient | None = None,
        model: str | None = None,
        demos: int = 2,
        metrics: bool = True,
        documents: bool = True,
        metrics_agent: MetricsAgent | None = None,
    ) -> AsyncIterator[PlannerAgent]:
        """Open the tools named by ``config`` (metrics agent, knowledge base); close them after.

        Args:
            config: The project configuration.
            llm: A model client to use instead of one built from ``config.llm``.
            model: The model that plans, selects and responds (default: ``models.agents.planner`` or the base).
                With neither, plans come from the planning adapter promoted for the catalog, if any
                (:func:`planning_adapter`).
            demos: Demonstrations shown to the planner (0 for zero-shot planning; always 0 with the adapter, which
                was trained without them).
            metrics: Offer the metrics agent as the ``metric_query`` tool.
            documents: Offer document QA over the ``docs`` collection (the demo documents are ingested into an
                empty collection when the bundled demo catalog is in use).
            metrics_agent: An open metrics agent to use for ``metric_query`` (the caller closes it) instead of
                opening one; the HTTP API shares one between its assistants.
        """
        client = llm or ModelClient(config.llm, default_model=config.models.base.name)
        async with contextlib.AsyncExitStack() as stack:
            knowledge: KnowledgeBase | None = None
            if documents:
                knowledge = open_knowledge_base(
                    embeddings=config.embeddings, store=config.vector_store, data_dir=config.data_dir
                )
                stack.callback(knowledge.close)
                if config.warehouse.catalog is None:
                    await asyncio.to_thread(_ensure_demo_documents, knowledge)
            ask_metrics = None
            catalog = None
            if metrics:
                if metrics_agent is None:
                    metrics_agent = await stack.enter_async_context(MetricsAgent.open(config, llm=client))
                ask_metrics = _metric_tool_call(metrics_agent)
                catalog = metrics_agent.context.catalog
            else:
                metrics_agent = None
            tools = planner_registry(llm=client, knowledge=knowledge, ask_metrics=ask_metrics)
            bank = DemoBank.bundled(embeddings=knowledge.embeddings if knowledge is not None else None)
            chosen = model or config.models.agents.get("planner")
            plan_model = None if chosen else planning_adapter(config, catalog)
            context = Context(
                tools=tools,
                llm=client,
                models=ModelRegistry(config.models),
                demos=bank,
                model=chosen,
                plan_model=plan_model,
                demos_k=0 if plan_model else demos,
                catalog=catalog,
                max_replans=config.planner.max_replans,
            )
            yield cls(context=context, metrics=metrics_agent)

    def scoped(self, scope: Mapping[str, Sequence[str]]) -> PlannerAgent:
        """This planner for a user who may see only ``scope``'s rows (catalog dimension to allowed values).

        The view's ``metric_query`` asks :meth:`MetricsAgent.scoped`, whose SQL gate adds the scope's row filters
        to every query; nothing is reopened, and the view shares the graph and the other tools. An empty scope
        returns this planner.

        Raises:
            ConfigError: A scope dimension is not the catalog's; or the planner has a tool that could read rows
                without the scope: ``metric_query`` not backed by :attr:`metrics`, or a tool not in
                :data:`ROW_FREE_TOOLS`.
        """
        if not scope:
            return self
        unscoped = [name for name in self.context.tools.names() if name not in ROW_FREE_TOOLS | {METRIC_TOOL}]
        if METRIC_TOOL in self.context.tools and self.metrics is None:
            unscoped.insert(0, METRIC_TOOL)
        if unscoped:
            raise ConfigError(
                f"The planner cannot apply a row scope to its tool(s) {', '.join(unscoped)}; "
                "a scoped user can only use the metrics agent.",
                field="scope",
            )
        view = copy.copy(self)
        if self.metrics is not None:
            metrics = self.metrics.scoped(scope)
            tools = ToolRegistry(
                metric_query_tool(_metric_tool_call(metrics)) if tool.name == METRIC_TOOL else tool
                for tool in self.context.tools
            )
            view.metrics = metrics
            view.context = dataclasses.replace(self.context, tools=tools)
        return view

    async def plan(self, request: str, *, history: Sequence[Mapping[str, str]] = ()) -> PlanRun:
        """Plan ``request`` and choose models, without running anything.

        Raises:
            PlanningError: No valid plan within ``max_plan_attempts``.
        """
        return await self._invoke(InputState(request=request, history=_history(history), execute=False))

    async def run(
        self,
        request: str,
        *,
        plan: Sequence[Mapping[str, Any]] | None = None,
        history: Sequence[Mapping[str, str]] = (),
    ) -> PlanRun:
        """Plan ``request`` (or take ``plan`` as given), run the task graph and compose the answer.

        Args:
            request: What the user asks for.
            plan: Tasks ``{"id", "tool", "args", "dep"}`` to run instead of asking the model for a plan.
            history: Earlier turns ``{"role", "content"}``.

        Raises:
            PlanningError: No valid plan (for a given plan: its problems).
        """
        given = [dict(task) for task in plan] if plan is not None else None
        return await self._invoke(InputState(request=request, history=_history(history), plan=given))

    async def stream(
        self,
        request: str,
        *,
        plan: Sequence[Mapping[str, Any]] | None = None,
        history: Sequence[Mapping[str, str]] = (),
    ) -> AsyncIterator[PlanStep | PlanRun]:
        """:meth:`run`, yielding ``(node, update)`` as each graph node finishes, then the :class:`PlanRun`.

        The updates are the nodes' own (``select`` with the tasks it planned, ``run_task`` with each task's result,
        ...), for a caller that shows the task graph while it runs. A declined request yields only its result.

        Raises:
            PlanningError: As :meth:`run`.
        """
        given = [dict(task) for task in plan] if plan is not None else None
        async for item in self._steps(InputState(request=request, history=_history(history), plan=given)):
            yield item

    async def _invoke(self, state: InputState) -> PlanRun:
        result: PlanRun | None = None
        async for item in self._steps(state):
            if isinstance(item, PlanRun):
                result = item
        assert result is not None, "_steps ends with the run's result or raises"
        return result

    async def _steps(self, state: InputState) -> AsyncIterator[PlanStep | PlanRun]:
        entry = "run" if state.execute else "plan"
        with run_span("planner", entry=entry, model=self.context.model or self.context.llm.default_model) as span:
            if not state.request.strip():
                raise PlanningError("The request is empty; say what you want done.")
            declined = check_request(state.request) if state.plan is None else None
            if declined is not None:
                result = _declined(state.request, declined)
                span.set_attribute(KUBEAI_LANGUAGE, result.language)
                yield result
                return
            context = dataclasses.replace(self.context, board=TaskBoard())
            values: dict[str, Any] = {}
            async for mode, chunk in self._graph.astream(state, context=context, stream_mode=["updates", "values"]):
                parts: dict[str, Any] = chunk if isinstance(chunk, dict) else {}
                if mode == "values":  # the whole state after each step; the last one is the result
                    values = parts
                    continue
                for node, update in parts.items():
                    yield node, update if isinstance(update, dict) else {}
            final = State(**{k: v for k, v in values.items() if k in State.__dataclass_fields__})
            if final.status == "invalid_plan":
                attempts = final.attempts or 1
                raise PlanningError(
                    f"The planner could not produce a valid task graph in {attempts} attempt(s): "
                    f"{'; '.join(final.problems[:3])}.",
                    problems=tuple(final.problems),
                    draft=tuple(final.drafts[-1]) if final.drafts else tuple(state.plan or ()),
                )
            result = _plan_run(final, context.board)
            span.set_attribute(KUBEAI_LANGUAGE, result.language)
            yield result


def planning_role(catalog: Catalog) -> str:
    """The role a planning adapter trained on ``catalog``'s vocabulary is promoted for: ``planning:<catalog>``."""
    return f"planning:{catalog.name}"


def planning_adapter(config: ProjectConfig, catalog: Catalog | None) -> str | None:
    """The adapter ``planner.adapter`` names: ``auto`` reads the one promoted for the catalog, ``none`` none.

    Raises:
        ServingError: ``routes.json`` is not valid, or the routed version's folder is gone.
    """
    chosen = config.planner.adapter
    if chosen == "none":
        return None
    if chosen != "auto":
        return chosen
    if catalog is None:  # no metric tool: the adapter's requests are about a catalog's metrics
        return None
    return active_model(AdapterStore(config.data_dir / "adapters"), planning_role(catalog))


def _declined(request: str, declined: RequestCheck) -> PlanRun:
    """A request not to act on (a request to change data, SQL, chit-chat): nothing planned, no model asked."""
    language = detect_language(request)
    return PlanRun(
        request=request,
        language=language,
        tasks=(),
        answer=declined.decline(language),
        cited=(),
        status="abstained",
        attempts=0,
        reason=declined.reason(language),
    )


def _metric_tool_call(agent: MetricsAgent) -> Any:
    async def ask(question: str) -> TaskOutput:
        result = await agent.ask(question)
        if result.abstained:
            raise ToolError(f"the metrics agent could not answer {question!r}: {result.reason or result.answer}")
        return _metric_output(result)

    return ask


def _metric_output(result: MetricsResult) -> TaskOutput:
    return TaskOutput(
        text=f"{result.answer}\n{render_table(result.frame)}",
        table=result.frame,
        chart=result.chart,
        details={"sql": result.sql, "metrics": list(result.metrics), "dimensions": list(result.dimensions)},
    )


def _ensure_demo_documents(knowledge: KnowledgeBase) -> None:
    if knowledge.get(DOCS_COLLECTION, where={"chunk": 0}):
        return
    from knowledge.ingest import ingest

    ingest(knowledge, DOCS_COLLECTION, [DEMO_DOCS])


def _plan_run(state: State, board: TaskBoard) -> PlanRun:
    outcomes = board.outcomes()
    reports = []
    for data in state.tasks:
        task = PlannedTask.from_json(data)
        outcome = outcomes.get(task.id)
        if outcome is None:
            reports.append(TaskReport(task=task, status="planned" if not state.execute else "skipped"))
            continue
        output = outcome.output
        reports.append(
            TaskReport(
                task=task,
                status=outcome.status,
                text=output.text if output is not None else outcome.error,
                table=output.table if output is not None else None,
                value=output.value if output is not None else None,
                chart=output.chart if output is not None else None,
                details=dict(output.details) if output is not None else {},
                started_s=outcome.started_s,
                finished_s=outcome.finished_s,
            )
        )
    timings = dict(state.timings)
    if state.execute and reports:
        timings["execute"] = max((r.finished_s or 0.0) for r in reports)
    return PlanRun(
        request=state.request,
        language=state.language,
        tasks=tuple(reports),
        answer=state.answer,
        cited=tuple(state.cited),
        status=state.status if state.execute else "planned",
        attempts=state.attempts,
        repairs=tuple(state.repairs),
        demo_ids=tuple(state.demo_ids),
        peak_parallel=board.peak,
        timings=timings,
        tokens={k: dict(v) for k, v in state.tokens.items()},
        revisions=tuple(state.revisions),
    )


def _report_json(report: TaskReport) -> dict[str, Any]:
    table = table_json(report.table) if report.table is not None else dict.fromkeys(("columns", "rows", "row_count"))
    return {
        **report.task.to_json(),
        "status": report.status,
        "text": report.text,
        "value": report.value,
        **table,
        "chart": report.chart,
        "details": dict(report.details),
        "started_s": report.started_s,
        "finished_s": report.finished_s,
    }


def _history(turns: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    return [{"role": str(t.get("role", "user")), "content": str(t.get("content", ""))} for t in turns]


def _fact(report: TaskReport) -> str:
    return f"{report.task.note} {report.text}" if report.status == "changed" else report.text


def _revision_line(revision: Mapping[str, Any]) -> str:
    """A re-plan in one line: ``replanned after t2 failed (why): t2, t3 replaced by t5, t6; kept t1``."""
    failed = ", ".join(f"{f['id']} {f['status']} ({_one_line(str(f['error']), 80)})" for f in revision["failed"])
    old = ", ".join(str(task["id"]) for task in revision["superseded"])
    if not revision["valid"]:
        return f"not replanned after {failed}: the revision was invalid ({'; '.join(revision['problems'][:2])})"
    new = ", ".join(str(task["id"]) for task in revision["tasks"])
    kept = f"; kept {', '.join(revision['kept'])}" if revision["kept"] else ""
    return f"replanned after {failed}: {old} replaced by {new}{kept}"


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def run(request: str, config: ProjectConfig, **options: Any) -> PlanRun:
    """Synchronous one-shot wrapper around :meth:`PlannerAgent.run`."""

    async def go() -> PlanRun:
        async with PlannerAgent.open(config, **options) as agent:
            return await agent.run(request)

    return asyncio.run(go())
