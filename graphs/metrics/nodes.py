"""Nodes of the metrics-analysis graph: plain async functions ``(state, runtime) -> dict``.

understand -> retrieve -> generate -> gate -> [approve] -> execute -> chart -> answer, with gate, compile and
execution errors going back to ``generate`` as observations until ``max_attempts`` is spent, then ``abstain``.
Model output is only ever data: a structured query validated by pydantic and compiled by code, or SQL text that
must pass the SQL gate before a read-only connection sees it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, Field, create_model

from graphs.metrics.answers import compose_answer
from graphs.metrics.context import Context
from graphs.metrics.evidence import corrected
from graphs.metrics.linking import (
    asks_future,
    mentioned_dimensions,
    mentioned_metrics,
    mentioned_periods,
)
from graphs.metrics.result import ColumnInfo, compiled_columns, describes, display_headers, inferred_columns
from graphs.metrics.state import NEW_TURN, State, conversation
from graphs.metrics.tuned import TUNED_PROMPT, tuned_output_model, tuned_query, tuned_values
from graphs.shared import fit_to_context, node_tokens
from knowledge.catalog import Catalog, catalog_collection, retrieve_catalog
from kubeai.errors import (
    MetricQueryError,
    ModelNotFoundError,
    ModelOutputError,
    ModelServerError,
    ModelServerUnavailableError,
    ModelTimeoutError,
    PromptTooLongError,
    SQLGateError,
    WarehouseError,
    WarehouseUnavailableError,
)
from kubeai.language import detect_language
from kubeai.prompting import FittedPrompt, Trim, load_prompt, load_texts
from kubeai.values import json_value
from serving.client import Structured
from tools.charts import build_figure, choose_chart, figure_json
from tools.metric_query import (
    MetricQuery,
    compile_metric_query,
    metric_query_model,
    resolve_period,
)
from tools.request_check import check_request
from tools.sql_gate import check_sql

__all__ = [
    "abstain",
    "answer",
    "approve",
    "chart",
    "execute",
    "gate",
    "generate",
    "retrieve",
    "understand",
]

PROMPTS = "graphs.metrics.prompts"
# Answer token limits; each prompt is fitted into the context length minus its answer's limit.
_UNDERSTAND_TOKENS = 160
_QUERY_TOKENS = 512
_SQL_TOKENS = 400


class StandaloneQuestion(BaseModel):
    """A follow-up rewritten to stand on its own."""

    standalone_question: str = Field(min_length=1, max_length=400, description="The standalone question.")


class GeneratedSQL(BaseModel):
    """One read-only SELECT statement."""

    sql: str = Field(min_length=1, max_length=4000, description="A single SELECT statement.")


class ReasonedSQL(BaseModel):
    """Reasoning first, then the SQL (chain of thought)."""

    reasoning: str = Field(max_length=1200, description="Step-by-step plan for the query.")
    sql: str = Field(min_length=1, max_length=4000, description="A single SELECT statement.")


def _history(messages: Sequence[AnyMessage], limit: int = 6) -> list[dict[str, str]]:
    """The answered turns the model sees; a question left unanswered (a killed turn) is not among them."""
    turns = [{"role": role, "content": text} for role, text in conversation(messages) if role != "unanswered"]
    return turns[-limit:]


async def understand(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Start a turn: reset per-turn fields and rewrite a follow-up into a standalone question."""
    began = time.perf_counter()
    question = state.question.strip()
    history = _history(state.messages)
    update: dict[str, Any] = {
        "messages": [HumanMessage(content=question)],
        "standalone_question": question,
        "language": detect_language(question),
        "metric_names": [],
        "linked_metrics": [],
        "dimension_names": [],
        "example_ids": [],
        "query": None,
        "path": "",
        "sql": None,
        "gated_sql": None,
        "period": None,
        "attempts": 0,
        "errors": [],
        "columns": [],
        "rows": [],
        "column_info": [],
        "column_source": "",
        "truncated": False,
        "chart": None,
        "chart_kind": None,
        "answer": "",
        "abstained": False,
        "reason": "",
        "prompt_fit": [],
    }
    tokens: dict[str, dict[str, int]] = {NEW_TURN: {}}
    declined = check_request(question)
    if declined is not None:
        # Not a question about the data (empty, no words, SQL, a request to change data, chit-chat): no model is
        # asked, and the reason is given in the question's language.
        update.update(abstained=True, reason=declined.reason(update["language"]))
    elif history:
        ctx = runtime.context
        fitted: FittedPrompt | None = None
        try:
            fitted = await fit_to_context(
                ctx.llm,
                load_prompt(PROMPTS, "understand"),
                {"history": history, "question": question},
                model=ctx.model,
                max_tokens=_UNDERSTAND_TOKENS,
                trims=(Trim(variable="history", keep=1, oldest_first=True),),
            )
            result = await ctx.llm.structured(
                fitted.messages, StandaloneQuestion, model=ctx.model, max_tokens=_UNDERSTAND_TOKENS
            )
        except (ModelOutputError, PromptTooLongError) as exc:
            # A small model may fail to rewrite; the previous question plus this one still retrieves well.
            previous = next((turn["content"] for turn in reversed(history) if turn["role"] == "user"), "")
            update["standalone_question"] = " ".join(part for part in (previous, question) if part)
            update["prompt_fit"] = _prompt_record("understand", fitted, exc)
        else:
            update["standalone_question"] = result.value.standalone_question.strip()
            update["prompt_fit"] = _prompt_record("understand", fitted, None)
            tokens.update(node_tokens("understand", result))
    if not update["abstained"] and asks_future(update["standalone_question"]):
        # A forecast: the warehouse records what happened, so any query would answer with a past period.
        reference = runtime.context.catalog.reference_date.isoformat()
        future = load_texts(PROMPTS, "abstain")["future"]
        update.update(abstained=True, reason=future.render(update["language"], reference_date=reference))
    update["tokens"] = tokens
    update["timings"] = {NEW_TURN: 0.0, "understand": time.perf_counter() - began}
    return update


async def retrieve(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Find the metrics, dimensions and examples the question is about (hybrid search), or use the whole catalog."""
    began = time.perf_counter()
    ctx = runtime.context
    catalog = ctx.catalog
    if state.abstained:
        return {"timings": {"retrieve": 0.0}}
    metrics: list[str] = []
    dimensions: list[str] = []
    examples: list[str] = []
    if ctx.knowledge is None:
        metrics = [m.name for m in catalog.metrics]
        dimensions = [d.name for d in catalog.dimensions]
        examples = [f"example:{i}" for i in range(len(catalog.examples))]
    else:
        matches = await asyncio.to_thread(
            retrieve_catalog,
            ctx.knowledge,
            state.standalone_question,
            metrics_k=ctx.max_metrics,
            dimensions_k=ctx.retrieval_k,
            examples_k=ctx.max_examples,
            alpha=ctx.alpha,
            collection=catalog_collection(catalog),
        )
        metrics = [str(h.metadata.get("name", "")) for h in matches.metrics]
        dimensions = [str(h.metadata.get("name", "")) for h in matches.dimensions]
        examples = [h.id for h in matches.examples]
        metrics = [m for m in metrics if catalog.metric(m) is not None]
    linked = mentioned_metrics(state.standalone_question, catalog)
    metrics = list(dict.fromkeys([*linked, *metrics]))[: max(ctx.max_metrics, len(linked))]
    dimensions = [*mentioned_dimensions(state.standalone_question, catalog), *dimensions]
    if not metrics:
        return {
            "abstained": True,
            "reason": load_texts(PROMPTS, "abstain")["no_metric"].render(state.language),
            "timings": {"retrieve": time.perf_counter() - began},
        }
    allowed = [d for m in metrics for d in catalog.allowed_dimensions(m)]
    dimensions = [d for d in dict.fromkeys([*dimensions, *allowed]) if catalog.dimension(d) is not None]
    return {
        "metric_names": metrics,
        "linked_metrics": linked,
        "dimension_names": dimensions[: ctx.max_dimensions],
        "example_ids": list(dict.fromkeys(examples))[: ctx.max_examples],
        "timings": {"retrieve": time.perf_counter() - began},
    }


def _metric_knowledge(catalog: Catalog, names: Sequence[str]) -> list[dict[str, str]]:
    out = []
    for name in names:
        m = catalog.metric(name)
        if m is None:
            continue
        text = load_texts(PROMPTS, "knowledge")["metric"].render(
            label_en=m.label.en,
            label_zh=m.label.zh,
            description=m.description,
            synonyms=[*m.synonyms.en, *m.synonyms.zh],
        )
        out.append({"name": name, "text": text})
    return out


def _dimension_knowledge(catalog: Catalog, names: Sequence[str]) -> list[dict[str, str]]:
    out = []
    for name in names:
        d = catalog.dimension(name)
        if d is None:
            continue
        text = load_texts(PROMPTS, "knowledge")["dimension"].render(
            label_en=d.label.en,
            label_zh=d.label.zh,
            time_grains=list(d.time_grains),
            metric_time=d.metric_time,
            filter_only=d.filter_only,
            synonyms=[*d.synonyms.en, *d.synonyms.zh],
        )
        out.append({"name": name, "text": text})
    return out


def _examples(catalog: Catalog, ids: Sequence[str]) -> list[dict[str, str]]:
    out = []
    for entry_id in ids:
        index = int(entry_id.split(":", 1)[1])
        if 0 <= index < len(catalog.examples):
            example = catalog.examples[index]
            if example.sql is not None:
                out.append({"question": example.question, "sql": " ".join(example.sql.split())})
    return out


def _query_examples(catalog: Catalog, ids: Sequence[str]) -> list[dict[str, str]]:
    """Retrieved examples that carry a structured query, as the model should fill it."""
    out = []
    for entry_id in ids:
        index = int(entry_id.split(":", 1)[1])
        if 0 <= index < len(catalog.examples) and catalog.examples[index].query is not None:
            example = catalog.examples[index]
            query = json.dumps(example.query, ensure_ascii=False, separators=(",", ":"))
            out.append({"question": example.question, "query": query})
    return out


def _business(catalog: Catalog) -> str:
    """What the catalog says about the business and the rules it states once, for the prompt."""
    conventions = catalog.conventions
    return load_texts(PROMPTS, "knowledge")["business"].render(
        description=" ".join(catalog.description.split()),
        rate_format=conventions.rate_format,
        growth_format=conventions.growth_format,
        notes=[" ".join(note.split()) for note in conventions.notes],
    )


def _periods(catalog: Catalog, question: str) -> list[dict[str, str]]:
    """The named periods the question mentions, with the dates each covers today, for the prompt.

    The query schema offers every period name; the prompt spells out only those the question uses, so a catalog
    with many periods does not crowd out the metric definitions.
    """
    conventions = catalog.conventions
    out = []
    for name in mentioned_periods(question, catalog)[:4]:
        period = catalog.period(name)
        assert period is not None
        start, end = resolve_period(
            period,
            catalog.reference_date,
            week_start=conventions.week_start,
            fiscal_year_start_month=conventions.fiscal_year_start_month,
        )
        text = load_texts(PROMPTS, "knowledge")["period"].render(
            label_en=period.label.en, label_zh=period.label.zh, start=str(start), end=str(end - timedelta(days=1))
        )
        out.append({"name": period.name, "text": text})
    return out


def _uses_sql_path(ctx: Context, attempts: int) -> bool:
    if ctx.strategy == "sql":
        return True
    return ctx.strategy == "auto" and attempts > 0 and attempts == ctx.max_attempts - 1


async def generate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the model for a structured metric query (compiled to SQL by code) or, on the SQL path, for SQL."""
    began = time.perf_counter()
    ctx = runtime.context
    catalog = ctx.catalog
    attempts = state.attempts + 1
    common = {
        "question": state.standalone_question,
        "history": [],
        "metrics": _metric_knowledge(catalog, state.metric_names),
        "dimensions": _dimension_knowledge(catalog, state.dimension_names),
        "reference_date": catalog.reference_date.isoformat(),
        "business": _business(catalog),
        "periods": _periods(catalog, state.standalone_question),
        "errors": state.errors[-2:],
        "chain_of_thought": ctx.chain_of_thought,
    }
    update: dict[str, Any] = {"attempts": attempts, "gated_sql": None}
    trims = _trims(linked=len(state.linked_metrics))
    fitted: FittedPrompt | None = None
    error: Exception | None = None
    try:
        if _uses_sql_path(ctx, state.attempts):
            values = {
                **common,
                "dialect": catalog.warehouse.dialect,
                "schema": {t.name: [c.name for c in t.columns] for t in catalog.tables},
                "examples": _examples(catalog, state.example_ids),
                "max_rows": ctx.max_rows,
            }
            prompt = load_prompt(PROMPTS, "generate_sql")
            fitted = await fit_to_context(ctx.llm, prompt, values, model=ctx.model, max_tokens=_SQL_TOKENS, trims=trims)
            schema: type[BaseModel] = ReasonedSQL if ctx.chain_of_thought else GeneratedSQL
            result = await ctx.llm.structured(fitted.messages, schema, model=ctx.model, max_tokens=_SQL_TOKENS)
            update.update(path="sql", sql=str(getattr(result.value, "sql", "")), query=None, period=None)
            update.update(column_info=[], column_source="")  # no compiler: the chart infers the roles
        elif ctx.tuned_model is not None and state.attempts == 0:
            fitted, result, tuned = await _ask_tuned(state, ctx)
            update.update(_tuned_update(tuned, state, ctx))
        else:
            prompt = load_prompt(PROMPTS, "generate_query")
            fitted = await fit_to_context(
                ctx.llm,
                prompt,
                {**common, "examples": _query_examples(catalog, state.example_ids)},
                model=ctx.model,
                max_tokens=_QUERY_TOKENS,
                trims=trims,
            )
            # Metrics the question names outright are the only choices; otherwise the retrieved ones are. Either
            # way the model may only choose what its prompt describes.
            shown = [m["name"] for m in fitted.values["metrics"]]
            named = [m for m in state.linked_metrics if m in shown]
            model_cls = metric_query_model(
                named or shown,
                [d["name"] for d in fitted.values["dimensions"]],
                periods=[p.name for p in catalog.periods()],
            )
            wrapper: type[BaseModel] = model_cls
            if ctx.chain_of_thought:
                wrapper = create_model(
                    "ReasonedMetricQuery",
                    reasoning=(str, Field(max_length=1200, description="Step-by-step reasoning.")),
                    query=(model_cls, ...),
                )
            result = await ctx.llm.structured(fitted.messages, wrapper, model=ctx.model, max_tokens=_QUERY_TOKENS)
            query = result.value.query if ctx.chain_of_thought else result.value  # type: ignore[attr-defined]
            assert isinstance(query, MetricQuery)
            update.update(_compiled(query, state, ctx))
        update["tokens"] = node_tokens("generate", result)
    except (ModelOutputError, MetricQueryError, PromptTooLongError) as exc:
        # A prompt too long even at its smallest is reported here instead of being sent to overflow.
        error = exc
        update.update(sql=None, errors=[*state.errors, str(exc)])
    except (ModelServerUnavailableError, ModelTimeoutError, ModelNotFoundError):
        raise  # the server itself is the problem: the caller gets the one-sentence error
    except ModelServerError as exc:
        # The server refused this request (e.g. the prompt overflows the context): an observation, not a crash.
        update.update(sql=None, errors=[*state.errors, str(exc)])
    update["prompt_fit"] = [*state.prompt_fit, *_prompt_record("generate", fitted, error)]
    update["timings"] = {"generate": time.perf_counter() - began}
    return update


def _compiled(query: MetricQuery, state: State, ctx: Context) -> dict[str, Any]:
    """The filled query tidied and corrected by what the question says, compiled: the ``generate`` update."""
    catalog = ctx.catalog
    query = corrected(
        query,
        state.standalone_question,
        catalog,
        ctx.values,
        ranked_metrics=state.metric_names,
        named=len(state.linked_metrics),
    )
    compiled = compile_metric_query(query, catalog)
    return {
        "path": "structured",
        "query": query.model_dump(mode="json"),
        "sql": compiled.sql,
        "period": [d.isoformat() for d in compiled.time_range] if compiled.time_range else None,
        "column_info": compiled_columns(compiled.column_info),
        "column_source": "compiler",
    }


async def _ask_tuned(state: State, ctx: Context) -> tuple[FittedPrompt, Structured[Any], MetricQuery | None]:
    """Ask the catalog's fine-tuned adapter with the prompt it was trained on; ``None``: it found no answer."""
    assert ctx.tuned_model is not None
    catalog = ctx.catalog
    metrics = state.metric_names[: ctx.max_metrics]
    dimensions = state.dimension_names
    values = tuned_values(catalog, state.standalone_question, metrics=metrics)
    fitted = await fit_to_context(
        ctx.llm, load_prompt(PROMPTS, TUNED_PROMPT), values, model=ctx.tuned_model, max_tokens=_QUERY_TOKENS
    )
    shown = fitted.values["metrics"]
    named = [m for m in state.linked_metrics if m in shown]
    schema = tuned_output_model(named or shown, dimensions, periods=[p.name for p in catalog.periods()])
    result = await ctx.llm.structured(fitted.messages, schema, model=ctx.tuned_model, max_tokens=_QUERY_TOKENS)
    return fitted, result, tuned_query(result.value)


def _tuned_update(query: MetricQuery | None, state: State, ctx: Context) -> dict[str, Any]:
    """The ``generate`` update for the adapter's answer: the compiled query, an abstention, or a repair.

    The adapter says the catalog cannot answer, yet the question names a metric the catalog defines: the two
    disagree, so the repair attempt (the base model with the full prompt) decides instead of a false "can't".
    """
    if query is not None:
        return _compiled(query, state, ctx)
    if state.linked_metrics:
        names = ", ".join(state.linked_metrics)
        error = f"the adapter marked the question unanswerable, but it names the catalog metric(s) {names}"
        return {"path": "structured", "sql": None, "query": None, "errors": [*state.errors, error]}
    return {"path": "structured", "sql": None, "query": None, "abstained": True, "reason": _unanswerable(state)}


def _unanswerable(state: State) -> str:
    return load_texts(PROMPTS, "abstain")["unanswerable"].render(state.language)


def _trims(*, linked: int) -> tuple[Trim, ...]:
    """What a prompt that does not fit loses first: examples, then dimensions, then metrics.

    The lists arrive ranked, most relevant first, so each loses its tail; metrics keep the first (or those the
    question names).
    """
    return (Trim(variable="examples"), Trim(variable="dimensions"), Trim(variable="metrics", keep=max(1, linked)))


def _prompt_record(node: str, fitted: FittedPrompt | None, error: Exception | None) -> list[dict[str, Any]]:
    """A ``prompt_fit`` entry: the prompt's tokens and budget, what was left out, too long, answer cut off."""
    if isinstance(error, PromptTooLongError):
        return [
            {"node": node, "tokens": error.tokens, "budget": error.budget, "dropped": {}, "too_long": True,
             "cut_off": False}
        ]  # fmt: skip
    if fitted is None:
        return []
    cut_off = isinstance(error, ModelOutputError) and error.finish_reason == "length"
    return [{"node": node, **fitted.report(), "too_long": False, "cut_off": cut_off}]


async def gate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the generated SQL through the SQL gate; a rejection becomes an observation for repair."""
    began = time.perf_counter()
    ctx = runtime.context
    assert state.sql is not None
    try:
        result = check_sql(state.sql, ctx.gate)
    except SQLGateError as exc:
        return {"errors": [*state.errors, str(exc)], "timings": {"gate": time.perf_counter() - began}}
    return {"gated_sql": result.sql, "dialect": result.dialect, "timings": {"gate": time.perf_counter() - began}}


async def approve(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pause for a human: approve the SQL, edit it (it goes through the gate again), or reject it."""
    decision = interrupt({"sql": state.gated_sql, "question": state.standalone_question})
    action = decision.get("action") if isinstance(decision, dict) else decision
    if action == "approve":
        return {}
    if action == "edit" and isinstance(decision, dict) and isinstance(decision.get("sql"), str):
        try:
            result = check_sql(decision["sql"], runtime.context.gate)
        except SQLGateError as exc:
            reason = load_texts(PROMPTS, "abstain")["edit_rejected"].render(state.language, error=str(exc))
            return {"abstained": True, "reason": reason}
        return {
            "sql": decision["sql"],
            "gated_sql": result.sql,
            "path": "edited",
            "query": None,
            "period": None,
            "column_info": [],
            "column_source": "",
        }
    return {"abstained": True, "reason": load_texts(PROMPTS, "abstain")["reviewer_rejected"].render(state.language)}


async def execute(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the gated SQL on the read-only warehouse connection, with a timeout and a row cap."""
    began = time.perf_counter()
    ctx = runtime.context
    assert state.gated_sql is not None
    try:
        result = await asyncio.to_thread(
            ctx.runner.run, state.gated_sql, max_rows=ctx.max_rows, timeout_s=ctx.timeout_s
        )
    except WarehouseUnavailableError:
        # The warehouse itself is unreachable: no query can run however it is written, so the turn ends with that
        # one sentence (as for an unreachable model server) instead of asking the model to repair its SQL.
        raise
    except WarehouseError as exc:
        return {"errors": [*state.errors, str(exc)], "timings": {"execute": time.perf_counter() - began}}
    frame = result.frame
    return {
        "columns": [str(c) for c in frame.columns],
        "rows": [[json_value(v) for v in row] for row in frame.itertuples(index=False, name=None)],
        "truncated": result.truncated,
        "timings": {"execute": time.perf_counter() - began},
    }


def _result_columns(state: State, catalog: Catalog) -> tuple[list[ColumnInfo], Literal["compiler", "inferred"]]:
    """What each result column holds: the compiler's word when it describes this result, else inferred once."""
    if state.column_source and describes(state.column_info, state.columns):
        return state.column_info, state.column_source
    return inferred_columns(state.columns, state.rows, catalog), "inferred"


async def chart(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pick a chart from the result's shape and roles and build a validated, declarative Plotly figure.

    The roles, labels and units come from the compiler's column info (a year bucket such as 2025 is a time, not a
    measure); without it (free SQL) they are inferred, and ``column_source`` says so. Axes, legends and table
    headers show the catalog's labels in the question's language, with units.
    """
    began = time.perf_counter()
    info, source = _result_columns(state, runtime.context.catalog)
    update: dict[str, Any] = {"column_info": info, "column_source": source}
    if not state.rows:
        return {**update, "timings": {"chart": time.perf_counter() - began}}
    data = {name: [row[i] for row in state.rows] for i, name in enumerate(state.columns)}
    spec = choose_chart(
        data,
        time_columns=[c["name"] for c in info if c["role"] == "time"],
        dimension_columns=[c["name"] for c in info if c["role"] == "dimension"],
        metric_columns=[c["name"] for c in info if c["role"] == "metric"],
        title=state.standalone_question,
        labels=dict(zip(state.columns, display_headers(state.columns, info, state.language), strict=True)),
    )
    figure = build_figure(spec, data)
    return {
        **update,
        "chart": figure_json(figure),
        "chart_kind": spec.kind,
        "timings": {"chart": time.perf_counter() - began},
    }


async def answer(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """A short answer in the question's language whose numbers are read from the result table."""
    began = time.perf_counter()
    info, _ = _result_columns(state, runtime.context.catalog)
    text = compose_answer(
        columns=state.columns,
        rows=state.rows,
        column_info=info,
        metric_names=[str(m) for m in (state.query or {}).get("metrics", [])] or state.metric_names,
        language=state.language,
        period=state.period,
        truncated=state.truncated,
    )
    return {"answer": text, "messages": [AIMessage(content=text)], "timings": {"answer": time.perf_counter() - began}}


async def abstain(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Say honestly that the question cannot be answered, why, and what was tried.

    When every attempt failed, the first error is named as the cause: later attempts only repair it, and the last
    (the SQL fallback's longer prompt, say) often fails for reasons of its own. The last is named too when it differs.
    """
    texts = load_texts(PROMPTS, "abstain")
    language = state.language
    if state.reason:
        reason = state.reason
    elif state.errors:
        first, last = (_clause(error) for error in (state.errors[0], state.errors[-1]))
        attempts = max(state.attempts, len(state.errors))
        reason = texts["attempts_failed"].render(
            language, attempts=attempts, first=first, last=last if last != first else ""
        )
    else:
        reason = texts["no_query"].render(language)
    text = texts["declined"].render(language, reason=reason)
    return {"abstained": True, "reason": reason, "answer": text, "messages": [AIMessage(content=text)]}


def _clause(error: str) -> str:
    """An error sentence as a clause to quote inside another: one line, no closing full stop."""
    return " ".join(error.split()).rstrip(".")
