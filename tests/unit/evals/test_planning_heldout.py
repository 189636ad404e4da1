"""The held-out planning set: valid gold graphs for the real tools, and apart from what the planner learns from.

Every gold graph must pass the planner's own validator without repairs, with the task types the registry declares,
and no request may be a near duplicate of a demonstration or of the planning set by the fine-tuning pipeline's own
decontamination stage.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest

from evals import PlanningItem, load_dataset
from finetune.clean import CleaningConfig, CleaningContext, decontaminate
from finetune.examples import QueryExample
from graphs.planner import validate_plan
from tests.unit.graphs.planner_support import scripted
from tools.registry import TaskOutput, ToolRegistry
from tools.toolbox import planner_registry

ROOT = Path(__file__).parents[3]
HELD_OUT = load_dataset(ROOT / "evals" / "datasets" / "planning_heldout")
ITEMS = HELD_OUT.items_of(PlanningItem)
PLANNING = load_dataset(ROOT / "evals" / "datasets" / "planning").items_of(PlanningItem)
DEMOS = [
    json.loads(line)
    for line in (ROOT / "graphs" / "planner" / "demos" / "demos.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def tools() -> ToolRegistry:
    async def never(question: str) -> TaskOutput:
        raise AssertionError("not run")

    client, _ = scripted()
    return planner_registry(llm=client, knowledge=cast(Any, object()), ask_metrics=never)


def raw_plan(item: PlanningItem) -> list[dict[str, Any]]:
    return [{"id": t.id, "tool": t.tool, "args": dict(t.args), "dep": list(t.depends_on)} for t in item.tasks]


def test_manifest_size_and_balance() -> None:
    assert HELD_OUT.manifest.kind == "planning" and HELD_OUT.manifest.version == "1.0"
    assert 28 <= len(ITEMS) <= 40
    languages = Counter(item.language for item in ITEMS)
    assert languages["en"] >= 10 and languages["zh"] >= 10
    multi = [item for item in ITEMS if len(item.tasks) > 1]
    assert len(multi) >= len(ITEMS) // 2
    assert sum(1 for item in ITEMS if any(task.depends_on for task in item.tasks)) >= 15
    assert len({item.id for item in ITEMS}) == len(ITEMS)


@pytest.mark.parametrize("item", ITEMS, ids=[item.id for item in ITEMS])
def test_every_gold_graph_passes_the_planners_validator(item: PlanningItem) -> None:
    registry = tools()
    outcome = validate_plan(raw_plan(item), registry)
    assert outcome.ok, outcome.problems
    assert not outcome.repairs, outcome.repairs
    for task in item.tasks:
        assert task.type == registry.task_type(str(task.tool))


def _examples(requests: list[tuple[str, str]]) -> tuple[QueryExample, ...]:
    return tuple(
        QueryExample(question=text, language=cast(Any, language), query=None, intent="plan")
        for text, language in requests
    )


def test_no_request_near_duplicates_a_demonstration_or_the_planning_set() -> None:
    references = tuple([str(demo["request"]) for demo in DEMOS] + [item.request for item in PLANNING])
    context = CleaningContext(config=CleaningConfig(), eval_questions=references)
    held = _examples([(item.request, item.language) for item in ITEMS])
    kept = decontaminate(held, context).kept
    assert [example.question for example in held if example not in kept] == []
    # The check can fail: a planning-set request reworded by a word is caught.
    planted = _examples([(PLANNING[0].request.replace("What was", "What's"), PLANNING[0].language)])
    assert decontaminate(planted, context).removed == {"decontaminated": 1}


def test_the_run_file_loads_and_names_the_held_out_set() -> None:
    from evals.runfile import load_runfile

    spec = load_runfile(ROOT / "evals" / "runs" / "planning_heldout.yaml")
    assert [path.resolve() for path in spec.datasets] == [(ROOT / "evals" / "datasets" / "planning_heldout").resolve()]
