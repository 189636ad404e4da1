"""State of the task-decomposition graph.

:class:`InputState` is what a caller gives: the request, optionally a plan to run as it is, and whether to
execute. :class:`State` adds what the nodes fill in. Task results arrive from tasks running in parallel, so
``results`` merges the updates of all of them. Everything is JSON-friendly: tables travel as columns and rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from graphs.shared import merge_timings, sum_tokens

__all__ = ["InputState", "State", "merge_results"]


def merge_results(left: dict[str, dict[str, Any]] | None, right: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Results by task id; tasks finishing in the same step each add their own."""
    return {**(left or {}), **(right or {})}


@dataclass(kw_only=True)
class InputState:
    """One request.

    Attributes:
        request: What the user asked for.
        history: Earlier turns as ``{"role", "content"}`` pairs (the dialogue context of the plan prompt).
        plan: A plan to run instead of asking the model for one (``{"id", "tool", "args", "dep"}`` tasks).
        execute: Run the plan; ``False`` stops after planning and model selection.
    """

    request: str
    history: list[dict[str, str]] = field(default_factory=list)
    plan: list[dict[str, Any]] | None = None
    execute: bool = True


@dataclass(kw_only=True)
class State(InputState):
    """Everything the nodes produce.

    ``failures`` are the observations the join step makes of a finished task graph (a task that failed or
    returned nothing); ``revisions`` records each re-plan after them (which tasks failed and why, which finished
    tasks were kept, the revised tasks, and whether the revision was valid); ``replans`` counts them.
    """

    language: str = "en"
    demo_ids: list[str] = field(default_factory=list)
    drafts: list[list[dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    attempts: int = 0
    tasks: list[dict[str, Any]] = field(default_factory=list)
    selections: dict[str, str] = field(default_factory=dict)
    results: Annotated[dict[str, dict[str, Any]], merge_results] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    replans: int = 0
    revisions: list[dict[str, Any]] = field(default_factory=list)
    answer: str = ""
    cited: list[str] = field(default_factory=list)
    status: str = "planning"
    timings: Annotated[dict[str, float], merge_timings] = field(default_factory=dict)
    tokens: Annotated[dict[str, dict[str, int]], sum_tokens] = field(default_factory=dict)
