"""Running one task of a plan: wait for its dependencies, run its tool, publish its outcome.

The graph sends every task of a plan at once (LangGraph fan-out with ``Send``); each task then waits on the
:class:`TaskBoard` for exactly the tasks it depends on, so a task starts the moment its own inputs are ready
rather than when a whole level of the graph has finished. A task whose dependency failed or was skipped is
skipped with the reason; a tool error, an exception or a timeout fails only that task. An unreachable model
server stops the whole run instead: every model task would fail the same way. A task planned with a note (a
metric task whose question differs from the request's) that runs ends ``changed``, the note as its reason; its
result still feeds its dependants.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from graphs.planner.plan import PlannedTask
from kubeai.errors import KubeAIError, ModelServerUnavailableError
from kubeai.values import json_value
from tools.registry import TaskInputs, TaskOutput, ToolRegistry

__all__ = ["USABLE", "Outcome", "TaskBoard", "run_task", "table_json"]

Status = Literal["ok", "changed", "failed", "skipped"]
USABLE = frozenset({"ok", "changed"})
"""Statuses of a task whose output its dependants can use."""
TABLE_ROWS_IN_STATE = 200


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How one task ended.

    Attributes:
        task_id: The task.
        status: ``ok``, ``changed`` (it ran, but answers a different question than the request asks),
            ``failed`` or ``skipped``.
        output: What it produced (``ok`` and ``changed`` only).
        error: Why it failed, was skipped or is ``changed``, one sentence.
        started_s: Seconds from the start of execution to the task's start (``None`` when skipped).
        finished_s: Seconds from the start of execution to its end.
    """

    task_id: str
    status: Status
    output: TaskOutput | None = None
    error: str = ""
    started_s: float | None = None
    finished_s: float = 0.0

    def to_json(self, task: PlannedTask) -> dict[str, Any]:
        """The outcome as JSON for the graph's state (tables cut to their first rows)."""
        output = self.output
        table = output.table if output is not None else None
        return {
            "id": self.task_id,
            "tool": task.tool,
            "model": task.model,
            "status": self.status,
            "error": self.error,
            "text": output.text if output is not None else "",
            "value": output.value if output is not None else None,
            "chart": output.chart if output is not None else None,
            "details": dict(output.details) if output is not None else {},
            "table": None if table is None else table_json(table),
            "started_s": self.started_s,
            "finished_s": self.finished_s,
        }


class TaskBoard:
    """Outcomes of the tasks of one run, awaited by their dependants; counts tasks in flight.

    Call :meth:`open` with the plan's task ids before any task runs (from inside the running event loop).
    """

    def __init__(self) -> None:
        self._outcomes: dict[str, asyncio.Future[Outcome]] = {}
        self._slots: asyncio.Semaphore | None = None
        self.began = time.perf_counter()
        self.in_flight = 0
        self.peak = 0

    def open(self, task_ids: Iterable[str], *, max_parallel: int) -> None:
        """Start a run: one pending outcome per task, a clock, at most ``max_parallel`` tools at once."""
        loop = asyncio.get_running_loop()
        self._outcomes = {task_id: loop.create_future() for task_id in task_ids}
        self._slots = asyncio.Semaphore(max_parallel)
        self.began = time.perf_counter()
        self.in_flight = self.peak = 0

    def extend(self, task_ids: Iterable[str]) -> None:
        """Add the tasks of a revised plan; finished outcomes stay for the revised tasks to use; the clock runs on.

        Raises:
            RuntimeError: :meth:`open` was not called first.
        """
        if self._slots is None:
            raise RuntimeError("TaskBoard.open() must be called before TaskBoard.extend()")
        loop = asyncio.get_running_loop()
        for task_id in task_ids:
            if task_id not in self._outcomes:
                self._outcomes[task_id] = loop.create_future()

    def now(self) -> float:
        """Seconds since :meth:`open`."""
        return time.perf_counter() - self.began

    async def wait(self, task_id: str) -> Outcome:
        """The outcome of ``task_id``, once it has one."""
        return await asyncio.shield(self._outcomes[task_id])

    def publish(self, outcome: Outcome) -> None:
        """Record a task's outcome and wake its dependants (the first outcome of a task wins)."""
        future = self._outcomes.get(outcome.task_id)
        if future is not None and not future.done():
            future.set_result(outcome)

    def outcomes(self) -> dict[str, Outcome]:
        """The outcomes published so far."""
        return {key: f.result() for key, f in self._outcomes.items() if f.done() and not f.cancelled()}

    @property
    def slots(self) -> asyncio.Semaphore:
        """Limits how many tools run at once."""
        if self._slots is None:
            raise RuntimeError("TaskBoard.open() was not called before tasks ran")
        return self._slots


async def run_task(
    task: PlannedTask,
    *,
    tools: ToolRegistry,
    board: TaskBoard,
    timeout_s: float,
    language: str,
    request: str,
) -> Outcome:
    """Run one task once its dependencies have finished; never raises for a task's own failure.

    The outcome is always published on the board, even when the run is cancelled, so no dependant waits forever.
    """
    outcome = Outcome(task_id=task.id, status="failed", error="the run was cancelled before the task finished")
    try:
        outcome = await _run(task, tools=tools, board=board, timeout_s=timeout_s, language=language, request=request)
    finally:
        board.publish(outcome)
    return outcome


async def _run(
    task: PlannedTask, *, tools: ToolRegistry, board: TaskBoard, timeout_s: float, language: str, request: str
) -> Outcome:
    inputs: dict[str, TaskOutput] = {}
    for dep in task.depends_on:
        done = await board.wait(dep)
        if done.status not in USABLE or done.output is None:
            reason = f"skipped because {dep} {'failed' if done.status == 'failed' else 'was skipped'}"
            return Outcome(task_id=task.id, status="skipped", error=reason, finished_s=board.now())
        inputs[dep] = done.output
    async with board.slots:
        started = board.now()
        board.in_flight += 1
        board.peak = max(board.peak, board.in_flight)
        try:
            output = await asyncio.wait_for(
                tools.run(
                    task.tool,
                    task.args,
                    TaskInputs(task_id=task.id, results=inputs, model=task.model, language=language, request=request),
                ),
                timeout=timeout_s,
            )
        except TimeoutError:
            return _failed(task, f"timed out after {timeout_s:g} s", started, board)
        except ModelServerUnavailableError:
            raise  # no model task can succeed now: stop the run with that one sentence
        except Exception as exc:
            return _failed(task, _sentence(exc), started, board)
        finally:
            board.in_flight -= 1
    status: Status = "changed" if task.note else "ok"
    return Outcome(
        task_id=task.id, status=status, output=output, error=task.note, started_s=started, finished_s=board.now()
    )


def _failed(task: PlannedTask, error: str, started: float, board: TaskBoard) -> Outcome:
    return Outcome(task_id=task.id, status="failed", error=error, started_s=started, finished_s=board.now())


def _sentence(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, KubeAIError) else f"{type(exc).__name__}: {text}"


def table_json(table: pd.DataFrame) -> dict[str, Any]:
    """A table as JSON: its columns, its first rows (JSON-friendly cells) and how many rows it has in all."""
    head = table.head(TABLE_ROWS_IN_STATE)
    rows = [[json_value(v) for v in row] for row in head.itertuples(index=False, name=None)]
    return {"columns": [str(c) for c in table.columns], "rows": rows, "row_count": len(table)}
