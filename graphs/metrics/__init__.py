"""The metrics-analysis graph.

A question becomes retrieved definitions, a structured query, gated SQL, a result, a chart and an answer, with
repair, abstention, optional human approval and multi-turn threads.
"""

from graphs.metrics.context import Context, Strategy
from graphs.metrics.graph import build_graph
from graphs.metrics.result import ColumnInfo, column_label, display_headers, result_frame
from graphs.metrics.state import InputState, Role, State, checkpoint_serializer, conversation

__all__ = [
    "ColumnInfo",
    "Context",
    "InputState",
    "Role",
    "State",
    "Strategy",
    "build_graph",
    "checkpoint_serializer",
    "column_label",
    "conversation",
    "display_headers",
    "result_frame",
]
