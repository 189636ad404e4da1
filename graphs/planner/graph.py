"""Wiring of the task-decomposition graph (HuggingGPT's four stages as a LangGraph state machine).

    START -> plan -> validate -> select -> run_task x N (fan-out, all at once) -> join -> respond -> END
    validate -> plan (re-plan with the problems, bounded) | give_up -> END
    join -> replan (a task failed or returned nothing; bounded) -> select -> the revised tasks -> join
    replan -> respond (the revision is invalid: answer with what ran)

A caller-given plan starts at ``validate``; ``execute=False`` stops after ``select``.
"""

from __future__ import annotations

from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from graphs.planner.context import Context
from graphs.planner.nodes import Job, give_up, join, plan, replan, respond, run_task, select, validate
from graphs.planner.state import InputState, State
from graphs.shared import traced_node

__all__ = ["build_graph"]


def start(state: InputState) -> Literal["plan", "validate"]:
    """A given plan is validated as it is; otherwise the model plans."""
    return "validate" if state.plan is not None else "plan"


def after_validate(state: State, runtime: Runtime[Context]) -> Literal["select", "plan", "give_up"]:
    """Run a valid plan, re-plan with the problems while attempts remain, else give up."""
    if not state.problems:
        return "select"
    if state.attempts == 0 or state.attempts >= runtime.context.max_plan_attempts:
        return "give_up"  # a caller's plan is not re-planned: its problems go back to the caller
    return "plan"


def fan_out(state: State) -> list[Send] | Literal["__end__"]:
    """Send every task not yet run at once; each waits for its own dependencies (see ``graphs.planner.execution``)."""
    if not state.execute:
        return "__end__"
    return [
        Send("run_task", Job(task=task, request=state.request, language=state.language))
        for task in state.tasks
        if task["id"] not in state.results
    ]


def after_join(state: State, runtime: Runtime[Context]) -> Literal["replan", "respond"]:
    """Revise a model's plan after a failure while re-plans remain; a caller's plan runs as given."""
    model_plan = state.attempts > 0
    if state.failures and model_plan and state.replans < runtime.context.max_replans:
        return "replan"
    return "respond"


def after_replan(state: State) -> Literal["select", "respond"]:
    """Run a valid revision's new tasks; after an invalid one, answer with what ran."""
    return "select" if state.revisions and state.revisions[-1]["valid"] else "respond"


def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None,
) -> CompiledStateGraph[State, Context, InputState, State]:
    """Compile the graph; a checkpointer keeps each thread's plans and results."""
    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    builder.add_node("plan", traced_node(plan))
    builder.add_node("validate", traced_node(validate))
    builder.add_node("give_up", traced_node(give_up))
    builder.add_node("select", traced_node(select))
    builder.add_node("run_task", traced_node(run_task), input_schema=Job)
    builder.add_node("join", traced_node(join))
    builder.add_node("replan", traced_node(replan))
    builder.add_node("respond", traced_node(respond))
    builder.add_conditional_edges(START, start)
    builder.add_edge("plan", "validate")
    builder.add_conditional_edges("validate", after_validate)
    builder.add_conditional_edges("select", fan_out, ["run_task", END])
    builder.add_edge("run_task", "join")
    builder.add_conditional_edges("join", after_join)
    builder.add_conditional_edges("replan", after_replan)
    builder.add_edge("respond", END)
    builder.add_edge("give_up", END)
    return builder.compile(checkpointer=checkpointer, name="task-decomposition")
