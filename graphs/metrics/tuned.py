"""The prompt and answer format of a metrics adapter fine-tuned on one catalog, shared by serving and training.

A fine-tuned adapter answers a short prompt (:data:`TUNED_PROMPT`: the question, the reference date and the
retrieved metric names) with either a narrowed :class:`~tools.metric_query.MetricQuery` or
``{"unanswerable":true}`` when the catalog cannot answer. ``finetune/`` renders training examples with
:func:`tuned_messages` and :func:`tuned_target`, so the adapter learns exactly the text and JSON the agent sends
and the structured-output grammar accepts (compact separators, schema field order, defaults left out).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ConfigDict, RootModel

from knowledge.catalog import Catalog
from kubeai.prompting import load_prompt
from tools.metric_query import MetricQuery, metric_query_model

__all__ = [
    "TUNED_PROMPT",
    "Unanswerable",
    "tuned_messages",
    "tuned_output_model",
    "tuned_query",
    "tuned_target",
    "tuned_values",
]

TUNED_PROMPT = "generate_query_tuned"


class Unanswerable(BaseModel):
    """The adapter's answer when the catalog holds nothing that answers the question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unanswerable: Literal[True]


def tuned_output_model(
    metrics: Sequence[str], dimensions: Sequence[str], *, periods: Sequence[str]
) -> type[RootModel[Any]]:
    """The answer schema: a query over exactly these names (see :func:`metric_query_model`), or unanswerable."""
    query_model = metric_query_model(metrics, dimensions, periods=periods)
    answer: type[RootModel[Any]] = RootModel[query_model | Unanswerable]  # type: ignore[valid-type]
    answer.__name__ = "TunedMetricAnswer"
    return answer


def tuned_values(catalog: Catalog, question: str, *, metrics: Sequence[str]) -> dict[str, Any]:
    """The variables of :data:`TUNED_PROMPT` for one question and its candidate metrics.

    Dimension names are not shown: the adapter learned which dimensions each metric has, and the answer schema
    (:func:`tuned_output_model`) admits only the retrieved ones.
    """
    return {
        "catalog": catalog.name,
        "reference_date": catalog.reference_date.isoformat(),
        "question": question,
        "metrics": list(metrics),
    }


def tuned_messages(catalog: Catalog, question: str, *, metrics: Sequence[str]) -> list[BaseMessage]:
    """The chat messages of :data:`TUNED_PROMPT` for one question and its candidate metrics."""
    values = tuned_values(catalog, question, metrics=metrics)
    return load_prompt("graphs.metrics.prompts", TUNED_PROMPT).render(**values)


def tuned_target(query: dict[str, Any] | None, output_model: type[RootModel[Any]]) -> str:
    """The answer text the adapter should write: the query in the schema's field order, defaults left out.

    Args:
        query: The gold query as JSON data, or ``None`` for unanswerable.
        output_model: From :func:`tuned_output_model` for the same candidates.

    Raises:
        pydantic.ValidationError: The query uses a name outside the candidates or is not a valid query.
    """
    if query is None:
        return json.dumps({"unanswerable": True}, separators=(",", ":"))
    value = output_model.model_validate(query).root
    if isinstance(value, Unanswerable):
        raise ValueError("a query object validated as unanswerable")
    data = value.model_dump(mode="json", exclude_defaults=True)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def tuned_query(answer: RootModel[Any]) -> MetricQuery | None:
    """The query an adapter answered with, or ``None`` when it marked the question unanswerable."""
    value = answer.root
    return None if isinstance(value, Unanswerable) else value
