"""The task-decomposition graph: plan -> validate -> select models -> run the task graph in parallel -> respond."""

from graphs.planner.context import Context
from graphs.planner.demonstrations import Demo, DemoBank
from graphs.planner.execution import Outcome, TaskBoard
from graphs.planner.graph import build_graph
from graphs.planner.plan import PlannedTask, Validation, critical_path, plan_schema, to_mermaid, validate_plan
from graphs.planner.state import InputState, State

__all__ = [
    "Context",
    "Demo",
    "DemoBank",
    "InputState",
    "Outcome",
    "PlannedTask",
    "State",
    "TaskBoard",
    "Validation",
    "build_graph",
    "critical_path",
    "plan_schema",
    "to_mermaid",
    "validate_plan",
]
