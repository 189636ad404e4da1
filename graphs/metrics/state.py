"""State of the metrics-analysis graph.

:class:`InputState` is what a caller provides for one turn; :class:`State` adds what the nodes fill in. The
whole state is checkpointed per thread, so it holds only JSON-friendly data: the result table travels as
columns and rows with what each column holds (``column_info``, from the compiler), the chart as Plotly JSON.
Per-turn fields are reset by the first node of every turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph.message import add_messages

from graphs.metrics.result import ColumnInfo
from graphs.shared import NEW_TURN, merge_timings, sum_tokens

__all__ = [
    "NEW_TURN",
    "ColumnInfo",
    "InputState",
    "Role",
    "State",
    "checkpoint_serializer",
    "conversation",
    "merge_timings",
    "sum_tokens",
]


@dataclass(kw_only=True)
class InputState:
    """One turn: the user's question; ``messages`` accumulates the thread's conversation."""

    question: str
    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)


@dataclass(kw_only=True)
class State(InputState):
    """Everything the nodes produce for the current turn."""

    standalone_question: str = ""
    language: str = "en"
    metric_names: list[str] = field(default_factory=list)
    linked_metrics: list[str] = field(default_factory=list)
    dimension_names: list[str] = field(default_factory=list)
    example_ids: list[str] = field(default_factory=list)
    query: dict[str, Any] | None = None
    path: str = ""
    sql: str | None = None
    gated_sql: str | None = None
    dialect: str = ""
    period: list[str] | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    # Each result column's role (time, dimension, metric), unit, format and labels: from the compiler on the
    # structured path; on the SQL and edited paths the chart infers them from the values (``column_source``
    # says which: ``compiler`` or ``inferred``; empty before the result is known).
    column_info: list[ColumnInfo] = field(default_factory=list)
    column_source: Literal["", "compiler", "inferred"] = ""
    truncated: bool = False
    chart: dict[str, Any] | None = None
    chart_kind: str | None = None
    answer: str = ""
    abstained: bool = False
    reason: str = ""
    timings: Annotated[dict[str, float], merge_timings] = field(default_factory=dict)
    tokens: Annotated[dict[str, dict[str, int]], sum_tokens] = field(default_factory=dict)
    # One entry per prompt of the turn: node, prompt tokens, budget, items left out to fit the context
    # (``dropped``), and whether the answer was cut off by its token limit (``cut_off``).
    prompt_fit: list[dict[str, Any]] = field(default_factory=list)


Role = Literal["user", "assistant", "unanswered"]


def checkpoint_serializer() -> JsonPlusSerializer:
    """The serializer for this graph's checkpoints: LangGraph's safe types plus this module's state classes.

    LangGraph's default constructs any class a checkpoint names when it is read back, with a warning that this
    will be blocked; a checkpoint store someone else can write to (a shared PostgreSQL) then becomes a way to run
    code. An explicit allowlist keeps reads strict now and keeps working when the default turns strict.
    """
    return JsonPlusSerializer(allowed_msgpack_modules=(InputState, State))


def conversation(messages: Sequence[AnyMessage]) -> list[tuple[Role, str]]:
    """A thread's messages as ``(role, text)``, oldest first.

    A question that no answer follows is ``unanswered``: its turn never finished (the process was killed while
    it ran, or it still waits for approval). Such a question is not part of the conversation the model sees:
    a follow-up is rewritten against the answered turns only.
    """
    turns: list[tuple[Role, str]] = []
    for index, message in enumerate(messages):
        following = messages[index + 1] if index + 1 < len(messages) else None
        if isinstance(message, HumanMessage):
            turns.append(("user" if isinstance(following, AIMessage) else "unanswered", str(message.content)))
        elif isinstance(message, AIMessage):
            turns.append(("assistant", str(message.content)))
    return turns
