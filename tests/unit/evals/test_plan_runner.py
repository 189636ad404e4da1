"""The evaluation runner on planning datasets: TaskBench scores per request, drafts, caching, strategy pairing.

The planner agent is scripted (:mod:`tests.unit.evals.planner_fakes`) and passed in as the runner's planner; the
runner, the scorer, the run files and the reports are real.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest

from app.eval_agents import EVAL_AGENTS
from evals.report import compare, html_report, markdown_report, summarize_run, terminal_table
from evals.runfile import STRATEGIES, StrategyName, load_runfile, strategies_for
from evals.runner import load_records, run_evaluation
from kubeai.config import ProjectConfig
from kubeai.errors import ConfigError, ModelTimeoutError, PlanningError
from tests.unit.evals.planner_fakes import PLAN_ITEMS, Reply, scripted_planner, task, write_planning_dataset

REQUEST = {item["id"]: str(item["request"]) for item in PLAN_ITEMS}
DRAFT = (
    {"id": "t1", "tool": "doc_qa", "args": {"question": "refund policy"}, "dep": []},
    {"id": "t2", "tool": "translate", "args": {"text": "<resource>-t1"}, "dep": "t1"},  # a bare id, as models write
)
GOOD: dict[str, Reply] = {
    REQUEST["p1"]: [task("t1", "metric_query")],  # exact
    REQUEST["p2"]: [task("t1", "metric_query"), task("t2", "chart")],  # the chart forgot its dependency
    REQUEST["p3"]: PlanningError(
        "The planner could not produce a valid task graph in 3 attempt(s): task t2 has no args object.",
        problems=("task t2 has no args object",),
        draft=DRAFT,
    ),
    REQUEST["p4"]: [task("t1", "metric_query"), task("t2", "metric_query"), task("t3", "table_compare", "t1", "t2")],
}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, ProjectConfig]:
    write_planning_dataset(tmp_path / "plans")
    runfile = tmp_path / "run.yaml"
    runfile.write_text(
        "name: pl\ndatasets: [plans]\nstrategies: [plan]\nconcurrency: 2\noutput_dir: out\n", encoding="utf-8"
    )
    return runfile, ProjectConfig.model_validate({"data_dir": str(tmp_path / "data")})


async def test_plans_are_scored_and_a_failed_request_is_asked_again(
    setup: tuple[Path, ProjectConfig],
) -> None:
    runfile, config = setup
    timeout = ModelTimeoutError("The model server did not answer in time; raise llm.timeout_s.")
    patch = scripted_planner({**GOOD, REQUEST["p4"]: timeout})
    result = await run_evaluation(runfile, config, agents=patch.agents, progress=False)
    assert (result.asked, result.cached) == (4, 0)
    assert patch.openings == [{"llm": None, "model": "smollm2-135m", "demos": 2}]
    by_id = {r["item_id"]: r for r in result.records}

    exact = by_id["p1"]
    assert exact["kind"] == "planning" and exact["request"] == REQUEST["p1"]
    assert exact["valid_plan"] and exact["exact_plan"] and exact["correct"]
    assert exact["node_f1"] == exact["edge_f1"] == 1.0
    assert exact["attempts"] == 1 and exact["demo_ids"] == ["demo-1"] and exact["total_tokens"] == 120
    assert exact["predicted_tasks"] == [
        {"id": "t1", "tool": "metric_query", "type": "metric_query", "depends_on": [], "args": {"text": "t1"}}
    ]
    assert exact["gold_tasks"][0]["tool"] == "metric_query" and exact["latency_s"] >= 0

    no_edge = by_id["p2"]
    assert no_edge["valid_plan"] and not no_edge["exact_plan"] and not no_edge["correct"]
    assert no_edge["node_f1"] == 1.0 and no_edge["edge_recall"] == 0.0 and no_edge["edge_f1"] == 0.0
    assert no_edge["repairs"] == ["t2 dep +t1"]

    draft = by_id["p3"]
    assert not draft["valid_plan"] and not draft["correct"] and not draft["retry"]
    assert draft["error"].startswith("PlanningError: ") and draft["problems"] == ["task t2 has no args object"]
    assert draft["attempts"] == 3
    assert draft["node_precision"] == draft["node_recall"] == 0.5 and draft["edge_f1"] == 0.0
    assert [(t["tool"], t["type"], t["depends_on"]) for t in draft["predicted_tasks"]] == [
        ("doc_qa", "doc_qa", []),
        ("translate", "translate", ["t1"]),
    ]

    failed = by_id["p4"]
    assert failed["retry"] and not failed["correct"] and "ModelTimeoutError" in failed["error"]
    assert len(load_records(result.run_dir)) == 4  # the failure is on disk for reports

    patch = scripted_planner(GOOD)
    again = await run_evaluation(runfile, config, agents=patch.agents, progress=False)
    assert (again.asked, again.cached) == (1, 3)
    assert patch.planner.asked == [REQUEST["p4"]]
    assert next(r for r in again.records if r["item_id"] == "p4")["exact_plan"]

    third = await run_evaluation(runfile, config, agents=patch.agents, progress=False)
    assert (third.asked, third.cached) == (0, 4)
    assert len(patch.openings) == 1, "nothing left to ask: the planner is not opened"


async def test_each_strategy_sets_the_demonstrations_and_a_changed_item_is_asked_again(
    setup: tuple[Path, ProjectConfig],
) -> None:
    runfile, config = setup
    runfile.write_text("name: pl\ndatasets: [plans]\nstrategies: [plan, plan_zeroshot]\nlimit: 2\noutput_dir: out\n")
    patch = scripted_planner(GOOD)
    result = await run_evaluation(runfile, config, agents=patch.agents, progress=False)
    assert [o["demos"] for o in patch.openings] == [2, 0]
    assert [(r["variant"], r["item_id"]) for r in result.records] == [
        ("smollm2-135m/plan", "p1"),
        ("smollm2-135m/plan", "p2"),
        ("smollm2-135m/plan_zeroshot", "p1"),
        ("smollm2-135m/plan_zeroshot", "p2"),
    ]
    changed = [dict(i, tags=["changed"]) if i["id"] == "p1" else i for i in PLAN_ITEMS]
    write_planning_dataset(runfile.parent / "plans", changed)
    again = await run_evaluation(runfile, config, agents=patch.agents, progress=False)
    assert again.asked == 4  # the dataset file is part of every item's fingerprint


async def test_planning_reports_and_compare(setup: tuple[Path, ProjectConfig]) -> None:
    runfile, config = setup
    first = await run_evaluation(runfile, config, agents=scripted_planner(GOOD).agents, progress=False)
    summary = summarize_run(first.records)
    variant = summary["variants"]["smollm2-135m/plan"]
    assert variant["kind"] == "planning" and variant["items"] == 4
    assert variant["node_f1"] == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert variant["edge_f1"] == pytest.approx((0 + 0 + 1) / 3), "p1's gold graph has no edge: it is left out"
    assert variant["valid_plan"] == 0.75 and variant["exact_plan"] == 0.5 and variant["accuracy"] == 0.5
    assert variant["by_language"]["en"]["edge_f1"] == 0.0 and variant["by_language"]["zh"]["node_f1"] == 0.75
    assert variant["errors"] == 1  # the request without a valid plan
    assert "execution_accuracy" not in variant

    table = terminal_table(summary)
    assert table.splitlines()[0].split()[:6] == ["variant", "n", "node", "F1", "edge", "F1"]
    assert "75.0%" in table and "zh edge F1" in table
    assert "| smollm2-135m/plan | 4 | 0.88 | 0.33 | 75.0% | 50.0% |" in markdown_report(summary)
    page = html_report(summary, first.records)
    assert "Plan scores per variant" in page and "Edge F1 per variant by language" in page
    assert "gold: t1 metric_query; t2 chart &lt;- t1" in page  # the wrong plan beside its gold

    worse = scripted_planner({**GOOD, REQUEST["p1"]: [task("t1", "doc_qa")]})
    second = await run_evaluation(runfile, config, agents=worse.agents, run_dir=runfile.parent / "b", progress=False)
    result = compare(first.records, second.records)
    assert result.regressions == (("smollm2-135m/plan", "p1"),)
    deltas = result.deltas["smollm2-135m/plan"]
    assert deltas["delta"] == pytest.approx(-0.25) and deltas["node_f1_delta"] == pytest.approx(-0.25)
    assert deltas["edge_f1_delta"] == pytest.approx(0.0)
    assert "node F1 0.88 -> 0.62 (-0.25)" in result.text()


def test_every_strategy_name_has_a_spec_of_a_kind() -> None:
    assert set(get_args(StrategyName)) == set(STRATEGIES)
    assert strategies_for("planning") == ("plan", "plan_zeroshot")
    assert STRATEGIES["plan"].kind == "planning" and STRATEGIES["rag"].kind == "metrics_qa"


def test_an_unknown_strategy_lists_the_strategies_of_each_kind(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: r\ndatasets: [d]\nstrategies: [telepathy]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"auto \(metrics_qa datasets\) or plan, plan_zeroshot \(planning"):
        load_runfile(bad)


@pytest.mark.parametrize(
    ("strategies", "message"),
    [
        ("[prompt, rag]", r"Dataset 'plans' is a planning dataset, but none of the run file's strategies"),
        ("[plan, rag]", r"Strategy 'rag' evaluates metrics_qa datasets and the run file lists none"),
    ],
)
async def test_strategies_must_pair_with_the_datasets(
    setup: tuple[Path, ProjectConfig], strategies: str, message: str
) -> None:
    runfile, config = setup
    runfile.write_text(f"name: pl\ndatasets: [plans]\nstrategies: {strategies}\noutput_dir: out\n")
    with pytest.raises(ConfigError, match=message) as info:
        await run_evaluation(runfile, config, agents=EVAL_AGENTS, progress=False)
    assert info.value.field == "strategies"
    assert not (runfile.parent / "out").exists(), "nothing is written before the run file checks out"


async def test_a_dataset_kind_the_runner_cannot_evaluate_is_refused(setup: tuple[Path, ProjectConfig]) -> None:
    runfile, config = setup
    docs = runfile.parent / "docs"
    docs.mkdir()
    (docs / "dataset.yaml").write_text("name: docs\nversion: '1'\nkind: docqa\nitems: q.jsonl\n", encoding="utf-8")
    item = {"id": "d1", "question": "Refunds?", "language": "en", "expected_sources": ["refunds.md"]}
    (docs / "q.jsonl").write_text(json.dumps(item), encoding="utf-8")
    runfile.write_text("name: pl\ndatasets: [plans, docs]\nstrategies: [plan]\n")
    with pytest.raises(ConfigError, match="metrics_qa and planning datasets only") as info:
        await run_evaluation(runfile, config, agents=EVAL_AGENTS, progress=False)
    assert info.value.field == "datasets"
