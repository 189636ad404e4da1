"""The OpenAI wire format of the agents' answers: pure functions from a result to Markdown, chunks and errors.

An answer travels as the assistant message's Markdown content (the answer, a bounded table of the rows, the SQL
in a fenced block, or the SQL waiting for approval) plus a top-level ``kubeai`` field with the same values a
``/runs/wait`` returns (SQL, columns, rows, chart spec, thread id, ``__interrupt__``): OpenAI clients ignore the
field, programs read it (``completion.model_extra["kubeai"]`` in the ``openai`` client). docs/api.md has the
details.

Text the model or the warehouse wrote is escaped before it goes into the Markdown, so it is shown, never
rendered as HTML, a link or an image (an image link in an answer would make a chat UI fetch a URL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agents.metrics import MetricsResult
from agents.planner import PlanRun
from app.api.service import jsonable, metrics_values
from kubeai.prompting import TextTemplate, load_texts

__all__ = [
    "MAX_TABLE_ROWS",
    "MODELS",
    "chunk",
    "completion",
    "content_pieces",
    "error_body",
    "markdown_table",
    "message_text",
    "metrics_extra",
    "metrics_markdown",
    "plan_extra",
    "plan_markdown",
    "usage",
]

MODELS: Mapping[str, str] = {"kubeai-metrics": "metrics", "kubeai-planner": "planner"}
"""The OpenAI model ids and the assistants they name."""

MAX_TABLE_ROWS = 20
"""Rows shown in the message's table; every row is in ``kubeai.rows``."""

_CELL_SPECIALS = re.compile(r"([\\`*_\[\]<>|])")
_TEXT_SPECIALS = re.compile(r"([\\<\[\]])")
_ERROR_CODES: Mapping[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", "invalid_request"),
    500: ("server_error", "internal_error"),
    502: ("server_error", "model_server_error"),
    503: ("server_error", "unavailable"),
    504: ("server_error", "timeout"),
}


def _texts() -> Mapping[str, TextTemplate]:
    return load_texts("app.api.texts", "openai")


def _say(name: str, language: str, **values: Any) -> str:
    text = _texts()[name]
    return text.render(language if language in text.languages else "en", **values)


def _text(value: str) -> str:
    """Free text (an answer) with HTML, links and images neutralised; other Markdown is kept."""
    return _TEXT_SPECIALS.sub(r"\\\1", value)


def _cell(value: Any) -> str:
    """One table cell: numbers readable, every Markdown special escaped, on one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        text = f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"
    else:
        text = str(value)
    return _CELL_SPECIALS.sub(r"\\\1", " ".join(text.split()))


def _fence(code: str, language: str) -> str:
    """A fenced code block whose fence is longer than any run of backticks inside ``code``."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.strip()}\n{fence}"


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, language: str = "en", limit: int = MAX_TABLE_ROWS
) -> str:
    """A Markdown table of the first ``limit`` rows (numeric columns right-aligned) and a line for the rest."""
    if not headers:
        return ""
    shown = rows[:limit]
    numeric = [
        any(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in shown)
        and all(row[i] is None or (isinstance(row[i], int | float) and not isinstance(row[i], bool)) for row in shown)
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "|" + "|".join("---:" if right else "---" for right in numeric) + "|",
        *("| " + " | ".join(_cell(v) for v in row) + " |" for row in shown),
    ]
    if len(rows) > limit:
        lines.append("")
        lines.append(_say("more_rows", language, count=len(rows) - limit))
    return "\n".join(lines)


def metrics_markdown(result: MetricsResult, *, max_rows: int = MAX_TABLE_ROWS) -> str:
    """The assistant message of a metrics turn: the answer, the table, a chart note and the SQL.

    While the SQL waits for approval: the answer so far, the approval note (on which thread, with which route)
    and the SQL awaiting it.
    """
    language = result.language
    parts = [_text(result.answer or result.reason).strip()]
    if result.pending_sql is not None:
        parts.append(_say("pending", language, thread_id=result.thread_id))
        parts.append(_fence(result.pending_sql, "sql"))
        return "\n\n".join(p for p in parts if p)
    if result.sql and not result.abstained:
        if result.rows:
            parts.append(markdown_table(result.headers, result.rows, language=language, limit=max_rows))
            if result.truncated:
                parts.append(_say("truncated", language, count=len(result.rows)))
        else:
            parts.append(_say("no_rows", language))
        if result.chart is not None:
            parts.append(_say("chart", language, kind=result.chart_kind or "plotly"))
    if result.sql:
        parts.append(_fence(result.sql, "sql"))
    return "\n\n".join(p for p in parts if p)


def metrics_extra(result: MetricsResult) -> dict[str, Any]:
    """The ``kubeai`` field of a metrics turn: the values ``/runs/wait`` returns (without ``messages``)."""
    values = metrics_values(result, [])
    values.pop("messages", None)
    return {"assistant": "metrics", **values}


def plan_markdown(run: PlanRun) -> str:
    """The assistant message of a planner run: the answer, then one line per task (id, tool, status, result)."""
    parts = [_text(run.answer or run.reason).strip()]
    if run.tasks:
        lines = [f"**{_say('tasks', run.language)}**", ""]
        for report in run.tasks:
            outcome = " ".join(report.text.split())
            if len(outcome) > 160:
                outcome = outcome[:159] + "…"
            head = f"- `{report.task.id}` {report.task.tool}: {report.status}"
            lines.append(f"{head} — {_text(outcome)}" if outcome else head)
        parts.append("\n".join(lines))
    return "\n\n".join(p for p in parts if p)


def plan_extra(run: PlanRun) -> dict[str, Any]:
    """The ``kubeai`` field of a planner run: what ``kubeai plan --json`` prints (status, tasks, cited ...)."""
    values: dict[str, Any] = jsonable(run.to_json())
    return {"assistant": "planner", **values}


def message_text(content: str | Sequence[Mapping[str, Any]] | None) -> str:
    """A message's text: the string, or its ``text`` parts joined (images and other parts are left out)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(str(p.get("text", "")) for p in content if p.get("type") == "text")


def usage(tokens: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """OpenAI's ``usage`` from the per-node ``{"prompt", "completion"}`` token counts of a run."""
    prompt = sum(int(t.get("prompt", 0)) for t in tokens.values())
    done = sum(int(t.get("completion", 0)) for t in tokens.values())
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def completion(
    *,
    completion_id: str,
    created: int,
    model: str,
    content: str,
    extra: Mapping[str, Any],
    tokens: Mapping[str, int],
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice, ``finish_reason: "stop"`` and the ``kubeai`` field."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": dict(tokens),
        "kubeai": dict(extra),
    }


def chunk(
    *,
    completion_id: str,
    created: int,
    model: str,
    delta: Mapping[str, Any] | None = None,
    finish_reason: str | None = None,
    extra: Mapping[str, Any] | None = None,
    tokens: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion.chunk``; with ``tokens`` it is the usage chunk (no choices), as OpenAI sends it."""
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": []
        if tokens is not None
        else [{"index": 0, "delta": dict(delta or {}), "logprobs": None, "finish_reason": finish_reason}],
    }
    if tokens is not None:
        body["usage"] = dict(tokens)
    if extra is not None:
        body["kubeai"] = dict(extra)
    return body


def content_pieces(text: str) -> Iterable[str]:
    """The message in the pieces a stream sends: line by line, each piece keeping its line break."""
    return (piece for piece in text.splitlines(keepends=True) if piece)


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error object for a status and its one sentence: ``{"error": {"message", "type", "param", "code"}}``."""
    kind, code = _ERROR_CODES.get(status, ("server_error" if status >= 500 else "invalid_request_error", "error"))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
