"""Recall@k, reciprocal rank and MRR."""

from __future__ import annotations

import pytest

from evals.scorers import mean_reciprocal_rank, recall_at_k, reciprocal_rank

RANKED = ["metric:aov", "dimension:region", "metric:gmv", "dimension:region", "metric:order_count"]


def test_recall_at_k() -> None:
    expected = ["metric:gmv", "dimension:region"]
    assert recall_at_k(expected, RANKED, 1) == 0.0
    assert recall_at_k(expected, RANKED, 2) == 0.5
    assert recall_at_k(expected, RANKED, 3) == 1.0
    assert recall_at_k(expected, RANKED, 100) == 1.0
    assert recall_at_k(["metric:gmv", "metric:gmv"], RANKED, 3) == 1.0
    assert recall_at_k(["metric:missing"], RANKED, 5) == 0.0
    assert recall_at_k(["metric:gmv"], [], 5) == 0.0


def test_recall_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        recall_at_k(["metric:gmv"], RANKED, 0)
    with pytest.raises(ValueError, match="expected is empty"):
        recall_at_k([], RANKED, 3)


def test_reciprocal_rank_uses_the_first_relevant_hit() -> None:
    assert reciprocal_rank(["metric:gmv"], RANKED) == pytest.approx(1 / 3)
    assert reciprocal_rank(["metric:gmv", "dimension:region"], RANKED) == 0.5
    assert reciprocal_rank(["metric:aov"], RANKED) == 1.0
    assert reciprocal_rank(["metric:missing"], RANKED) == 0.0


def test_mean_reciprocal_rank() -> None:
    queries = [(["metric:aov"], RANKED), (["metric:gmv"], RANKED), (["nope"], RANKED)]
    assert mean_reciprocal_rank(queries) == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert mean_reciprocal_rank([]) == 0.0
