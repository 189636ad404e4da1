"""Abstention precision, recall and F1 over items."""

from __future__ import annotations

import pytest

from evals.scorers import abstention_scores


def test_counts_and_scores() -> None:
    expected = [True, True, False, False, True]
    abstained = [True, False, True, False, True]
    scores = abstention_scores(expected, abstained)
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == (2, 1, 1)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 / 3)


def test_never_abstaining_scores_zero_recall_but_vacuous_precision() -> None:
    scores = abstention_scores([True, False], [False, False])
    assert scores.precision == 1.0
    assert scores.recall == 0.0
    assert scores.f1 == 0.0


def test_always_abstaining() -> None:
    scores = abstention_scores([True, False, False, False], [True, True, True, True])
    assert scores.precision == 0.25
    assert scores.recall == 1.0
    assert scores.f1 == pytest.approx(0.4)


def test_nothing_to_abstain_on_and_no_abstention_is_perfect() -> None:
    scores = abstention_scores([False, False], [False, False])
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)


def test_all_wrong_is_zero() -> None:
    scores = abstention_scores([True, False], [False, True])
    assert (scores.precision, scores.recall, scores.f1) == (0.0, 0.0, 0.0)


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="one per item"):
        abstention_scores([True], [True, False])
