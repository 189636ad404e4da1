"""Feedback into training examples on a real DuckDB demo warehouse: the same gold checks as synthesized data."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.dataset import eval_questions
from finetune.examples import QueryExample, read_examples
from finetune.feedback import Correction, FeedbackDraft, FeedbackRecord, FeedbackStore
from finetune.feedback_data import classify, convert_feedback, with_feedback, write_feedback
from finetune.pipeline import DataReport, TrainingData, load_data
from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from kubeai.errors import TrainingError
from tools.warehouse import SQLRunner, open_runner

EVAL_DATASETS = Path(__file__).resolve().parents[3] / "evals" / "datasets"
THIS_YEAR = {"metrics": ["gmv"], "time_range": "this_year"}
ORDER_COUNT_SQL = (
    "SELECT COUNT(order_id) FROM orders WHERE status <> 'cancelled' "
    "AND order_date >= DATE '2025-01-01' AND order_date < DATE '2026-01-01'"
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())


@pytest.fixture(scope="module")
def runner(warehouse: Path) -> Iterator[SQLRunner]:
    opened = open_runner(str(warehouse))
    yield opened
    opened.close()


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore.in_data_dir(tmp_path)


def add(store: FeedbackStore, question: str, **fields: Any) -> FeedbackRecord:
    fields.setdefault("query", THIS_YEAR)
    return store.add(FeedbackDraft(user="ana", assistant="metrics", question=question, trace_id="trace-1", **fields))


def test_a_corrected_metric_becomes_an_example_with_provenance(
    store: FeedbackStore, catalog: Catalog, runner: SQLRunner
) -> None:
    record = add(store, "How many paid orders did we have this year?", correction=Correction(metric="order_count"))
    result = convert_feedback(store.recent(), catalog, runner, eval_questions=[])
    [example] = result.examples
    assert example.query == {"metrics": ["order_count"], "time_range": "this_year"}
    assert example.source == "feedback" and example.language == "en" and example.intent == "feedback_metric"
    assert example.provenance == {"feedback_id": record.id, "trace_id": "trace-1", "kind": "metric"}
    assert (result.stored, result.usable, result.passed) == (1, 1, 1)


def test_a_corrected_sql_is_gated_and_mapped_back_to_the_one_metric_query_with_its_rows(
    store: FeedbackStore, catalog: Catalog, runner: SQLRunner
) -> None:
    add(store, "今年一共有多少笔有效订单？", correction=Correction(sql=ORDER_COUNT_SQL))
    result = convert_feedback(store.recent(), catalog, runner, eval_questions=[])
    [example] = result.examples
    assert example.query == {"metrics": ["order_count"], "time_range": "this_year"}
    assert example.language == "zh" and example.provenance is not None and example.provenance["kind"] == "sql"


def test_a_corrected_sql_no_metric_query_gives_is_kept_as_an_sql_example_not_trained_on(
    store: FeedbackStore, catalog: Catalog, runner: SQLRunner
) -> None:
    add(store, "How many orders were paid by card this year?", correction=Correction(sql="SELECT COUNT(*) FROM orders"))
    result = convert_feedback(store.recent(), catalog, runner, eval_questions=[])
    assert result.examples == ()
    [candidate] = result.sql_examples
    assert "COUNT" in candidate["gold_sql"].upper() and candidate["provenance"]["kind"] == "sql"
    assert result.passed == 1


def test_gold_failures_are_dropped_and_counted_by_check(
    store: FeedbackStore, catalog: Catalog, runner: SQLRunner
) -> None:
    add(store, "Delete the test orders please", correction=Correction(sql="DELETE FROM orders"))
    add(store, "What is the weather in Hangzhou?", correction=Correction(sql="SELECT * FROM weather"))
    add(store, "What was revenue this year?", correction=Correction(metric="revenue_per_moon"))
    empty_month = {"metrics": ["gmv"], "time_range": {"start": "2001-01-01", "end": "2001-01-31"}}
    add(store, "GMV in a month with no orders", query=empty_month, rating="up")
    result = convert_feedback(store.recent(), catalog, runner, eval_questions=[])
    assert result.examples == () and result.sql_examples == ()
    assert result.failed == {"compile": 1, "gate": 2, "run": 0, "empty": 1}
    assert (result.stored, result.usable, result.passed) == (4, 4, 0)


def test_a_correction_near_an_evaluation_question_is_decontaminated(
    store: FeedbackStore, catalog: Catalog, runner: SQLRunner
) -> None:
    questions = eval_questions(EVAL_DATASETS)
    assert "What was our total GMV in 2025?" in questions
    add(store, "What was our total GMV in 2025 ?", rating="up")
    add(
        store,
        "Show me the paid orders count for this year",
        rating="up",
        query={**THIS_YEAR, "metrics": ["order_count"]},
    )
    result = convert_feedback(store.recent(), catalog, runner, eval_questions=questions)
    assert [e.question for e in result.examples] == ["Show me the paid orders count for this year"]
    assert result.passed == 2 and result.cleaning["removed"]["decontaminated"] == 1


def test_thumbs_down_is_a_negative_never_gold_and_unusable_records_are_counted(
    store: FeedbackStore, catalog: Catalog, runner: SQLRunner
) -> None:
    add(store, "GMV this year?", rating="down")
    add(store, "GMV this year, in words?", correction=Correction(text="wrong year"))
    add(store, "Hello there", rating="up", query=None)
    add(store, "GMV and AOV this year?", correction=Correction(metric="net_gmv"),
        query={"metrics": ["gmv", "aov"], "time_range": "this_year"})  # fmt: skip
    store.add(FeedbackDraft(user="ana", assistant="planner", question="Plan a report", rating="up"))
    result = convert_feedback(store.recent(), catalog, runner, eval_questions=[])
    assert result.examples == () and result.usable == 0
    assert [n["comment"] for n in result.negatives] == ["wrong year", None]
    assert {k: v for k, v in result.unusable.items() if v} == {
        "up_without_query": 1,
        "not_one_metric": 1,
        "not_metrics": 1,
    }
    assert classify(store.recent()[0]) == "not_metrics"


def training_data() -> TrainingData:
    synthetic = (
        QueryExample(question="What was GMV this year?", language="en", query=THIS_YEAR, intent="total"),
        QueryExample(question="How many paid orders did we have this year?", language="en", query=THIS_YEAR,
                     intent="total"),
    )  # fmt: skip
    held = (QueryExample(question="GMV last month?", language="en", query={"metrics": ["gmv"]}, intent="total"),)
    report = DataReport(synthesized={}, teacher=None, cleaning={}, train=2, held_out=1, data_hash="x")
    return TrainingData(train=synthetic, held_out=held, report=report)


def test_merged_alone_and_written_as_the_training_step_reads_it(
    store: FeedbackStore, catalog: Catalog, runner: SQLRunner, tmp_path: Path
) -> None:
    add(store, "How many paid orders did we have this year?", correction=Correction(metric="order_count"))
    add(store, "GMV this year?", rating="down")
    conversion = convert_feedback(store.recent(), catalog, runner, eval_questions=[])
    data = training_data()
    merged = with_feedback(data, conversion.examples)
    # The user's correction replaces the synthesized example that asked the same question.
    assert [e.question for e in merged.train] == ["What was GMV this year?", conversion.examples[0].question]
    alone = with_feedback(data, conversion.examples, alone=True)
    assert alone.train == conversion.examples and alone.held_out == data.held_out
    with pytest.raises(TrainingError, match="feedback-only"):
        with_feedback(data, (), alone=True)

    write_feedback(tmp_path / "out", merged, conversion)
    loaded = load_data(tmp_path / "out")
    assert loaded.train == merged.train and loaded.report.data_hash == merged.report.data_hash
    [kept] = read_examples(tmp_path / "out" / "feedback" / "examples.jsonl")
    assert kept.provenance == conversion.examples[0].provenance
    negatives = (tmp_path / "out" / "feedback" / "negatives.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["question"] for line in negatives] == ["GMV this year?"]
    report = json.loads((tmp_path / "out" / "feedback" / "report.json").read_text("utf-8"))
    assert (report["stored"], report["usable"], report["passed_gold_checks"], report["examples"]) == (2, 1, 1, 1)
    assert dataclasses.replace(merged, folder=tmp_path / "out").report == loaded.report
