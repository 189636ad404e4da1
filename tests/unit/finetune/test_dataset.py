"""Training conversations in the tuned adapter's exact format, and the stratified held-out split."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from finetune.dataset import chat_example, chat_examples, gold_names, split_held_out
from finetune.examples import Language, QueryExample
from finetune.lora import ChatExample
from graphs.metrics.tuned import tuned_output_model, tuned_target
from knowledge.catalog import Catalog, demo_catalog_path, load_catalog

GOLDS: list[tuple[str, Language, dict[str, Any] | None, str]] = [
    ("What was GMV last month?", "en", {"metrics": ["gmv"], "time_range": "last_month"}, "total"),
    ("上个月各地区的GMV是多少？", "zh", {"metrics": ["gmv"], "dimensions": ["region"], "time_range": "last_month"},
     "breakdown"),
    (
        "Orders by channel in the app in Q2",
        "en",
        {
            "metrics": ["order_count"],
            "dimensions": ["channel"],
            "filters": [{"dimension": "payment_method", "values": ["alipay"]}],
            "time_range": "q2",
        },
        "filter_breakdown",
    ),
    (
        "GMV per order in 2025",
        "en",
        {
            "metrics": ["gmv"],
            "calculations": [{"op": "ratio", "left": "gmv", "right": "order_count"}],
            "time_range": {"start": "2025-01-01", "end": "2025-12-31"},
        },
        "ratio",
    ),
    (
        "每月退款金额趋势",
        "zh",
        {"metrics": ["refund_amount"], "dimensions": ["order_date"], "time_grain": "month", "time_range": "h1"},
        "trend",
    ),
    (
        "Bottom 3 cities by refund count",
        "en",
        {
            "metrics": ["refund_count"],
            "dimensions": ["city"],
            "order_by": [{"target": "refund_count", "direction": "asc"}],
            "limit": 3,
        },
        "bottom",
    ),
    (
        "GMV and paying users by region, with each region's share",
        "en",
        {"metrics": ["gmv", "paying_users"], "dimensions": ["region"], "comparison": "share_of_total"},
        "share_with_values",
    ),
    ("What was our carbon emissions last year?", "en", None, "unanswerable"),
    ("预测下个月的GMV。", "zh", None, "forecast"),
]  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())


@pytest.fixture(scope="module")
def examples() -> list[QueryExample]:
    return [QueryExample(question=q, language=lang, query=query, intent=i) for q, lang, query, i in GOLDS]


def shown(chat: ChatExample) -> list[str]:
    """The candidate metric names the conversation's user message shows."""
    user = chat.messages[1][1]
    line = next(line for line in user.splitlines() if line.startswith("Metrics: "))
    return line.removeprefix("Metrics: ").split(", ")


def test_gold_names_include_calculation_inputs_and_filter_dimensions(examples: list[QueryExample]) -> None:
    by_intent = {e.intent: e for e in examples}
    assert gold_names(by_intent["ratio"]) == (["gmv", "order_count"], [])
    assert gold_names(by_intent["filter_breakdown"]) == (["order_count"], ["channel", "payment_method"])
    assert gold_names(by_intent["unanswerable"]) == ([], [])


def test_each_chat_is_the_tuned_prompt_then_the_gold_answer(catalog: Catalog, examples: list[QueryExample]) -> None:
    periods = [p.name for p in catalog.periods()]
    for example, chat in zip(examples, chat_examples(examples, catalog, seed=3), strict=True):
        assert [role for role, _ in chat.messages] == ["system", "user", "assistant"]
        assert chat.language == example.language
        system, user, target = (content for _, content in chat.messages)
        assert catalog.name in system and catalog.reference_date.isoformat() in system
        assert user.splitlines()[0] == example.question
        metrics = shown(chat)
        # Dimension names are not shown; the serving schema admits the retrieved ones (here: all of them).
        output = tuned_output_model(metrics, [d.name for d in catalog.all_dimensions], periods=periods)
        assert target == tuned_target(example.query, output)
        answer = output.model_validate_json(target)  # the grammar the adapter serves under accepts it
        if example.query is None:
            assert json.loads(target) == {"unanswerable": True}
        else:
            assert answer == output.model_validate(example.query)
        assert target == json.dumps(json.loads(target), ensure_ascii=False, separators=(",", ":"))  # compact


def test_gold_names_are_always_among_the_shown_candidates(catalog: Catalog, examples: list[QueryExample]) -> None:
    rng = random.Random(11)
    first = Counter[bool]()
    for _ in range(10):
        for example in examples:
            chat = chat_example(example, catalog, rng)
            metrics = shown(chat)
            gold_metrics, _ = gold_names(example)
            assert set(gold_metrics) <= set(metrics)
            assert len(metrics) == len(set(metrics))
            if gold_metrics:
                first[metrics[: len(gold_metrics)] == gold_metrics] += 1
    # Ranked first most of the time, as retrieval ranks them; elsewhere often enough to learn to choose.
    assert first[True] > first[False] > 0


def test_candidate_metrics_are_capped(catalog: Catalog, examples: list[QueryExample]) -> None:
    rng = random.Random(5)
    sizes: Counter[int] = Counter()
    for _ in range(8):
        for example in examples:
            metrics = shown(chat_example(example, catalog, rng))
            assert 1 <= len(metrics) <= 5
            sizes[len(metrics)] += 1
    assert 5 in sizes  # the cap is reached, not just respected
    assert len(shown(chat_example(examples[1], catalog, rng, max_metrics=2))) == 2


def test_abstentions_answer_unanswerable(catalog: Catalog, examples: list[QueryExample]) -> None:
    abstaining = [e for e in examples if e.abstains]
    assert abstaining
    for chat in chat_examples(abstaining, catalog):
        assert chat.messages[-1] == ("assistant", '{"unanswerable":true}')
        assert shown(chat)  # still shown candidates to decline


def test_chat_examples_are_deterministic_by_seed(catalog: Catalog, examples: list[QueryExample]) -> None:
    assert chat_examples(examples, catalog, seed=7) == chat_examples(examples, catalog, seed=7)
    assert chat_examples(examples, catalog, seed=7) != chat_examples(examples, catalog, seed=8)


# --- split_held_out -----------------------------------------------------------------------------------------------

GROUPS = {("en", "total"): 30, ("zh", "total"): 25, ("en", "breakdown"): 5, ("zh", "trend"): 12, ("en", "hello"): 4}


def many() -> list[QueryExample]:
    out = []
    for (language, intent), count in GROUPS.items():
        for i in range(count):
            lang: Language = "en" if language == "en" else "zh"
            out.append(QueryExample(question=f"{intent} {language} {i}", language=lang, query=None, intent=intent))
    random.Random(0).shuffle(out)
    return out


def test_split_is_disjoint_complete_and_keeps_the_order() -> None:
    examples = many()
    train, held = split_held_out(examples, seed=7)
    questions = [e.question for e in examples]
    assert not {e.question for e in train} & {e.question for e in held}
    assert len(train) + len(held) == len(examples)
    for part in (train, held):
        positions = [questions.index(e.question) for e in part]
        assert positions == sorted(positions)


@pytest.mark.parametrize("fraction", [0.08, 0.2])
def test_split_is_stratified_by_language_and_intent(fraction: float) -> None:
    _, held = split_held_out(many(), fraction=fraction, seed=7)
    counts: Counter[tuple[str, str]] = Counter((e.language, e.intent) for e in held)
    for group, size in GROUPS.items():
        if size > 4:
            assert counts[group] >= max(2, round(size * fraction)), group
        assert counts[group] <= max(2, round(size * fraction))
    assert counts[("en", "hello")] == round(4 * fraction)  # 4 items: no minimum forced on a tiny group


def test_split_is_deterministic_by_seed() -> None:
    examples = many()
    assert split_held_out(examples, seed=7) == split_held_out(examples, seed=7)
    assert split_held_out(examples, seed=7)[1] != split_held_out(examples, seed=8)[1]
