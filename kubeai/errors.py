"""The project's exceptions: one root, subclasses that carry structured fields.

Every error a user can trigger (bad configuration, an unreachable server, a malformed catalog, hostile SQL,
garbage from a model) is a :class:`KubeAIError` whose ``str()`` is one sentence saying what was wrong and what
to do. The CLI prints that sentence and exits non-zero; a traceback reaching a user is a bug.
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "ChartError",
    "ConfigError",
    "DatasetError",
    "IngestError",
    "KubeAIError",
    "MetricQueryError",
    "ModelNotFoundError",
    "ModelOutputError",
    "ModelServerError",
    "ModelServerProtocolError",
    "ModelServerUnavailableError",
    "ModelServerUnresponsiveError",
    "ModelTimeoutError",
    "PlanningError",
    "PromptTooLongError",
    "SQLGateError",
    "ServingError",
    "ThreadNotFoundError",
    "ToolError",
    "TraceNotFoundError",
    "TrainingError",
    "VectorStoreError",
    "WarehouseError",
    "WarehouseUnavailableError",
]


class KubeAIError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(KubeAIError):
    """A configuration value is missing or has the wrong form.

    Attributes:
        field: Dotted path of the offending field, e.g. ``llm.timeout_s``.
        source: Where the value came from (a file path or an environment variable), if known.
    """

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.source = source


class ServingError(KubeAIError):
    """The model server could not be prepared, started or stopped."""


class TrainingError(KubeAIError):
    """A fine-tuning run could not start or finish."""


class ModelServerError(KubeAIError):
    """Talking to an OpenAI-compatible model endpoint failed."""

    def __init__(self, message: str, *, url: str | None = None, model: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.model = model


class ModelServerUnavailableError(ModelServerError):
    """The endpoint refused the connection or is not there."""


class ModelTimeoutError(ModelServerError):
    """The endpoint did not answer within the configured timeout, after retries."""


class ModelNotFoundError(ModelServerError):
    """The endpoint does not serve the requested model or adapter."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        model: str | None = None,
        available: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, url=url, model=model)
        self.available = available


class ModelOutputError(ModelServerError):
    """The model answered, but its output does not validate against the requested schema."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        model: str | None = None,
        raw: str | None = None,
        finish_reason: str | None = None,
    ) -> None:
        super().__init__(message, url=url, model=model)
        self.raw = raw
        # "length" when the answer was cut off by its token limit, "content_filter" when it was filtered.
        self.finish_reason = finish_reason


class PromptTooLongError(KubeAIError):
    """Even the smallest version of a prompt does not fit the model's context next to the answer's tokens."""

    def __init__(self, message: str, *, prompt: str, tokens: int, budget: int) -> None:
        super().__init__(message)
        self.prompt = prompt
        self.tokens = tokens
        self.budget = budget


class CatalogError(KubeAIError):
    """A metric catalog is malformed.

    Attributes:
        file: The catalog file.
        line: 1-based line of the offending node, if known.
        field: Dotted path of the offending field, e.g. ``metrics[3].sql``.
    """

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field


class DatasetError(KubeAIError):
    """An evaluation dataset (manifest or items file) is malformed; nothing of it was loaded.

    Attributes:
        file: The offending file.
        line: 1-based line of the offending item or YAML node, if known.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line


class IngestError(KubeAIError):
    """A document could not be loaded, chunked or stored; nothing of it was written."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ThreadNotFoundError(KubeAIError):
    """No stored conversation thread has the id asked for, or begins with it, or a prefix fits several.

    Attributes:
        thread_id: The id (or beginning of one) that was asked for.
        matches: Stored ids that begin with it: none, or several when the prefix is ambiguous.
    """

    def __init__(self, message: str, *, thread_id: str, matches: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.thread_id = thread_id
        self.matches = matches


class TraceNotFoundError(KubeAIError):
    """No stored trace has the id asked for, or begins with it, or a prefix fits several.

    Attributes:
        trace_id: The id (or beginning of one) that was asked for.
        matches: Stored ids that begin with it: none, or several when the prefix is ambiguous.
    """

    def __init__(self, message: str, *, trace_id: str, matches: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.trace_id = trace_id
        self.matches = matches


class VectorStoreError(KubeAIError):
    """A vector store backend failed or was misconfigured."""


class WarehouseError(KubeAIError):
    """A warehouse connection or query failed."""


class WarehouseUnavailableError(WarehouseError):
    """The warehouse could not be reached or opened: no query can run, however it is written.

    Agents end the turn with this sentence instead of handing it to the model as a mistake to repair.
    """


class ChartError(KubeAIError):
    """A chart spec does not fit its data, or a chart could not be built or exported."""


class MetricQueryError(KubeAIError):
    """A structured metric query does not fit the catalog (unknown name, disallowed dimension, missing grain).

    The message goes back to the model that filled the query, so it names the offending value and what to
    use instead in one sentence.

    Attributes:
        field: The query field at fault, e.g. ``dimensions`` or ``filters[0].values``.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SQLGateError(KubeAIError):
    """A SQL statement was rejected by the gate.

    Attributes:
        rule: Name of the gate step that rejected it, e.g. ``read_only``.
    """

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


class ToolError(KubeAIError):
    """A planner tool could not do its task: bad arguments, a missing input, or a failure underneath.

    The message becomes the failed task's reported error, so it names the tool's problem in one sentence.

    Attributes:
        tool: The tool's registered name, when known.
    """

    def __init__(self, message: str, *, tool: str | None = None) -> None:
        super().__init__(message)
        self.tool = tool


class PlanningError(KubeAIError):
    """The planner could not produce a valid task graph within its attempts.

    Attributes:
        problems: The validation problems of the last attempt, one sentence each.
        draft: The last plan the model wrote, as it wrote it (for traces and plan scoring).
    """

    def __init__(
        self, message: str, *, problems: tuple[str, ...] = (), draft: tuple[dict[str, object], ...] = ()
    ) -> None:
        super().__init__(message)
        self.problems = problems
        self.draft = draft


class ModelServerProtocolError(ModelServerUnavailableError):
    """The endpoint answered, but not as an OpenAI-compatible server does.

    An HTML page (a proxy's login or error page, a web server at the wrong URL), JSON of another shape, or a chat
    completion without choices: no model call can succeed there, so callers that stop on an unavailable server
    stop on this too, instead of retrying as if the model had answered badly.

    Attributes:
        path: The request path under the base URL, e.g. ``/chat/completions``.
        status: The HTTP status of the answer (usually 200).
        content_type: The answer's ``Content-Type``, or ``""`` when it had none.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        model: str | None = None,
        path: str = "",
        status: int = 0,
        content_type: str = "",
    ) -> None:
        super().__init__(message, url=url, model=model)
        self.path = path
        self.status = status
        self.content_type = content_type


class ModelServerUnresponsiveError(ModelServerUnavailableError, ModelTimeoutError):
    """The endpoint did not accept a connection, or accepted it but did not answer a quick request, in time.

    A frozen or hung server is reported after ``deadline_s`` (``llm.connect_timeout_s``), not after the
    generation deadline times the retries. It is both unavailable (nothing can succeed now) and a timeout.

    Attributes:
        deadline_s: The deadline it missed, in seconds.
        setting: The configuration field that sets that deadline, e.g. ``llm.connect_timeout_s``.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        model: str | None = None,
        deadline_s: float,
        setting: str,
    ) -> None:
        super().__init__(message, url=url, model=model)
        self.deadline_s = deadline_s
        self.setting = setting
