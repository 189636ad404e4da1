"""Abstention precision, recall and F1: does the agent decline exactly the questions it cannot answer?

An item is a positive when the dataset expects abstention (``expect_abstention``). Over a list of items:

* precision = abstentions on items that expected one / all abstentions;
* recall = abstentions on items that expected one / items that expected one;
* F1 = their harmonic mean.

An empty denominator gives 1.0 (no abstention made, none wrong; nothing to find, nothing missed); F1 is 0.0 when
precision and recall are both 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["AbstentionScores", "abstention_scores"]


@dataclass(frozen=True, kw_only=True)
class AbstentionScores:
    """Abstention precision, recall and F1 with their counts.

    Attributes:
        precision: Share of abstentions that were expected.
        recall: Share of expected abstentions that happened.
        f1: Harmonic mean of precision and recall.
        true_positives: Abstained where expected.
        false_positives: Abstained on an answerable item.
        false_negatives: Answered an item that expected abstention.
    """

    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int


def abstention_scores(expected: Sequence[bool], abstained: Sequence[bool]) -> AbstentionScores:
    """Score abstentions over items.

    Args:
        expected: Per item, whether the dataset expects the agent to abstain.
        abstained: Per item, whether the agent abstained.

    Returns:
        Precision, recall, F1 and the counts behind them.

    Raises:
        ValueError: The two sequences differ in length.
    """
    if len(expected) != len(abstained):
        raise ValueError(f"expected has {len(expected)} items but abstained has {len(abstained)}; pass one per item.")
    tp = sum(1 for e, a in zip(expected, abstained, strict=True) if e and a)
    fp = sum(1 for e, a in zip(expected, abstained, strict=True) if a and not e)
    fn = sum(1 for e, a in zip(expected, abstained, strict=True) if e and not a)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return AbstentionScores(
        precision=precision, recall=recall, f1=f1, true_positives=tp, false_positives=fp, false_negatives=fn
    )
