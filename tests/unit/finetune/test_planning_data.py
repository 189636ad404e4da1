"""Synthetic planning data: valid gold graphs from the real tools and catalog, cleaned and in the trainer's format."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest

from finetune.lora import load_examples
from finetune.planning_data import build_planning_data, chat_example, synthesize_plans, write_chat_examples
from graphs.planner import DemoBank, validate_plan
from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from tests.unit.graphs.planner_support import scripted
from tools.registry import TaskOutput, ToolRegistry
from tools.toolbox import planner_registry

SHAPES = {
    "metric",
    "chart",
    "compare_periods",
    "join_metrics",
    "compare_chart_summary",
    "metric_summary",
    "growth",
    "doc",
    "doc_metric",
    "doc_translate",
}


def tools(*, documents: bool = True) -> ToolRegistry:
    async def never(question: str) -> TaskOutput:
        raise AssertionError("not run")

    client, _ = scripted()
    return planner_registry(llm=client, knowledge=cast(Any, object()) if documents else None, ask_metrics=never)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())


def test_every_generated_gold_graph_passes_the_planners_validator(catalog: Catalog) -> None:
    registry = tools()
    examples, report = synthesize_plans(catalog, registry, per_shape=6, seed=3)
    assert report["invalid"] == 0 and report["skipped"] == []
    assert report["synthesized"] == dict.fromkeys(SHAPES, 12)
    assert Counter(e.language for e in examples) == {"en": 60, "zh": 60}
    for example in examples:
        assert example.query is not None
        outcome = validate_plan(example.query["tasks"], registry)
        assert outcome.ok and not outcome.repairs, (example.question, outcome.problems, outcome.repairs)
    # Real dependencies: the chart after the metric it charts, the summary after both metrics.
    demo_like = next(e for e in examples if e.intent == "compare_chart_summary" and e.language == "en")
    assert demo_like.query is not None
    graph = {t["tool"]: t for t in demo_like.query["tasks"]}
    assert graph["chart"]["dep"] == ["t1"] and graph["summarize"]["dep"] == ["t1", "t2"]
    assert graph["table_join"]["dep"] == ["t1", "t2"]


def test_shapes_whose_tools_are_not_registered_are_skipped(catalog: Catalog) -> None:
    examples, report = synthesize_plans(catalog, tools(documents=False), per_shape=2)
    assert report["skipped"] == ["doc", "doc_metric", "doc_translate"]
    assert {e.intent for e in examples} == SHAPES - {"doc", "doc_metric", "doc_translate"}


def test_cleaning_counts_per_stage_and_decontamination_drops_a_planted_near_duplicate(catalog: Catalog) -> None:
    registry = tools()
    examples, _ = synthesize_plans(catalog, registry, per_shape=6, seed=3)
    planted = next(e.question for e in examples if e.language == "en" and e.intent == "join_metrics")
    reworded = planted.replace("Put ", "Please put ").replace(" in one table", " into one table")
    assert reworded != planted
    data = build_planning_data(catalog, registry, eval_requests=[reworded], per_shape=6, seed=3)
    cleaning = data.report["cleaning"]
    assert cleaning["input_count"] == len(examples) == sum(data.report["synthesized"].values())
    assert cleaning["kept_count"] == len(data.examples) == cleaning["input_count"] - sum(cleaning["removed"].values())
    assert cleaning["removed"]["decontaminated"] >= 1
    assert planted not in {e.question for e in data.examples}
    clean = build_planning_data(catalog, registry, eval_requests=["How many orders were placed?"], per_shape=6, seed=3)
    assert clean.report["cleaning"]["removed"]["decontaminated"] == 0
    assert planted in {e.question for e in clean.examples}


def test_training_conversations_are_the_planners_prompt_and_the_gold_plan(catalog: Catalog, tmp_path: Path) -> None:
    registry = tools()
    examples, _ = synthesize_plans(catalog, registry, per_shape=1, seed=5)
    conversations = [chat_example(example, registry, DemoBank.bundled()) for example in examples]
    path = tmp_path / "planning_train.jsonl"
    write_chat_examples(path, conversations)
    loaded = load_examples(path)
    assert len(loaded) == len(examples)
    for example, conversation in zip(examples, loaded, strict=True):
        (system, _), (user, request_part), (assistant, target) = conversation.messages
        assert (system, user, assistant) == ("system", "user", "assistant")
        assert json.loads(target) == example.query
        assert request_part.rstrip().endswith(example.question)
        assert conversation.language == example.language
    # The adapter replaces the demonstrations: it is trained (and served) without them.
    system_prompt = loaded[0].messages[0][1]
    assert "metric_query(question: string)" in system_prompt and "## Examples" not in system_prompt
    shown = chat_example(examples[0], registry, DemoBank.bundled(), demos_k=2)
    assert "## Examples" in shown.messages[0][1]
