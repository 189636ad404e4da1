"""Latency and token aggregation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.scorers import percentile, sum_tokens, summarize


def test_percentiles_match_numpy_linear_interpolation() -> None:
    values = [0.8, 0.1, 5.0, 2.2, 0.4, 0.4, 9.9, 1.0, 3.3]
    for q in (0, 5, 50, 90, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([], 95) == 0.0
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_summarize_drops_missing_and_non_finite_values() -> None:
    summary = summarize([1.0, None, 3.0, math.nan, 2.0, math.inf])
    assert summary.count == 3
    assert summary.dropped == 3
    assert summary.mean == 2.0
    assert summary.p50 == 2.0
    assert summary.p95 == pytest.approx(2.9)
    assert (summary.minimum, summary.maximum, summary.total) == (1.0, 3.0, 6.0)


def test_summarize_empty() -> None:
    summary = summarize([])
    assert (summary.count, summary.dropped, summary.mean, summary.p95) == (0, 0, 0.0, 0.0)


def test_sum_tokens_over_nodes_and_items() -> None:
    items = [
        {"generate": {"prompt_tokens": 100, "completion_tokens": 20}, "understand": {"prompt_tokens": 50}},
        {"generate": {"prompt_tokens": 10, "completion_tokens": 5}},
        {},
    ]
    assert sum_tokens(items) == {"completion_tokens": 25, "prompt_tokens": 160, "total_tokens": 185}
    assert sum_tokens([{"n": {"total_tokens": 7, "prompt_tokens": 5}}]) == {"prompt_tokens": 5, "total_tokens": 7}
    assert sum_tokens([]) == {"total_tokens": 0}
