"""What a finished task graph tells the planner: which tasks failed, which finished work a revision keeps.

After every task of a plan has run, the join step (LLMCompiler's joiner) looks at the results. A task that
failed (a tool error, a timeout, a reference to a result that is not there) or that returned nothing (a table
without rows, no text, number or chart) is a *failure*; the tasks skipped because of it are its consequences.
A revision keeps every task that finished with a usable result and whose own inputs are kept too, and replaces
the rest; its tasks are numbered after every id the run has used, so a revised task never shares an id with the
task it replaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphs.planner.execution import USABLE
from graphs.planner.plan import PlannedTask

__all__ = ["failures", "kept_tasks", "next_number", "revision_record"]

EMPTY_TABLE = "returned a table without rows"
EMPTY_RESULT = "returned nothing"


def failures(tasks: Sequence[PlannedTask], results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The tasks that failed or returned nothing, in plan order, as ``{"id", "tool", "status", "error"}``.

    ``status`` is ``failed`` or ``empty``; skipped tasks are left out (their cause is listed).
    """
    found: list[dict[str, Any]] = []
    for task in tasks:
        result = results.get(task.id)
        if result is None:
            continue
        if result["status"] == "failed":
            found.append({"id": task.id, "tool": task.tool, "status": "failed", "error": str(result["error"])})
        elif result["status"] in USABLE and _empty(result):
            error = EMPTY_TABLE if result.get("table") is not None else EMPTY_RESULT
            found.append({"id": task.id, "tool": task.tool, "status": "empty", "error": error})
    return found


def kept_tasks(
    tasks: Sequence[PlannedTask], results: Mapping[str, Mapping[str, Any]], failed: Sequence[str]
) -> list[PlannedTask]:
    """The tasks a revision keeps: usable results, not failures, every dependency kept too (plan order)."""
    usable = {
        task.id
        for task in tasks
        if task.id in results and results[task.id]["status"] in USABLE and task.id not in set(failed)
    }
    by_id = {task.id: task for task in tasks}
    kept: set[str] = set()
    changed = True
    while changed:  # a task is kept once all its dependencies are; the graph is acyclic, so this ends
        changed = False
        for task_id in usable - kept:
            if all(dep in kept for dep in by_id[task_id].depends_on):
                kept.add(task_id)
                changed = True
    return [task for task in tasks if task.id in kept]


def next_number(tasks: Sequence[PlannedTask], revisions: Sequence[Mapping[str, Any]]) -> int:
    """The number of the first revised task: one past every task id the run has used."""
    used = [task.id for task in tasks]
    for revision in revisions:
        used += [str(task["id"]) for task in revision.get("superseded", ())]
    return max((int(task_id[1:]) for task_id in used), default=0) + 1


def revision_record(
    *,
    observed: Sequence[Mapping[str, Any]],
    tasks: Sequence[PlannedTask],
    kept: Sequence[PlannedTask],
    results: Mapping[str, Mapping[str, Any]],
    revised: Sequence[PlannedTask],
    problems: Sequence[str],
    repairs: Sequence[str] = (),
) -> dict[str, Any]:
    """One re-plan as JSON: what failed and why, what was kept, the replaced tasks with their ends, the revision."""
    kept_ids = {task.id for task in kept}
    superseded = []
    for task in tasks:
        if task.id in kept_ids:
            continue
        result = results.get(task.id, {})
        ended = {"status": result.get("status", "skipped"), "error": result.get("error", "")}
        superseded.append({**task.to_json(), **ended})
    return {
        "failed": [dict(failure) for failure in observed],
        "kept": sorted(kept_ids, key=lambda task_id: int(task_id[1:])),
        "superseded": superseded,
        "tasks": [task.to_json() for task in revised],
        "valid": not problems,
        "problems": list(problems),
        "repairs": list(repairs),
    }


def _empty(result: Mapping[str, Any]) -> bool:
    table = result.get("table")
    if table is not None:
        return int(table.get("row_count") or 0) == 0
    nothing = result.get("value") is None and result.get("chart") is None
    return nothing and not str(result.get("text") or "").strip()
