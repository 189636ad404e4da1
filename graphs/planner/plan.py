"""Task graphs: the schema a planner model fills, validation, ordering and Mermaid export.

A plan is a list of tasks ``{"id": "t1", "tool": "...", "args": {...}, "dep": [...]}``. The schema handed to the
model is built from the tool registry: one task variant per tool, told apart by ``tool``, each carrying that
tool's own argument schema, so structured outputs keep even a small model to tools that exist and arguments of
the right shape. What a schema cannot say is checked by :func:`validate_plan`: unique ids, dependencies that
exist, no cycles, references that point at dependencies. Where the intent is unambiguous it repairs instead of
rejecting: a reference missing from ``dep`` is added, a task listed as its own dependency loses that entry, and a
task that uses its own result (a small model writes ``<resource>-t4`` inside t4) is pointed at the earlier work it
can only mean.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools.registry import TASK_ID_PATTERN, ToolRegistry, referenced_ids

__all__ = [
    "PlannedTask",
    "Validation",
    "critical_path",
    "plan_schema",
    "to_mermaid",
    "topological_order",
    "validate_plan",
]

_ID = re.compile(TASK_ID_PATTERN)
_TABLE_TYPES = frozenset({"metric_query", "table", "extract"})
"""Task types whose tools produce a table (a chart draws one; text tasks produce words)."""


@dataclass(frozen=True, kw_only=True)
class PlannedTask:
    """One validated task of a plan.

    Attributes:
        id: ``t1`` .. ``t99``, unique in the plan.
        tool: The registered tool that performs it.
        type: The tool's task type (``metric_query``, ``table``, ``summarize``, ...).
        args: The tool's arguments, validated against its schema.
        depends_on: Ids of the tasks whose results it needs.
        model: The model chosen for it by the select step (tasks that run on a model only).
        note: Why its result answers something other than the request asks (a metric task whose question
            names another period or breakdown), in the request's language; empty when it is faithful. A task
            with a note that runs reports the status ``changed`` with the note as its reason.
    """

    id: str
    tool: str
    type: str
    args: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    model: str | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The task as JSON (what the graph's state and ``kubeai plan --json`` hold)."""
        return {
            "id": self.id,
            "tool": self.tool,
            "type": self.type,
            "args": dict(self.args),
            "depends_on": list(self.depends_on),
            "model": self.model,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedTask:
        """The inverse of :meth:`to_json`."""
        return cls(
            id=str(data["id"]),
            tool=str(data["tool"]),
            type=str(data["type"]),
            args=dict(data.get("args") or {}),
            depends_on=tuple(data.get("depends_on") or ()),
            model=data.get("model"),
            note=str(data.get("note") or ""),
        )


@dataclass(frozen=True, kw_only=True)
class Validation:
    """The outcome of :func:`validate_plan`.

    Attributes:
        tasks: The validated tasks, in the plan's order (empty when there are problems).
        problems: What is wrong, one sentence each, phrased for the model that re-plans.
        repairs: What was fixed without asking the model again (a referenced task added to ``dep``).
    """

    tasks: tuple[PlannedTask, ...]
    problems: tuple[str, ...]
    repairs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the plan can run."""
        return not self.problems


def plan_schema(
    registry: ToolRegistry, *, max_tasks: int = 8, first: int = 1, finished: Sequence[str] = ()
) -> dict[str, Any]:
    """The JSON schema of a plan whose tasks may use exactly the registry's tools.

    Position ``i`` of the task list holds task ``t<i>``: one variant per tool with that tool's argument schema,
    whose table references and ``dep`` entries can only name ``t1`` .. ``t<i-1>``. Ids, their order and
    references to earlier work are thereby fixed by the schema, so structured outputs rule out self-references,
    forward references and unknown ids even for a small model; a tool that needs an earlier table cannot come
    first. (``prefixItems`` with ``items: false`` also bounds the list, which ``maxItems`` alone does not on vLLM.)

    A revision of a plan after a failure (see :func:`graphs.planner.nodes.replan`) numbers its tasks from
    ``first`` and may also name the ``finished`` tasks it keeps, whose results are reused.
    """
    return {
        "title": "Plan",
        "description": "The task list that fulfils the request.",
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "prefixItems": [
                    _position(registry, index, [*finished, *(f"t{n}" for n in range(first, index))])
                    for index in range(first, first + max_tasks)
                ],
                "items": False,
                "minItems": 1,
                "maxItems": max_tasks,
            }
        },
        "required": ["tasks"],
        "additionalProperties": False,
    }


def _position(registry: ToolRegistry, index: int, earlier: list[str]) -> dict[str, Any]:
    variants = []
    for name in registry.names():
        args = copy.deepcopy(registry.args_model(name).model_json_schema())
        references = tuple((registry.get(name).metadata or {}).get("references", ()))
        if references and not earlier and set(references) & set(args.get("required", ())):
            continue  # it needs an earlier task's table, and there is none yet
        for ref in references:
            args["properties"][ref] = {"enum": earlier, "description": args["properties"][ref].get("description", "")}
        args["additionalProperties"] = False
        dep: dict[str, Any] = (
            {"type": "array", "items": {"enum": earlier}, "maxItems": len(earlier)}
            if earlier
            else {"type": "array", "prefixItems": [], "items": False}
        )
        variants.append(
            {
                "type": "object",
                "properties": {"id": {"const": f"t{index}"}, "tool": {"const": name}, "args": args, "dep": dep},
                "required": ["id", "tool", "args", "dep"],
                "additionalProperties": False,
            }
        )
    return {"anyOf": variants}


def validate_plan(raw: Sequence[Mapping[str, Any]], registry: ToolRegistry, *, max_tasks: int = 8) -> Validation:
    """Check a plan a model produced (or a caller gave) and turn it into :class:`PlannedTask` objects.

    A task that refers to an earlier task's result (a typed reference or ``<resource>-tN``) without listing it
    in ``dep`` gets it added: the reference says what the task needs. A task listed in its own ``dep`` loses that
    entry. A task that uses its own result means the earlier work before it: a table argument the nearest earlier
    task that produced a table, a ``<resource>`` in text the earlier results nothing else has used yet (the
    metric results a summary or translation is about); with no such earlier work it is a problem. Everything
    else wrong is a problem.

    Args:
        raw: Tasks as ``{"id", "tool", "args", "dep"}`` mappings (``depends_on`` is accepted for ``dep``).
        registry: The tools the plan may use.
        max_tasks: The most tasks a plan may have.

    Returns:
        The tasks, or the problems that stop the plan from running.
    """
    if not raw:
        return Validation(tasks=(), problems=("the plan has no tasks; give at least one",))
    ids = [str(task.get("id", "")) for task in raw]
    problems = _id_problems(ids, max_tasks)
    repairs: list[str] = []
    if not problems:
        raw = _resolve_self_references(raw, registry, repairs)
    tasks: list[PlannedTask] = []
    for task_id, task in zip(ids, raw, strict=True):
        planned, task_problems = _check_task(task_id, task, registry, set(ids), repairs)
        problems.extend(task_problems)
        if planned is not None:
            tasks.append(planned)
    if not problems:
        cycle = _cycle(tasks)
        if cycle:
            problems.append(f"tasks {' -> '.join(cycle)} form a cycle; dependencies must point at earlier work")
    if problems:
        return Validation(tasks=(), problems=tuple(problems), repairs=tuple(repairs))
    return Validation(tasks=tuple(tasks), problems=(), repairs=tuple(repairs))


def _id_problems(ids: Sequence[str], max_tasks: int) -> list[str]:
    problems = []
    if len(ids) > max_tasks:
        problems.append(f"the plan has {len(ids)} tasks; use at most {max_tasks}")
    for index, task_id in enumerate(ids):
        if not _ID.match(task_id):
            problems.append(f"task {index + 1} has id {task_id!r}; ids are t1, t2, ...")
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"task ids {', '.join(duplicates)} are used more than once; give every task its own id")
    return problems


def _check_task(
    task_id: str, task: Mapping[str, Any], registry: ToolRegistry, known: set[str], repairs: list[str]
) -> tuple[PlannedTask | None, list[str]]:
    tool = str(task.get("tool", ""))
    args = task.get("args")
    deps = task.get("dep", task.get("depends_on", ())) or ()
    if not isinstance(args, Mapping):
        return None, [f"task {task_id} has no args object"]
    if isinstance(deps, str) or not all(isinstance(d, str) for d in deps):
        return None, [f"task {task_id}: dep must be a list of task ids"]
    if tool not in registry:
        return None, [
            f"task {task_id} uses tool {tool!r}, which does not exist; use one of: {', '.join(registry.names())}"
        ]
    problems = [f"task {task_id}: {p}" for p in registry.check_args(tool, args)]
    dep_list = list(dict.fromkeys(deps))
    for dep in dep_list:
        if dep == task_id:
            problems.append(f"task {task_id} depends on itself")
        elif dep not in known:
            problems.append(f"task {task_id} depends on {dep}, which is not in the plan")
    for ref in sorted(referenced_ids(registry.get(tool), args)):
        if ref == task_id:
            problems.append(f"task {task_id} uses its own result")
        elif ref not in known:
            problems.append(f"task {task_id} uses the result of {ref}, which is not in the plan")
        elif ref not in dep_list:
            dep_list.append(ref)
            repairs.append(f"task {task_id} uses {ref}, so {ref} was added to its dependencies")
    planned = PlannedTask(
        id=task_id, tool=tool, type=registry.task_type(tool), args=dict(args), depends_on=tuple(dep_list)
    )
    return planned, problems


def _resolve_self_references(
    raw: Sequence[Mapping[str, Any]], registry: ToolRegistry, repairs: list[str]
) -> list[Mapping[str, Any]]:
    """The tasks with self-dependencies dropped and self-references pointed at the earlier work they mean."""
    fixed: list[Mapping[str, Any]] = []
    for position, task in enumerate(raw):
        task_id, tool, args = str(task["id"]), str(task.get("tool", "")), task.get("args")
        deps = task.get("dep", task.get("depends_on", ())) or ()
        if tool not in registry or not isinstance(args, Mapping) or isinstance(deps, str):
            fixed.append(task)
            continue
        if task_id in deps:
            deps = [d for d in deps if d != task_id]
            repairs.append(f"task {task_id} listed itself as a dependency, so that entry was dropped")
        earlier = raw[:position]
        args = dict(args)
        for name in (registry.get(tool).metadata or {}).get("references", ()):
            source = _nearest_table(earlier, registry) if args.get(name) == task_id else None
            if source is not None:
                args[name] = source
                repairs.append(f"task {task_id} used its own table in `{name}`, so it now uses {source}")
        mention = f"<resource>-{task_id}"
        if any(mention in text for text in _texts(args)):
            sources = _unused_results(earlier, registry)
            one_needed = registry.task_type(tool) in {"calculate", "metric_query"}
            if sources and (len(sources) == 1 or not one_needed):
                args = _replace_text(args, mention, " ".join(f"<resource>-{source}" for source in sources))
                repairs.append(f"task {task_id} used its own result, so it now uses {', '.join(sources)}")
        fixed.append({**task, "args": args, "dep": list(deps)})
    return fixed


def _nearest_table(earlier: Sequence[Mapping[str, Any]], registry: ToolRegistry) -> str | None:
    for task in reversed(earlier):
        tool = str(task.get("tool", ""))
        if tool in registry and registry.task_type(tool) in _TABLE_TYPES:
            return str(task["id"])
    return None


def _unused_results(earlier: Sequence[Mapping[str, Any]], registry: ToolRegistry) -> list[str]:
    """Earlier results that carry data (not charts) and that no other earlier data task has used."""
    data = [t for t in earlier if str(t.get("tool", "")) in registry and registry.task_type(str(t["tool"])) != "chart"]
    used: set[str] = set()
    for task in data:
        args, deps = task.get("args"), task.get("dep", task.get("depends_on", ())) or ()
        if not isinstance(deps, str):
            used.update(str(d) for d in deps)
        if isinstance(args, Mapping):
            used.update(referenced_ids(registry.get(str(task["tool"])), args))
    return [str(t["id"]) for t in data if str(t["id"]) not in used]


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _replace_text(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, Mapping):
        return {key: _replace_text(item, old, new) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_replace_text(item, old, new) for item in value]
    return value


def topological_order(tasks: Iterable[PlannedTask]) -> list[list[str]]:
    """Task ids in levels: every task comes after all its dependencies; a level's tasks are independent."""
    pending = {task.id: set(task.depends_on) for task in tasks}
    levels: list[list[str]] = []
    done: set[str] = set()
    while pending:
        ready = sorted(node for node, needs in pending.items() if needs <= done)
        if not ready:
            raise ValueError("the tasks form a cycle")
        levels.append(ready)
        done.update(ready)
        for node in ready:
            del pending[node]
    return levels


def critical_path(tasks: Iterable[PlannedTask], seconds: Mapping[str, float]) -> float:
    """The longest chain of task durations through the graph: the least wall time any schedule can reach."""
    tasks = list(tasks)
    by_id = {task.id: task for task in tasks}
    finish: dict[str, float] = {}
    for level in topological_order(tasks):
        for node in level:
            start = max((finish[d] for d in by_id[node].depends_on), default=0.0)
            finish[node] = start + seconds.get(node, 0.0)
    return max(finish.values(), default=0.0)


def to_mermaid(tasks: Sequence[PlannedTask], statuses: Mapping[str, str] | None = None) -> str:
    """A Mermaid flowchart of the plan; ``statuses`` (``ok``, ``changed``, ``failed``, ``skipped``) colour it."""
    lines = ["flowchart TD"]
    for task in tasks:
        parts = [f"{task.id}: {task.tool}", _short_args(task.args)]
        if task.model:
            parts.append(f"model: {task.model}")
        label = "<br/>".join(_mermaid_text(part) for part in parts if part)
        lines.append(f'    {task.id}["{label}"]')
    for task in tasks:
        lines.extend(f"    {dep} --> {task.id}" for dep in task.depends_on)
    if statuses:
        lines.append("    classDef ok fill:#e6f4ea,stroke:#1e8e3e")
        lines.append("    classDef failed fill:#fce8e6,stroke:#d93025")
        lines.append("    classDef skipped fill:#f1f3f4,stroke:#80868b,stroke-dasharray: 4 3")
        lines.append("    classDef changed fill:#fef7e0,stroke:#f9ab00")
        for status in ("ok", "changed", "failed", "skipped"):
            members = [t.id for t in tasks if statuses.get(t.id) == status]
            if members:
                lines.append(f"    class {','.join(members)} {status}")
    return "\n".join(lines) + "\n"


def _cycle(tasks: Sequence[PlannedTask]) -> list[str]:
    graph = {task.id: list(task.depends_on) for task in tasks}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def _short_args(args: Mapping[str, Any], limit: int = 60) -> str:
    text = json.dumps(dict(args), ensure_ascii=False, separators=(", ", ": "))[1:-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;").replace("\n", " ")
