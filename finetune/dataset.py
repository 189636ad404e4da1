"""Training conversations in the exact format the metrics agent uses when it serves a fine-tuned adapter.

Each :class:`~finetune.examples.QueryExample` becomes one chat: the prompt of
:data:`graphs.metrics.tuned.TUNED_PROMPT` with the question and candidate names, and the answer
:func:`graphs.metrics.tuned.tuned_target` writes (the JSON the structured-output grammar accepts). At serving
time the candidates are what retrieval found; here they are simulated the same way: the gold names among
distractors drawn from the catalog, ranked first most of the time, so the adapter learns to choose among names
rather than to take the first.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from finetune.examples import QueryExample
from finetune.lora import ChatExample
from graphs.metrics.tuned import tuned_messages, tuned_output_model, tuned_target
from knowledge.catalog import Catalog

__all__ = ["chat_example", "chat_examples", "gold_names", "split_held_out"]


def gold_names(example: QueryExample) -> tuple[list[str], list[str]]:
    """The metric and dimension names an example's gold query uses (calculation inputs and filters included)."""
    query = example.query or {}
    metrics = list(query.get("metrics", []))
    for calculation in query.get("calculations", []):
        metrics += [calculation["left"], calculation["right"]]
    dimensions = list(query.get("dimensions", []))
    dimensions += [f["dimension"] for f in query.get("filters", [])]
    return list(dict.fromkeys(metrics)), list(dict.fromkeys(dimensions))


def chat_example(
    example: QueryExample,
    catalog: Catalog,
    rng: random.Random,
    *,
    max_metrics: int = 5,
    max_dimensions: int = 8,
) -> ChatExample:
    """One training conversation: the tuned prompt with simulated candidates, and the gold answer."""
    metrics, dimensions = gold_names(example)
    metric_pool = [m.name for m in catalog.metrics if m.name not in metrics]
    distractors = rng.sample(metric_pool, k=min(len(metric_pool), max(0, max_metrics - len(metrics))))
    shown_metrics = _rank(metrics, distractors, rng)
    if not shown_metrics:
        shown_metrics = [m.name for m in catalog.metrics[:1]]
    allowed = [d for m in shown_metrics for d in catalog.allowed_dimensions(m)]
    dimension_pool = [d for d in dict.fromkeys(allowed) if d not in dimensions]
    rng.shuffle(dimension_pool)
    shown_dimensions = _rank(dimensions, dimension_pool[: max(0, max_dimensions - len(dimensions))], rng)
    periods = [p.name for p in catalog.periods()]
    output = tuned_output_model(shown_metrics, shown_dimensions, periods=periods)
    messages = tuned_messages(catalog, example.question, metrics=shown_metrics)
    pairs = tuple((_role(m), str(m.content)) for m in messages)
    return ChatExample(messages=(*pairs, ("assistant", tuned_target(example.query, output))), language=example.language)


def chat_examples(examples: Sequence[QueryExample], catalog: Catalog, *, seed: int = 7) -> list[ChatExample]:
    """Every example as a training conversation, candidates drawn from one seeded generator."""
    rng = random.Random(seed)
    return [chat_example(example, catalog, rng) for example in examples]


def split_held_out(
    examples: Sequence[QueryExample], *, fraction: float = 0.08, seed: int = 7, minimum: int = 2
) -> tuple[list[QueryExample], list[QueryExample]]:
    """Split into (train, held out), stratified by language and intent; the trainer never sees the held out.

    Each (language, intent) group gives ``fraction`` of its examples, at least ``minimum`` when it has more than
    twice that many. Both lists keep the input order.
    """
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        groups[(example.language, example.intent)].append(index)
    rng = random.Random(seed)
    held: set[int] = set()
    for key in sorted(groups):
        members = groups[key]
        count = round(len(members) * fraction)
        if len(members) > 2 * minimum:
            count = max(count, minimum)
        held.update(rng.sample(members, k=min(count, len(members))))
    train = [e for i, e in enumerate(examples) if i not in held]
    held_out = [e for i, e in enumerate(examples) if i in held]
    return train, held_out


def _rank(gold: Sequence[str], others: Sequence[str], rng: random.Random) -> list[str]:
    """Gold names among the others: first most of the time (as retrieval ranks them), else anywhere."""
    ranked = list(others)
    if rng.random() < 0.6:
        return [*gold, *ranked]
    for name in gold:
        ranked.insert(rng.randint(0, len(ranked)), name)
    return ranked


def _role(message: BaseMessage) -> str:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, HumanMessage):
        return "user"
    return "assistant"
