"""The eval gate: step scores from the harness's item records, and the decision to promote an adapter or not."""

from __future__ import annotations

from typing import Any

import pytest

from finetune.gate import PlanScore, StepScore, gate_decision, plan_score, planning_gate_decision, step_score


def record(
    *,
    correct: bool,
    language: str = "en",
    expect_abstention: bool = False,
    abstained: bool = False,
    latency_s: float | None = 1.0,
    error: str | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "correct": correct,
        "language": language,
        "expect_abstention": expect_abstention,
        "abstained": abstained,
    }
    if latency_s is not None:
        row["latency_s"] = latency_s
    if error is not None:
        row["error"] = error
    return row


def scored(step: str, *, correct: int, items: int = 20, false_abstentions: int = 0) -> StepScore:
    """A step with ``correct`` right answers of ``items``; the first wrong ones are false abstentions."""
    wrong = items - correct
    assert false_abstentions <= wrong
    rows = [record(correct=True) for _ in range(correct)]
    rows += [record(correct=False, abstained=i < false_abstentions) for i in range(wrong)]
    return step_score(step, rows)


# --- step_score ---------------------------------------------------------------------------------------------------


def test_step_score_counts_accuracy_per_language_abstentions_and_latency() -> None:
    rows = [
        record(correct=True, language="en", latency_s=1.0),
        record(correct=True, language="en", latency_s=2.0),
        record(correct=False, language="en", abstained=True, latency_s=3.0),  # a false abstention
        record(correct=True, language="zh", latency_s=4.0),
        record(correct=False, language="zh", latency_s=5.0, error="timeout"),
        # Unanswerable questions: one rightly declined, one answered anyway.
        record(correct=True, language="zh", expect_abstention=True, abstained=True, latency_s=6.0),
        record(correct=False, language="en", expect_abstention=True, abstained=False, latency_s=7.0),
    ]
    score = step_score("rag_lora", rows)
    assert score.step == "rag_lora"
    assert (score.items, score.correct) == (7, 4)
    assert score.accuracy == pytest.approx(4 / 7)
    assert score.en == pytest.approx(2 / 4)
    assert score.zh == pytest.approx(2 / 3)
    assert score.false_abstentions == 1
    assert score.abstention_recall == pytest.approx(1 / 2)
    assert score.p50_latency_s == pytest.approx(4.0)
    assert score.errors == 1
    assert score.to_json()["false_abstentions"] == 1


def test_step_score_without_a_language_unanswerables_or_latencies_says_none() -> None:
    score = step_score("prompt", [record(correct=True, latency_s=None), record(correct=False, latency_s=None)])
    assert score.accuracy == pytest.approx(0.5)
    assert score.en == pytest.approx(0.5)
    assert score.zh is None
    assert score.abstention_recall is None
    assert score.p50_latency_s is None
    assert score.errors == 0


def test_step_score_of_no_records_is_zero_not_an_error() -> None:
    score = step_score("rag", [])
    assert (score.items, score.correct, score.accuracy) == (0, 0, 0.0)
    assert score.en is None and score.zh is None


# --- gate_decision ------------------------------------------------------------------------------------------------


def test_gate_passes_a_candidate_that_beats_the_incumbent_by_the_margin() -> None:
    decision = gate_decision(scored("rag_lora", correct=16), scored("rag", correct=14), margin=0.05)
    assert decision.passed
    assert "80.0% vs 70.0%" in decision.reason
    data = decision.to_json()
    assert data["passed"] is True and data["margin"] == 0.05
    assert data["candidate"]["accuracy"] == pytest.approx(0.8)
    assert data["incumbent"]["accuracy"] == pytest.approx(0.7)


def test_gate_passes_a_gain_exactly_at_the_margin() -> None:
    # 0.70 - 0.65 is 0.04999... in floating point: the gate must not fail it on rounding.
    assert 14 / 20 - 13 / 20 < 0.05
    assert gate_decision(scored("rag_lora", correct=14), scored("rag", correct=13), margin=0.05).passed


def test_gate_fails_a_gain_below_the_margin() -> None:
    decision = gate_decision(scored("rag_lora", correct=15), scored("rag", correct=14), margin=0.1)
    assert not decision.passed
    assert "below the 10% margin" in decision.reason


def test_gate_fails_a_candidate_that_does_worse() -> None:
    assert not gate_decision(scored("rag_lora", correct=10), scored("rag", correct=14), margin=0.0).passed


def test_gate_fails_extra_false_abstentions_even_with_a_gain() -> None:
    candidate = scored("rag_lora", correct=18, false_abstentions=2)
    incumbent = scored("rag", correct=14, false_abstentions=1)
    decision = gate_decision(candidate, incumbent, margin=0.05)
    assert not decision.passed
    assert "1 more false abstentions" in decision.reason
    assert gate_decision(candidate, incumbent, margin=0.05, max_false_abstentions=1).passed


def test_gate_fails_scores_from_different_question_sets() -> None:
    decision = gate_decision(scored("rag_lora", correct=19, items=20), scored("rag", correct=1, items=10), margin=0.0)
    assert not decision.passed
    assert "different question sets (20 vs 10 items)" in decision.reason


def plan_record(node: float, edge: float, *, valid: bool = True, gold_edges: int = 1) -> dict[str, Any]:
    return {"node_f1": node, "edge_f1": edge, "valid_plan": valid, "gold_edges": gold_edges}


def test_a_plan_score_averages_node_f1_over_all_requests_and_edge_f1_over_those_with_edges() -> None:
    records = [plan_record(1.0, 1.0, gold_edges=0), plan_record(0.5, 0.25), plan_record(0.0, 0.75, valid=False)]
    score = plan_score("planning", records)
    assert (score.items, score.node_f1, score.valid_plan) == (3, pytest.approx(0.5), pytest.approx(2 / 3))
    assert score.edge_f1 == pytest.approx(0.5), "a one-task gold graph scores 1.0 for any edgeless plan: left out"


def scores(**figures: tuple[float, float]) -> list[PlanScore]:
    return [PlanScore(dataset=name, items=10, node_f1=n, edge_f1=e, valid_plan=1.0) for name, (n, e) in figures.items()]


BASE = scores(planning=(0.55, 0.25), planning_heldout=(0.65, 0.33))


def test_a_planning_adapter_that_gains_on_every_set_passes() -> None:
    better = scores(planning=(0.9, 0.7), planning_heldout=(0.8, 0.5))
    decision = planning_gate_decision(better, BASE, margin=0.05)
    assert decision.passed and "no drop" in decision.reason
    data = decision.to_json()
    assert data["candidate"][0]["node_f1"] == 0.9 and data["incumbent"][1]["edge_f1"] == 0.33


def test_a_drop_on_any_set_blocks_promotion_whatever_the_gain_elsewhere() -> None:
    lopsided = scores(planning=(0.99, 0.95), planning_heldout=(0.66, 0.30))  # learned the templates
    decision = planning_gate_decision(lopsided, BASE, margin=0.05)
    assert not decision.passed
    assert decision.reason.startswith("edge F1 on planning_heldout fell from 0.330 to 0.300")
    assert planning_gate_decision(lopsided, BASE, margin=0.05, max_regression=0.05).passed, "within the allowance"


def test_a_gain_below_the_margin_or_different_sets_do_not_pass() -> None:
    level = scores(planning=(0.56, 0.26), planning_heldout=(0.66, 0.34))
    decision = planning_gate_decision(level, BASE, margin=0.05)
    assert not decision.passed and "below the 0.050 margin" in decision.reason
    assert planning_gate_decision(level, BASE, margin=0.0).passed
    fewer = [PlanScore(dataset="planning", items=5, node_f1=1.0, edge_f1=1.0, valid_plan=1.0)]
    assert not planning_gate_decision(fewer, BASE, margin=0.0).passed
    assert not planning_gate_decision([], [], margin=0.0).passed
