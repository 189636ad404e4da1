"""Nodes of the task-decomposition graph: plain async functions ``(state, runtime) -> dict``.

plan -> validate -> (re-plan with the problems | give_up) -> select -> every task at once (``Send``) -> join ->
(replan the rest after a failure, once -> select -> the revised tasks -> join) -> respond.
The model only ever fills schemas: a plan whose task variants are the registered tools, a model name from an
enum of candidates, an answer with the ids of the tasks it used. Tools run on validated arguments.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, create_model

from graphs.planner.context import Context
from graphs.planner.demonstrations import Demo
from graphs.planner.execution import USABLE
from graphs.planner.execution import run_task as execute_task
from graphs.planner.grounding import ground_plan, plan_from_request
from graphs.planner.plan import PlannedTask, plan_schema, validate_plan
from graphs.planner.replanning import failures, kept_tasks, next_number, revision_record
from graphs.planner.state import State
from graphs.shared import NEW_TURN, node_tokens
from kubeai.errors import ModelServerError, ModelServerUnavailableError
from kubeai.language import detect_language
from kubeai.prompting import load_prompt
from serving.registry import RegisteredModel
from tools.registry import ToolRegistry

__all__ = [
    "Job",
    "give_up",
    "join",
    "plan",
    "plan_messages",
    "replan",
    "respond",
    "run_task",
    "select",
    "tool_lines",
    "validate",
]

PROMPTS = "graphs.planner.prompts"
RESULT_TEXT_LIMIT = 600


class Job(BaseModel):
    """What the fan-out sends to one ``run_task``: the task, and the request it serves."""

    task: dict[str, Any]
    request: str
    language: str


async def plan(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the model for a task graph, showing the nearest demonstrations and, on a re-plan, the problems."""
    began = time.perf_counter()
    ctx = runtime.context
    first = state.attempts == 0
    language = detect_language(state.request)
    demos = ctx.demos.nearest(state.request, ctx.demos_k, tools=ctx.tools.names(), language=language)
    messages = plan_messages(
        ctx.tools, request=state.request, demos=demos, history=state.history[-6:], problems=state.problems[:6]
    )
    schema = plan_schema(ctx.tools, max_tasks=ctx.max_tasks)
    update: dict[str, Any] = {"attempts": state.attempts + 1, "demo_ids": [d.id for d in demos]}
    if first:
        update.update(language=language, timings={NEW_TURN: 0.0}, tokens={NEW_TURN: {}})
    try:
        result = await ctx.llm.structured_json(
            messages, schema, name="Plan", model=ctx.plan_model or ctx.model, max_tokens=_plan_tokens(ctx)
        )
    except ModelServerUnavailableError:
        raise
    except ModelServerError as exc:
        update["drafts"] = [*state.drafts, []]
        update["problems"] = [f"the model gave no usable plan ({exc})"]
    else:
        tasks = result.value.get("tasks")
        draft = [t for t in tasks if isinstance(t, dict)] if isinstance(tasks, list) else []
        update["drafts"] = [*state.drafts, draft]
        update["plan"] = draft
        update["tokens"] = {**update.get("tokens", {}), **node_tokens("plan", result)}
    update["timings"] = {**update.get("timings", {}), "plan": time.perf_counter() - began}
    return update


def plan_messages(
    tools: ToolRegistry,
    *,
    request: str,
    demos: Sequence[Demo] = (),
    history: Sequence[Mapping[str, str]] = (),
    problems: Sequence[str] = (),
) -> list[BaseMessage]:
    """The planning prompt for ``request``: the tools' signatures, the demonstrations, the dialogue and problems.

    The plan node asks the model with it, and the planning adapter's training data (``finetune.planning_data``)
    is written in it, so the adapter learns the prompt it is served.
    """
    return load_prompt(PROMPTS, "plan").render(
        tools=tool_lines(tools),
        demos=[{"request": d.request, "plan": d.plan_json()} for d in demos],
        history=list(history),
        request=request,
        problems=list(problems),
    )


def tool_lines(tools: ToolRegistry) -> list[dict[str, str]]:
    """Each tool as the planner's prompts describe it: a signature and the first sentence of its description."""
    return [
        {"signature": _signature(tools, name), "description": _first_sentence(tools, name)} for name in tools.names()
    ]


async def validate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check the plan's structure, then that it does what the request asks; keep it or say what to fix.

    Structural problems (see :func:`~graphs.planner.plan.validate_plan`) and, for a model's plan, what it misses
    of the request (see :mod:`graphs.planner.grounding`) go back to the model while attempts remain. After the
    last attempt, or a re-plan that repeats the rejected draft (the model will not fix it), the plan the request
    itself describes replaces it where the request says one clearly; else a plan that can run runs as it is (what
    it misses listed with the repairs), and one that cannot is given up.
    """
    ctx = runtime.context
    update: dict[str, Any] = {}
    language = detect_language(state.request)
    if state.attempts == 0:  # a plan given by the caller: the turn starts here
        update.update(language=language, timings={NEW_TURN: 0.0}, tokens={NEW_TURN: {}})
    from_model = state.attempts > 0
    repeated = len(state.drafts) >= 2 and state.drafts[-1] == state.drafts[-2]
    last = from_model and (state.attempts >= ctx.max_plan_attempts or repeated)
    tasks: list[PlannedTask] = []
    repairs: list[str] = []
    problems = state.problems or ["no plan was produced"]
    soft: list[str] = []
    if state.plan is not None:
        outcome = validate_plan(state.plan, ctx.tools, max_tasks=ctx.max_tasks)
        tasks, problems, repairs = list(outcome.tasks), list(outcome.problems), list(outcome.repairs)
        if outcome.ok and ctx.catalog is not None:
            grounding = ground_plan(tasks, state.request, ctx.catalog, language=language, from_model=from_model)
            tasks, soft = list(grounding.tasks), list(grounding.problems)
    if last and (problems or soft):
        built = _plan_from_request(state, ctx, language)
        if built:
            why = "; ".join([*problems, *soft][:2])
            repairs = [
                f"the model's plans still had problems after {state.attempts} attempts ({why}), so the "
                "plan was built from the request's own metrics, period and breakdown",
                *built[1],
            ]
            tasks, problems, soft = list(built[0]), [], []
        elif not problems:
            repairs += [f"ran the model's plan although {problem}" for problem in soft]
            soft = []
    problems = [*problems, *soft]
    return {
        **update,
        "tasks": [] if problems else [task.to_json() for task in tasks],
        "problems": problems,
        "repairs": repairs,
        "plan": None if problems else state.plan,
    }


def _plan_from_request(state: State, ctx: Context, language: str) -> tuple[list[PlannedTask], list[str]] | None:
    """The plain plan the request describes in the catalog's terms, validated and grounded, if it says one."""
    if ctx.catalog is None:
        return None
    raw = plan_from_request(state.request, ctx.catalog, ctx.tools, language=language)
    outcome = validate_plan(raw, ctx.tools, max_tasks=ctx.max_tasks) if raw else None
    if outcome is None or not outcome.ok:
        return None
    grounded = ground_plan(outcome.tasks, state.request, ctx.catalog, language=language, from_model=False)
    return list(grounded.tasks), list(outcome.repairs)


async def give_up(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """No valid plan within the attempts: stop with the problems (the agent raises them as one error)."""
    return {"status": "invalid_plan"}


async def select(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Choose a model for every task that runs on one: candidates by task type and language, then the model picks.

    After a re-plan only the revised tasks get models; the kept tasks have run already.
    """
    began = time.perf_counter()
    ctx = runtime.context
    tasks = [PlannedTask.from_json(t) for t in state.tasks]
    pending = [task for task in tasks if task.id not in state.results]
    picks = await asyncio.gather(
        *(_pick_model(ctx, state, task) for task in pending if ctx.tools.needs_model(task.tool))
    )
    chosen = dict(picks)
    updated = [
        (
            task if task.id not in chosen else PlannedTask.from_json({**task.to_json(), "model": chosen[task.id]})
        ).to_json()
        for task in tasks
    ]
    if state.execute and state.replans:
        ctx.board.extend(task.id for task in pending)
    elif state.execute:
        ctx.board.open((t["id"] for t in updated), max_parallel=ctx.max_parallel)
    return {
        "tasks": updated,
        "selections": {**state.selections, **chosen},
        "status": "planned" if not state.execute else "running",
        "timings": {"select": time.perf_counter() - began},
    }


async def run_task(state: Job, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run one task as soon as its dependencies are done (all tasks are sent at once)."""
    ctx = runtime.context
    job = state
    task = PlannedTask.from_json(job.task)
    outcome = await execute_task(
        task,
        tools=ctx.tools,
        board=ctx.board,
        timeout_s=ctx.task_timeout_s,
        language=job.language,
        request=job.request,
    )
    return {"results": {task.id: outcome.to_json(task)}}


async def join(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Look at the finished task graph: the tasks that failed or returned nothing are the observations to replan on."""
    tasks = [PlannedTask.from_json(t) for t in state.tasks]
    return {"failures": failures(tasks, state.results)}


async def replan(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Revise the rest of the graph once after a failure, keeping the finished tasks (LLMCompiler's replan).

    The model sees the tasks as they ran and what went wrong, and writes only the tasks that replace the failed
    ones and their dependants, numbered after every id used so far; its schema lets them name the kept tasks and
    earlier new ones. Kept tasks plus the revision must pass the same validator as any plan; an invalid revision
    (or none) is recorded and the run ends with what it has.
    """
    began = time.perf_counter()
    ctx = runtime.context
    tasks = [PlannedTask.from_json(t) for t in state.tasks]
    kept = kept_tasks(tasks, state.results, [f["id"] for f in state.failures])
    first = next_number(tasks, state.revisions)
    room = max(1, ctx.max_tasks - len(kept))
    lines = [
        {
            "id": task.id,
            "tool": task.tool,
            "args": json.dumps(dict(task.args), ensure_ascii=False)[:200],
            "status": state.results[task.id]["status"] if task.id in state.results else "skipped",
            "text": _clip(_result_text(state.results[task.id]))[:200] if task.id in state.results else "",
        }
        for task in tasks
    ]
    messages = load_prompt(PROMPTS, "replan").render(
        tools=tool_lines(ctx.tools),
        request=state.request,
        tasks=lines,
        failures=state.failures[:6],
        kept=[task.id for task in kept],
        first=f"t{first}",
    )
    schema = plan_schema(ctx.tools, max_tasks=room, first=first, finished=[task.id for task in kept])
    update: dict[str, Any] = {"replans": state.replans + 1}
    revised: list[PlannedTask] = []
    repairs: list[str] = []
    try:
        result = await ctx.llm.structured_json(
            messages, schema, name="Plan", model=ctx.model, max_tokens=min(ctx.llm.config.max_tokens, 90 * room)
        )
    except ModelServerUnavailableError:
        raise
    except ModelServerError as exc:
        problems = [f"the model gave no usable revision ({exc})"]
    else:
        update["tokens"] = node_tokens("replan", result)
        revised, problems, repairs = _check_revision(ctx, state, kept, result.value.get("tasks"), first)
    update["revisions"] = [
        *state.revisions,
        revision_record(
            observed=state.failures,
            tasks=tasks,
            kept=kept,
            results=state.results,
            revised=revised,
            problems=problems,
            repairs=repairs,
        ),
    ]
    if not problems:
        update["tasks"] = [task.to_json() for task in [*kept, *revised]]
        update["repairs"] = [*state.repairs, *repairs]
    update["timings"] = {"replan": time.perf_counter() - began}
    return update


def _check_revision(
    ctx: Context, state: State, kept: list[PlannedTask], drafted: Any, first: int
) -> tuple[list[PlannedTask], list[str], list[str]]:
    """The revised tasks (grounded in the request), or the problems that make the revision invalid, and repairs."""
    draft = [t for t in drafted if isinstance(t, dict)] if isinstance(drafted, list) else []
    if not draft:
        return [], ["the revision has no tasks"], []
    used = [str(t.get("id")) for t in draft if not _number_at_least(t.get("id"), first)]
    if used:
        return [], [f"tasks {', '.join(used)} reuse ids of the run; number new tasks from t{first}"], []
    raw = [{"id": t.id, "tool": t.tool, "args": dict(t.args), "dep": list(t.depends_on)} for t in kept]
    outcome = validate_plan([*raw, *draft], ctx.tools, max_tasks=ctx.max_tasks)
    if not outcome.ok:
        return [], list(outcome.problems), list(outcome.repairs)
    kept_ids = {task.id for task in kept}
    revised = [task for task in outcome.tasks if task.id not in kept_ids]
    if ctx.catalog is not None:  # notes on metric tasks whose question differs from the request's
        grounded = ground_plan(revised, state.request, ctx.catalog, language=state.language, from_model=False)
        revised = list(grounded.tasks)
    return revised, [], list(outcome.repairs)


def _number_at_least(task_id: Any, first: int) -> bool:
    text = str(task_id)
    return text[:1] == "t" and text[1:].isdigit() and int(text[1:]) >= first


class _Response(BaseModel):
    answer: str
    sources: list[str]


async def respond(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Compose the answer from the request, the plan and the results; the answer names the tasks it used.

    A ``changed`` task's note (how its question differs from the request's) leads its result in the prompt and
    is added to the answer unless the answer already says it, so the user always sees it.
    """
    began = time.perf_counter()
    ctx = runtime.context
    results = [state.results[t["id"]] for t in state.tasks if t["id"] in state.results]
    ok = [r["id"] for r in results if r["status"] in USABLE]
    done = all(r["status"] == "ok" for r in results) and len(results) == len(state.tasks)
    status = "done" if done else ("partial" if ok else "failed")
    lines = [{"id": r["id"], "tool": r["tool"], "status": r["status"], "text": _clip(_result_text(r))} for r in results]
    notes = [r["error"] for r in results if r["status"] == "changed" and r["error"]]
    ids = [r["id"] for r in results] or ["t1"]
    schema = create_model(
        "Response",
        __base__=_Response,
        answer=(str, Field(min_length=1, max_length=500)),
        sources=(_list_of(_one_of(ids)), Field(max_length=len(ids))),
    )
    messages = load_prompt(PROMPTS, "respond").render(
        request=state.request, language=state.language, results=lines, history=state.history[-4:]
    )
    update: dict[str, Any] = {"status": status}
    if not ok:
        # Nothing to compose from: a model asked anyway writes an answer no result supports ("1 / 0").
        update.update(answer=_fallback_answer(lines, state.language, failed=True), cited=[])
        update["timings"] = {"respond": time.perf_counter() - began}
        return update
    try:
        result = await ctx.llm.structured(messages, schema, model=ctx.model, max_tokens=400)
    except ModelServerUnavailableError:
        raise
    except ModelServerError:
        update.update(answer=_fallback_answer(lines, state.language), cited=ok)
    else:
        value = result.value
        cited = [s for s in dict.fromkeys(str(s) for s in value.sources) if s in ids]
        update.update(answer=value.answer.strip(), cited=cited, tokens=node_tokens("respond", result))
    update["answer"] = "\n".join([update["answer"], *(note for note in notes if note not in update["answer"])])
    update["timings"] = {"respond": time.perf_counter() - began}
    return update


def _result_text(result: dict[str, Any]) -> str:
    if result["status"] == "ok":
        return str(result["text"])
    if result["status"] == "changed":
        return f"{result['error']} {result['text']}"
    return str(result["error"])


def _list_of(item: Any) -> Any:
    return list[item]


def _one_of(values: list[str]) -> Any:
    return Literal.__getitem__(tuple(values))


async def _pick_model(ctx: Context, state: State, task: PlannedTask) -> tuple[str, str]:
    candidates = _candidates(list(ctx.models), task.type, state.language)
    if len(candidates) == 1:
        return task.id, candidates[0].name
    messages = load_prompt(PROMPTS, "select").render(
        request=state.request,
        task={"id": task.id, "type": task.type, "args": json.dumps(dict(task.args), ensure_ascii=False)[:300]},
        candidates=[
            {
                "name": m.name,
                "description": m.card.description,
                "skills": ", ".join(m.card.skills),
                "languages": ", ".join(m.card.languages),
            }
            for m in candidates
        ],
    )
    try:
        return task.id, await ctx.llm.choose(messages, [m.name for m in candidates], model=ctx.model)
    except ModelServerUnavailableError:
        raise
    except ModelServerError:
        return task.id, candidates[0].name  # the best-ranked candidate when the model cannot choose


def _candidates(models: list[RegisteredModel], task_type: str, language: str) -> list[RegisteredModel]:
    """Models whose skills name the task type, those speaking the language first; else any speaking it; else all."""
    skilled = [m for m in models if task_type in m.card.skills]
    speaking = [m for m in skilled if language in m.card.languages]
    if speaking:
        return speaking
    if skilled:
        return skilled
    return [m for m in models if language in m.card.languages] or models[:1]


def _signature(tools: ToolRegistry, name: str) -> str:
    schema = tools.args_model(name).model_json_schema()
    required = set(schema.get("required", ()))
    parts = []
    for field, spec in schema.get("properties", {}).items():
        kind = _kind(field, spec, name, tools)
        parts.append(f"{field}{'' if field in required else '?'}: {kind}")
    return f"{name}({', '.join(parts)})"


def _kind(field: str, spec: dict[str, Any], tool: str, tools: ToolRegistry) -> str:
    if field in (tools.get(tool).metadata or {}).get("references", ()):
        return "task id"
    if "enum" in spec:
        return "|".join(str(v) for v in spec["enum"])
    if spec.get("type") == "array":
        return "list"
    if spec.get("type") == "integer":
        low, high = spec.get("minimum"), spec.get("maximum")
        return f"{low}-{high}" if low is not None and high is not None else "integer"
    return str(spec.get("type", "text"))


def _first_sentence(tools: ToolRegistry, name: str) -> str:
    text = " ".join(tools.get(name).description.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def _plan_tokens(ctx: Context) -> int:
    # About 90 tokens per task is plenty for a well-formed plan. Structured outputs on vLLM do not enforce the
    # schema's maxItems, so a small model can list tasks until the limit: a tight limit ends that sooner and
    # leaves the prompt (about 1,000 tokens with two demonstrations) room in a 2,048-token context.
    return min(ctx.llm.config.max_tokens, 90 * ctx.max_tasks)


def _clip(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= RESULT_TEXT_LIMIT else flat[: RESULT_TEXT_LIMIT - 1] + "…"


def _fallback_answer(lines: list[dict[str, Any]], language: str, *, failed: bool = False) -> str:
    if failed:
        head = "没有任务成功，无法回答：" if language == "zh" else "No task succeeded, so there is no answer:"
    else:
        head = "任务结果：" if language == "zh" else "Task results:"
    return "\n".join([head, *(f"[{line['id']}] {line['tool']} ({line['status']}): {line['text']}" for line in lines)])
