"""Span names and attributes every layer shares, and the span of one agent run.

Layers below ``app`` trace through OpenTelemetry's API only (``trace.get_tracer``): it records nothing until the
application configures a tracer provider (:mod:`app.tracing`), so a library caller, a test or a benchmark pays
nothing. Three kinds of span make a run's trace:

* the run: ``invoke_agent metrics`` at an agent's entry (ask, resume, stream, plan), :func:`run_span`;
* one span per graph node, ``node understand`` (``graphs.shared.traced_node``);
* one span per model call, ``chat smollm2-135m``, following the OpenTelemetry GenAI semantic conventions
  (``serving.client``).

The ``gen_ai.*`` names are those of the GenAI semantic conventions (tests compare them with the installed
``opentelemetry-semantic-conventions`` package); ``kubeai.*`` names are this project's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from opentelemetry import baggage, trace
from opentelemetry.trace import Span, StatusCode

__all__ = [
    "ENDUSER_ID",
    "ERROR_TYPE",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_OUTPUT_TYPE",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_MAX_TOKENS",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_REQUEST_TEMPERATURE",
    "GEN_AI_RESPONSE_FINISH_REASONS",
    "GEN_AI_RESPONSE_ID",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "KUBEAI_ADAPTER",
    "KUBEAI_ENTRY",
    "KUBEAI_INTERRUPTED",
    "KUBEAI_LANGUAGE",
    "KUBEAI_MODEL",
    "KUBEAI_NODE",
    "KUBEAI_SPAN",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "TRACER_NAME",
    "end_user",
    "record_failure",
    "run_span",
    "trace_id",
]

TRACER_NAME = "kubeai"

GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_OUTPUT_TYPE = "gen_ai.output.type"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
ENDUSER_ID = "enduser.id"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

KUBEAI_SPAN = "kubeai.span"
"""What a span is to ``kubeai traces``: ``run``, ``node`` or ``request`` (an API request around a run)."""
KUBEAI_ENTRY = "kubeai.entry"
"""The agent method a run entered by: ``ask``, ``resume``, ``stream``, ``plan`` or ``run``."""
KUBEAI_NODE = "kubeai.node"
KUBEAI_MODEL = "kubeai.model"
KUBEAI_ADAPTER = "kubeai.adapter"
KUBEAI_LANGUAGE = "kubeai.language"
KUBEAI_INTERRUPTED = "kubeai.interrupted"
"""A node that paused the run for a human (SQL approval): not an error."""


@contextlib.contextmanager
def run_span(
    agent: str,
    *,
    entry: str,
    thread_id: str | None = None,
    model: str | None = None,
    adapter: str | None = None,
) -> Iterator[Span]:
    """The span of one agent run, current while the block runs: ``invoke_agent <agent>``.

    The user comes from the ``enduser.id`` baggage an application sets around the run (the HTTP API sets the
    key's user), so an agent's signature does not change for tracing. A failure sets ``error.type``.

    Args:
        agent: The agent's name (``metrics``, ``planner``): ``gen_ai.agent.name``.
        entry: The method the run entered by (``ask``, ``resume``, ``stream``, ``plan``, ``run``).
        thread_id: The conversation thread: ``gen_ai.conversation.id``.
        model: The model the agent uses by default.
        adapter: The fine-tuned adapter the agent uses, if any.
    """
    attributes: dict[str, str] = {
        KUBEAI_SPAN: "run",
        KUBEAI_ENTRY: entry,
        GEN_AI_OPERATION_NAME: "invoke_agent",
        GEN_AI_AGENT_NAME: agent,
    }
    optional = {GEN_AI_CONVERSATION_ID: thread_id, KUBEAI_MODEL: model, KUBEAI_ADAPTER: adapter, ENDUSER_ID: end_user()}
    attributes.update({key: value for key, value in optional.items() if value})
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        f"invoke_agent {agent}", attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            record_failure(span, exc)
            raise


def record_failure(span: Span, exc: BaseException) -> None:
    """Mark ``span`` failed by ``exc``: ``error.type`` is the exception's class (``cancelled`` when cancelled)."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        span.set_attribute(ERROR_TYPE, "cancelled")
        return
    if type(exc).__name__ in _NOT_FAILURES:
        span.set_attribute(KUBEAI_INTERRUPTED, True)
        return
    span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
    span.set_status(StatusCode.ERROR, str(exc)[:500])


# LangGraph pauses a run for a human by raising these through the node; the run is not failing.
_NOT_FAILURES = frozenset({"GraphInterrupt", "NodeInterrupt", "ParentCommand", "GraphBubbleUp"})


def end_user() -> str | None:
    """The ``enduser.id`` baggage of the current context: the user the application runs this for."""
    value = baggage.get_baggage(ENDUSER_ID)
    return str(value) if value else None


def trace_id(span: Span | None = None) -> str | None:
    """The trace id of ``span`` (default: the current span) as 32 hex digits; ``None`` when nothing is traced."""
    context = (span or trace.get_current_span()).get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
