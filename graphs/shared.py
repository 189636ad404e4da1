"""Shared by the project's graphs: state reducers and prompts fitted into the model's context.

State reducers add per-node timings and token counts; :func:`fit_to_context` renders a prompt so that it and its
answer fit the served model's context length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from kubeai.prompting import FittedPrompt, PromptTemplate, Trim, fit_prompt
from serving.client import ModelClient, Structured

__all__ = [
    "NEW_TURN",
    "PROMPT_MARGIN",
    "fit_to_context",
    "merge_timings",
    "node_tokens",
    "sum_tokens",
]

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
