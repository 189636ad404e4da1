"""Retrieval scores: recall@k and (mean) reciprocal rank of expected document ids in a ranked list.

* recall@k = |expected ∩ top k retrieved| / |expected| (duplicates in the ranking count once);
* reciprocal rank = 1 / rank of the first expected id in the ranking (1-based), 0.0 when none appears;
* MRR = the mean reciprocal rank over queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["mean_reciprocal_rank", "recall_at_k", "reciprocal_rank"]


def recall_at_k(expected: Iterable[str], retrieved: Sequence[str], k: int) -> float:
    """Share of the expected ids found in the first ``k`` retrieved.

    Args:
        expected: Ids that should be retrieved (at least one).
        retrieved: Retrieved ids, best first.
        k: Cut-off, at least 1.

    Returns:
        A value in [0, 1].

    Raises:
        ValueError: ``k`` is below 1 or ``expected`` is empty.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    wanted = set(expected)
    if not wanted:
        raise ValueError("expected is empty; every retrieval item needs at least one expected id.")
    return len(wanted & set(retrieved[:k])) / len(wanted)


def reciprocal_rank(expected: Iterable[str], retrieved: Sequence[str]) -> float:
    """``1 / rank`` of the first expected id in the ranking, 0.0 when none is retrieved.

    Args:
        expected: Relevant ids.
        retrieved: Retrieved ids, best first.

    Returns:
        A value in [0, 1].
    """
    wanted = set(expected)
    for rank, doc_id in enumerate(retrieved, start=1):
        if doc_id in wanted:
            return 1.0 / rank
    return 0.0


def mean_reciprocal_rank(queries: Iterable[tuple[Iterable[str], Sequence[str]]]) -> float:
    """Mean of :func:`reciprocal_rank` over ``(expected, retrieved)`` pairs; 0.0 for no queries.

    Args:
        queries: One ``(expected ids, retrieved ids)`` pair per query.

    Returns:
        A value in [0, 1].
    """
    ranks = [reciprocal_rank(expected, retrieved) for expected, retrieved in queries]
    return sum(ranks) / len(ranks) if ranks else 0.0
