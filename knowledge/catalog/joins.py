"""Join paths through a catalog that never multiply the rows of the table they start from.

A metric aggregates rows of its base table; joining a table that has several rows per base row would count
them several times. Only ``many_to_one`` joins (read left to right), their reverse ``one_to_many`` joins (read
right to left) and ``one_to_one`` joins keep the row count, so those are the only edges followed here. The
loader rejects join cycles, so between two tables there is at most one such path.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from knowledge.catalog.models import Catalog

__all__ = ["JoinStep", "join_path", "reachable_tables"]


@dataclass(frozen=True, kw_only=True)
class JoinStep:
    """One join on a path: ``table`` is joined to the tables before it on ``from_column = to_column``.

    Attributes:
        table: The table this step adds.
        from_column: ``table.column`` on the side already joined.
        to_column: ``table.column`` on the added table.
        join_type: ``left`` (a row without a match still counts) or ``inner``, as the catalog declares it.
    """

    table: str
    from_column: str
    to_column: str
    join_type: Literal["left", "inner"] = "left"


def _edges(catalog: Catalog) -> dict[str, list[JoinStep]]:
    edges: dict[str, list[JoinStep]] = {}
    for join in catalog.joins:
        if join.cardinality in ("many_to_one", "one_to_one"):
            step = JoinStep(table=join.right_table, from_column=join.left, to_column=join.right, join_type=join.type)
            edges.setdefault(join.left_table, []).append(step)
        if join.cardinality in ("one_to_many", "one_to_one"):
            step = JoinStep(table=join.left_table, from_column=join.right, to_column=join.left, join_type=join.type)
            edges.setdefault(join.right_table, []).append(step)
    return edges


def _search(catalog: Catalog, start: str) -> dict[str, JoinStep | None]:
    """Breadth-first search from ``start``: every reachable table and the step that reached it."""
    edges = _edges(catalog)
    came_by: dict[str, JoinStep | None] = {start: None}
    queue = deque([start])
    while queue:
        for step in edges.get(queue.popleft(), []):
            if step.table not in came_by:
                came_by[step.table] = step
                queue.append(step.table)
    return came_by


def reachable_tables(catalog: Catalog, start: str) -> set[str]:
    """Tables joinable to ``start`` without multiplying its rows, ``start`` included.

    Args:
        catalog: The catalog whose joins are followed.
        start: The table to start from, e.g. a metric's base table.

    Returns:
        The names of the reachable tables.
    """
    return set(_search(catalog, start))


def join_path(catalog: Catalog, from_table: str, to_table: str) -> tuple[JoinStep, ...] | None:
    """The joins that bring ``to_table`` next to ``from_table`` without multiplying ``from_table``'s rows.

    Args:
        catalog: The catalog whose joins are followed.
        from_table: The table the query starts from (a metric's base table).
        to_table: The table to reach (a dimension's table).

    Returns:
        The steps in order (empty when both are the same table), or ``None`` when ``to_table`` can only be
        reached through a join that would multiply rows, or not at all.
    """
    came_by = _search(catalog, from_table)
    if to_table not in came_by:
        return None
    steps: list[JoinStep] = []
    current = to_table
    while (step := came_by[current]) is not None:
        steps.append(step)
        current = step.from_column.split(".", 1)[0]
    return tuple(reversed(steps))
