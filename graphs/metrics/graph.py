"""Wiring of the metrics-analysis graph; compiled by :func:`build_graph`, never at import."""

from __future__ import annotations

from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from graphs.metrics import nodes
from graphs.metrics.context import Context
from graphs.metrics.state import InputState, State
from graphs.shared import traced_node

__all__ = ["build_graph"]


def after_understand(state: State) -> Literal["retrieve", "abstain"]:
    """An empty question ends the turn."""
    return "abstain" if state.abstained else "retrieve"


def after_retrieve(state: State) -> Literal["generate", "abstain"]:
    """Nothing in the catalog matches: say so instead of guessing."""
    return "abstain" if state.abstained else "generate"


def _retry_or_abstain(state: State, runtime: Runtime[Context]) -> Literal["generate", "abstain"]:
    return "generate" if state.attempts < runtime.context.max_attempts else "abstain"


def after_generate(state: State, runtime: Runtime[Context]) -> Literal["gate", "generate", "abstain"]:
    """A query that failed to compile or validate goes back to the model with the error.

    A tuned adapter that marked the question unanswerable ends the turn with that abstention, unless the question
    names a catalog metric: then the repair attempt asks the base model.
    """
    if state.abstained:
        return "abstain"
    return "gate" if state.sql else _retry_or_abstain(state, runtime)


def after_gate(state: State, runtime: Runtime[Context]) -> Literal["approve", "execute", "generate", "abstain"]:
    """Rejected SQL is repaired; accepted SQL runs, after a human approves it when that is required."""
    if state.gated_sql is None:
        return _retry_or_abstain(state, runtime)
    return "approve" if runtime.context.require_approval else "execute"


def after_approve(state: State) -> Literal["execute", "abstain"]:
    """The reviewer approved (or edited and the gate accepted) or rejected."""
    return "abstain" if state.abstained else "execute"


def after_execute(state: State, runtime: Runtime[Context]) -> Literal["chart", "generate", "abstain"]:
    """Execution errors are repaired like gate errors."""
    if state.columns:
        return "chart"
    return _retry_or_abstain(state, runtime)


def build_graph(
    checkpointer: BaseCheckpointSaver[str] | None = None,
) -> CompiledStateGraph[State, Context, InputState, State]:
    """Compile the graph; pass a checkpointer for multi-turn threads and human approval."""
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=State)
    builder.add_node("understand", traced_node(nodes.understand))
    builder.add_node("retrieve", traced_node(nodes.retrieve))
    builder.add_node("generate", traced_node(nodes.generate))
    builder.add_node("gate", traced_node(nodes.gate))
    builder.add_node("approve", traced_node(nodes.approve))
    builder.add_node("execute", traced_node(nodes.execute))
    builder.add_node("chart", traced_node(nodes.chart))
    builder.add_node("answer", traced_node(nodes.answer))
    builder.add_node("abstain", traced_node(nodes.abstain))
    builder.add_edge(START, "understand")
    builder.add_conditional_edges("understand", after_understand)
    builder.add_conditional_edges("retrieve", after_retrieve)
    builder.add_conditional_edges("generate", after_generate)
    builder.add_conditional_edges("gate", after_gate)
    builder.add_conditional_edges("approve", after_approve)
    builder.add_conditional_edges("execute", after_execute)
    builder.add_edge("chart", "answer")
    builder.add_edge("answer", END)
    builder.add_edge("abstain", END)
    return builder.compile(checkpointer=checkpointer, name="metrics-analysis")
