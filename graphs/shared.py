"""Shared by the project's graphs: state reducers, prompts fitted into the model's context, node spans.

State reducers add per-node timings and token counts; :func:`fit_to_context` renders a prompt so that it and its
answer fit the served model's context length; :func:`traced_node` gives each node run an OpenTelemetry span.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from langchain_core.messages import BaseMessage
from opentelemetry import trace

from kubeai.prompting import FittedPrompt, PromptTemplate, Trim, fit_prompt
from kubeai.tracing import KUBEAI_NODE, KUBEAI_SPAN, TRACER_NAME, record_failure
from serving.client import ModelClient, Structured

__all__ = [
    "NEW_TURN",
    "PROMPT_MARGIN",
    "fit_to_context",
    "merge_timings",
    "node_tokens",
    "sum_tokens",
    "traced_node",
]

NodeFn = TypeVar("NodeFn", bound=Callable[..., Awaitable[Any]])

PROMPT_MARGIN = 16
"""Tokens kept free beyond a prompt and its answer's ``max_tokens``."""

NEW_TURN = "*"
"""A key the first node of a turn puts in ``timings``/``tokens`` to drop the previous turn's figures."""


def merge_timings(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    """Add per-node seconds; an update holding :data:`NEW_TURN` starts from zero."""
    right = right or {}
    merged = {} if NEW_TURN in right else dict(left or {})
    for node, seconds in right.items():
        if node != NEW_TURN:
            merged[node] = merged.get(node, 0.0) + seconds
    return merged


def sum_tokens(
    left: dict[str, dict[str, int]] | None, right: dict[str, dict[str, int]] | None
) -> dict[str, dict[str, int]]:
    """Add per-node token counts; an update holding :data:`NEW_TURN` starts from zero."""
    right = right or {}
    merged = {} if NEW_TURN in right else {node: dict(counts) for node, counts in (left or {}).items()}
    for node, counts in right.items():
        if node == NEW_TURN:
            continue
        slot = merged.setdefault(node, {"prompt": 0, "completion": 0})
        for key, value in counts.items():
            slot[key] = slot.get(key, 0) + value
    return merged


def node_tokens(node: str, result: Structured[Any]) -> dict[str, dict[str, int]]:
    """A ``tokens`` state update: the prompt and completion tokens one model call of ``node`` spent."""
    return {node: {"prompt": result.usage.prompt_tokens, "completion": result.usage.completion_tokens}}


async def fit_to_context(
    llm: ModelClient,
    template: PromptTemplate,
    values: Mapping[str, Any],
    *,
    model: str | None,
    max_tokens: int,
    trims: Sequence[Trim] = (),
) -> FittedPrompt:
    """Render ``template`` so its prompt and an answer of ``max_tokens`` fit the served model's context.

    The budget is the context length minus ``max_tokens`` minus :data:`PROMPT_MARGIN`; tokens are counted the way
    the server counts them (:meth:`ModelClient.count_tokens`), so an answer is never cut off by its own prompt.

    Raises:
        PromptTooLongError: Even the smallest version of the prompt does not fit.
        ModelServerError: The server cannot be reached to count.
    """

    async def count(messages: Sequence[BaseMessage]) -> int:
        return (await llm.count_tokens(messages, model=model)).tokens

    budget = await llm.context_length(model) - max_tokens - PROMPT_MARGIN
    return await fit_prompt(template, values, budget=budget, count=count, trims=trims)


def traced_node(node: NodeFn) -> NodeFn:
    """``node`` with a span per run, ``node <name>``, current while it runs so model calls nest under it.

    The wrapper keeps the node's name, signature and type hints, which LangGraph reads to pass ``runtime`` and
    infer the input schema. A node that pauses the run for a human (``interrupt``) is marked
    ``kubeai.interrupted``, not failed. The span costs nothing until the application configures tracing.
    """
    name = node.__name__

    @functools.wraps(node)
    async def run(*args: Any, **kwargs: Any) -> Any:
        tracer = trace.get_tracer(TRACER_NAME)
        attributes = {KUBEAI_SPAN: "node", KUBEAI_NODE: name}
        with tracer.start_as_current_span(
            f"node {name}", attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                return await node(*args, **kwargs)
            except BaseException as exc:
                record_failure(span, exc)
                raise

    return cast(NodeFn, run)
