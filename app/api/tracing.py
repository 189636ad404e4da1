"""The HTTP API's part of tracing: a span per run request, and its trace id in the answer.

Every run route starts a new trace with a server span (``POST /threads/{thread_id}/runs/stream``) around the agent's
run span, and returns its id three ways: the ``X-Trace-Id`` response header, ``trace_id`` in the ``metadata`` event
of a stream, and ``trace_id`` in the run's values. ``kubeai traces --trace ID`` shows that trace; so does an OTLP
backend. With tracing off the id is ``null`` and there is no header.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from fastapi import FastAPI
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind

from app import tracing
from kubeai.config import ProjectConfig
from kubeai.tracing import (
    ENDUSER_ID,
    GEN_AI_AGENT_NAME,
    GEN_AI_CONVERSATION_ID,
    KUBEAI_SPAN,
    TRACER_NAME,
    record_failure,
    trace_id,
)

__all__ = ["TRACE_HEADER", "request_span", "stamp", "trace_headers", "traced_lifespan", "within"]

TRACE_HEADER = "X-Trace-Id"
STAMPED_EVENTS = frozenset({"metadata", "values"})

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


def traced_lifespan(config: ProjectConfig, inner: Lifespan) -> Lifespan:
    """``inner`` with tracing configured around it, unless the process already configured it (``kubeai api``)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = None if tracing.active() else tracing.configure(config)
        try:
            async with inner(app):
                yield
        finally:
            if opened is not None:
                opened.close()

    return lifespan


def request_span(route: str, *, thread_id: str | None, assistant: str, user: str) -> Span:
    """A new trace for one run request: its server span, not yet current (see :func:`within`).

    A caller's ``traceparent`` header is not followed: a client that chose the trace id could mix its spans into
    another user's trace, and the id the API returns is the handle a run's feedback is kept under.

    Args:
        route: The route template, e.g. ``/threads/{thread_id}/runs/wait``.
        thread_id: The thread the run continues (``gen_ai.conversation.id``).
        assistant: ``metrics`` or ``planner``.
        user: The API key's user (``enduser.id``).
    """
    attributes = {
        KUBEAI_SPAN: "request",
        "http.request.method": "POST",
        "http.route": route,
        GEN_AI_AGENT_NAME: assistant,
        ENDUSER_ID: user,
    }
    if thread_id is not None:
        attributes[GEN_AI_CONVERSATION_ID] = thread_id
    tracer = trace.get_tracer(TRACER_NAME)
    return tracer.start_span(
        f"POST {route}", context=otel_context.Context(), kind=SpanKind.SERVER, attributes=attributes
    )


@contextlib.contextmanager
def within(span: Span, *, user: str) -> Iterator[None]:
    """Make ``span`` current, with the user as ``enduser.id`` baggage for the run span below; end it after."""
    context = baggage.set_baggage(ENDUSER_ID, user, context=trace.set_span_in_context(span))
    token = otel_context.attach(context)
    try:
        yield
    except BaseException as exc:
        record_failure(span, exc)
        raise
    finally:
        otel_context.detach(token)
        span.end()


def stamp(event: str, data: Any, span: Span) -> Any:
    """A run's ``metadata`` or ``values`` with the trace's id as ``trace_id``; other events as they are."""
    if event in STAMPED_EVENTS and isinstance(data, dict):
        return {**data, "trace_id": trace_id(span)}
    return data


def trace_headers(span: Span) -> dict[str, str]:
    """``{"X-Trace-Id": ...}`` for a traced run; empty when tracing is off."""
    found = trace_id(span)
    return {TRACE_HEADER: found} if found else {}
