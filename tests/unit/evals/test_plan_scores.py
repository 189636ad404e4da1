"""TaskBench node and edge F1."""

from __future__ import annotations

import pytest

from evals import PlanTask, plan_scores


def _t(task_id: str, task_type: str, tool: str | None = None, *deps: str) -> PlanTask:
    return PlanTask(id=task_id, type=task_type, tool=tool, depends_on=deps)


GOLD = (
    _t("1", "metric_query", "metric_query"),
    _t("2", "doc_search", "doc_search"),
    _t("3", "chart", "chart", "1"),
    _t("4", "summarize", None, "1", "2"),
)


def test_identical_plan_with_other_ids_is_perfect() -> None:
    predicted = [
        _t("a", "summarize", None, "c", "b"),
        _t("b", "doc_search", "doc_search"),
        _t("c", "metric_query", "metric_query"),
        _t("d", "chart", "chart", "c"),
    ]
    scores = plan_scores(predicted, GOLD)
    assert (scores.node_f1, scores.edge_f1) == (1.0, 1.0)


def test_missing_node_loses_its_edges() -> None:
    predicted = [
        _t("1", "metric_query", "metric_query"),
        _t("3", "chart", "chart", "1"),
        _t("4", "summarize", None, "1"),
    ]
    scores = plan_scores(predicted, GOLD)
    assert scores.node_precision == 1.0
    assert scores.node_recall == 0.75
    assert scores.node_f1 == pytest.approx(6 / 7)
    assert scores.edge_precision == 1.0
    assert scores.edge_recall == pytest.approx(2 / 3)
    assert scores.edge_f1 == pytest.approx(0.8)


def test_wrong_edge_direction_and_extra_node() -> None:
    predicted = [
        _t("1", "metric_query", "metric_query", "3"),
        _t("2", "doc_search", "doc_search"),
        _t("3", "chart", "chart"),
        _t("4", "summarize", None, "1", "2"),
        _t("5", "web_search", "web_search"),
    ]
    scores = plan_scores(predicted, GOLD)
    assert scores.node_precision == 0.8
    assert scores.node_recall == 1.0
    assert scores.edge_precision == pytest.approx(2 / 3)
    assert scores.edge_recall == pytest.approx(2 / 3)


def test_nodes_match_by_tool_before_type() -> None:
    gold = [_t("1", "lookup", "metric_query")]
    assert plan_scores([_t("x", "anything", "metric_query")], gold).node_f1 == 1.0
    assert plan_scores([_t("x", "lookup", "doc_search")], gold).node_f1 == 0.0
    assert plan_scores([_t("x", "summarize")], [_t("1", "summarize")]).node_f1 == 1.0


def test_repeated_tools_count_as_a_multiset() -> None:
    gold = [_t("1", "q", "metric_query"), _t("2", "q", "metric_query"), _t("3", "c", "chart", "1", "2")]
    predicted = [_t("1", "q", "metric_query"), _t("3", "c", "chart", "1")]
    scores = plan_scores(predicted, gold)
    assert scores.node_recall == pytest.approx(2 / 3)
    assert scores.edge_recall == 0.5
    assert scores.edge_precision == 1.0


def test_edgeless_plans_and_empty_predictions() -> None:
    single = [_t("1", "metric_query", "metric_query")]
    assert plan_scores(single, single).edge_f1 == 1.0
    empty = plan_scores([], GOLD)
    assert (empty.node_precision, empty.node_recall, empty.node_f1, empty.edge_f1) == (0.0, 0.0, 0.0, 0.0)


def test_dangling_dependencies_in_a_prediction_are_ignored() -> None:
    predicted = [_t("1", "metric_query", "metric_query"), _t("3", "chart", "chart", "1", "ghost")]
    assert plan_scores(predicted, GOLD[:1] + GOLD[2:3]).edge_f1 == 1.0
