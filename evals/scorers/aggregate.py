"""Latency and token aggregation: p50, p95, mean, min, max and totals over a run's items.

Percentiles use linear interpolation between closest ranks (numpy's default ``linear`` method): p50 of
``[1, 2, 3, 4]`` is 2.5. Missing or non-finite values are left out and counted in ``dropped``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Summary", "percentile", "sum_tokens", "summarize"]


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Distribution of one figure over items (seconds, tokens, ...).

    Attributes:
        count: Values summarised.
        dropped: Values left out (``None``, NaN, infinite).
        mean: Arithmetic mean (0.0 when empty).
        p50: Median (0.0 when empty).
        p95: 95th percentile (0.0 when empty).
        minimum: Smallest value (0.0 when empty).
        maximum: Largest value (0.0 when empty).
        total: Sum.
    """

    count: int
    dropped: int
    mean: float
    p50: float
    p95: float
    minimum: float
    maximum: float
    total: float


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile of finite values, by linear interpolation.

    Args:
        values: Numbers; ``None``-free and finite.
        q: Percentile in [0, 100].

    Returns:
        The percentile, 0.0 for no values.

    Raises:
        ValueError: ``q`` is outside [0, 100].
    """
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q}.")
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Iterable[float | None]) -> Summary:
    """Summarise a figure over items (latencies in seconds, token counts).

    Args:
        values: One value per item; ``None`` and non-finite values are dropped.

    Returns:
        Count, mean, p50, p95, min, max and total.
    """
    kept: list[float] = []
    dropped = 0
    for value in values:
        if value is None or not math.isfinite(value):
            dropped += 1
        else:
            kept.append(float(value))
    if not kept:
        return Summary(count=0, dropped=dropped, mean=0.0, p50=0.0, p95=0.0, minimum=0.0, maximum=0.0, total=0.0)
    total = math.fsum(kept)
    return Summary(
        count=len(kept),
        dropped=dropped,
        mean=total / len(kept),
        p50=percentile(kept, 50),
        p95=percentile(kept, 95),
        minimum=min(kept),
        maximum=max(kept),
        total=total,
    )


def sum_tokens(per_item: Iterable[Mapping[str, Mapping[str, int]]]) -> dict[str, int]:
    """Total token counts by kind over items whose tokens are reported per node.

    Args:
        per_item: For each item, ``{node: {"prompt_tokens": n, "completion_tokens": m, ...}}`` (the shape of
            ``MetricsResult.tokens``).

    Returns:
        ``{kind: total}`` over every node of every item, plus ``total_tokens`` when absent from the inputs.
    """
    totals: dict[str, int] = {}
    for item in per_item:
        for counts in item.values():
            for kind, count in counts.items():
                totals[kind] = totals.get(kind, 0) + int(count)
    if "total_tokens" not in totals:
        totals["total_tokens"] = sum(totals.values())
    return dict(sorted(totals.items()))
