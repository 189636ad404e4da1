"""Request and response bodies, in the shape of the LangGraph Agent Protocol where it fits (docs/api.md).

Requests ignore fields they do not know, so LangGraph's SDK (which sends ``stream_mode``, ``if_not_exists`` and
the like) can talk to the API.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "Assistant",
    "AssistantSearch",
    "Command",
    "Resume",
    "RunConfig",
    "RunCreate",
    "StatelessRunCreate",
    "Thread",
    "ThreadCreate",
    "ThreadSearch",
    "ThreadState",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _invalid(english: str, chinese: str) -> PydanticCustomError:
    """A validation error whose message is ``english``; ``chinese`` travels in its context for the error body."""
    return PydanticCustomError("value_error", english, {"zh": chinese})


_ASSISTANT_ID = re.compile(r"^(metrics|planner|app:[a-z][a-z0-9_-]{0,47})$")


def _assistant_id(value: str) -> str:
    if not _ASSISTANT_ID.match(value):
        raise _invalid(
            "an assistant is `metrics`, `planner` or `app:<name>` (a prompt app); GET /assistants lists them",
            "助手为 `metrics`、`planner` 或 `app:<名称>`（提示词应用）；可用的助手见 GET /assistants",
        )
    return value


AssistantId = Annotated[str, AfterValidator(_assistant_id)]
"""``metrics``, ``planner``, or ``app:<name>`` for a prompt app; whether it is served is the service's to say."""


class Assistant(BaseModel):
    """An agent the API serves: ``metrics`` (questions about the data) or ``planner`` (multi-step requests)."""

    assistant_id: str
    graph_id: str
    name: str
    description: str
    config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    version: int = 1
    created_at: str
    updated_at: str


class AssistantSearch(_Request):
    """``POST /assistants/search``: every assistant whose graph or metadata matches."""

    graph_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    limit: int = Field(default=10, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


class ThreadCreate(_Request):
    """``POST /threads``: a conversation with one assistant, owned by the key's user."""

    thread_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,128}$")
    assistant_id: AssistantId | None = None
    graph_id: AssistantId | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ThreadSearch(_Request):
    """``POST /threads/search``: the caller's threads, most recently updated first."""

    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class Thread(BaseModel):
    """A thread as the API shows it."""

    thread_id: str
    assistant_id: str
    created_at: str
    updated_at: str
    metadata: dict[str, Any]
    status: Literal["idle", "busy", "interrupted", "error"]
    values: dict[str, Any] = Field(default_factory=dict)


class ThreadState(BaseModel):
    """``GET /threads/{id}/state``: the latest values, the steps still to run, and pending interrupts."""

    values: dict[str, Any]
    next: list[str]
    tasks: list[dict[str, Any]] = Field(default_factory=list)
    interrupts: list[dict[str, Any]] = Field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = None


class Resume(_Request):
    """A decision on SQL waiting for approval: approve it, run an edited statement, or reject it."""

    action: Literal["approve", "edit", "reject"]
    sql: str | None = None

    @model_validator(mode="after")
    def _edit_has_sql(self) -> Resume:
        if self.action == "edit" and not (self.sql or "").strip():
            raise _invalid("an edit needs the SQL to run in `sql`", "修改需要在 `sql` 中给出要运行的 SQL")
        return self


class Command(_Request):
    """``{"resume": {...}}`` continues a run paused for approval."""

    resume: Resume | Literal["approve", "reject"]


class RunConfig(_Request):
    """LangGraph's per-run config; ``configurable.model`` picks the model or adapter of the run (docs/api.md)."""

    configurable: dict[str, Any] = Field(default_factory=dict)


class RunCreate(_Request):
    """``POST /threads/{id}/runs/wait`` and ``/runs/stream``.

    ``input`` carries the question: ``{"question": ...}`` (metrics), ``{"request": ...}`` (planner) or
    ``{"messages": [{"role": "user", "content": ...}]}``; or ``command`` resumes a run paused for approval.
    ``require_approval`` overrides ``metrics_agent.require_approval`` for this run. ``stream_mode`` (for
    ``/runs/stream``) picks the events: ``updates``, ``messages`` (or ``messages-tuple``), ``values``; all three
    when it is not given; other LangGraph modes are accepted and send nothing. ``config.configurable.model``
    runs the metrics agent or an app on that served model or adapter instead of its configured one. A prompt app
    (``app:<name>``) takes its input as ``input.input``, ``input.question`` or the last user message.
    """

    assistant_id: AssistantId | None = None
    input: dict[str, Any] | None = None
    command: Command | None = None
    config: RunConfig | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    require_approval: bool | None = None
    stream_mode: str | list[str] | None = None

    @model_validator(mode="after")
    def _input_or_command(self) -> RunCreate:
        if self.input is None and self.command is None:
            raise _invalid(
                "give `input` with the question, or `command` to resume a run",
                "请在 `input` 中给出问题，或用 `command` 继续一个运行",
            )
        return self


class StatelessRunCreate(RunCreate):
    """``POST /runs/wait``: one question without a stored thread."""

    assistant_id: AssistantId | None = "metrics"
