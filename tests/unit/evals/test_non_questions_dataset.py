"""The bilingual non-questions set: well formed, half Chinese, and every covered phrasing declined by the check."""

from __future__ import annotations

from pathlib import Path

from evals import MetricsQAItem, load_dataset
from evals.runfile import load_runfile
from tools.request_check import check_request

REPO = Path(__file__).resolve().parents[3]


def test_every_item_expects_abstention_and_half_are_chinese() -> None:
    items = load_dataset(REPO / "evals/datasets/non_questions").items_of(MetricsQAItem)
    assert len(items) >= 30
    assert all(item.expect_abstention and item.gold_query is None for item in items)
    chinese = [item for item in items if item.language == "zh"]
    assert abs(2 * len(chinese) - len(items)) <= 1
    kinds = {tag for item in items for tag in item.tags}
    assert {"sql", "change_data", "no_words", "chit_chat", "instructions", "off_topic"} <= kinds


def test_the_request_check_declines_every_phrasing_it_covers() -> None:
    items = load_dataset(REPO / "evals/datasets/non_questions").items_of(MetricsQAItem)
    missed = [item.id for item in items if "uncovered" not in item.tags and check_request(item.question) is None]
    assert missed == []


def test_the_abstention_run_scores_it_beside_the_answerable_questions() -> None:
    run = load_runfile(REPO / "evals/runs/abstention.yaml")
    names = {path.name for path in run.datasets}
    assert names == {"metrics_qa", "non_questions"}
    assert run.strategies == ("rag",)
