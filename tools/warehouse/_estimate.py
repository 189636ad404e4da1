"""Reading the engines' ``EXPLAIN (FORMAT JSON)`` plans, and the refusal for a query estimated too large."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kubeai.errors import WarehouseError
from tools.warehouse.base import PlanEstimate

__all__ = ["check_estimate", "duckdb_plan_rows", "postgres_plan_rows"]

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _number(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    match = _NUMBER.search(str(value)) if value is not None else None
    return float(match.group()) if match else None


def _duckdb_node(node: Mapping[str, Any]) -> tuple[float, float]:
    """(this node's estimated rows, the most rows of any node in its subtree)."""
    children = [_duckdb_node(child) for child in node.get("children") or ()]
    extra = node.get("extra_info")
    own = _number(extra.get("Estimated Cardinality")) if isinstance(extra, Mapping) else None
    if own is None:
        # DuckDB leaves some operators unestimated; a product's output is the product of its inputs.
        outputs = [rows for rows, _ in children]
        if "CROSS_PRODUCT" in str(node.get("name", "")).upper():
            own = math.prod(outputs) if outputs else 0.0
        else:
            own = max(outputs, default=0.0)
    return own, max([own, *(largest for _, largest in children)])


def duckdb_plan_rows(plan: Iterable[Mapping[str, Any]]) -> float:
    """The most rows any operator of a DuckDB ``EXPLAIN (FORMAT JSON)`` physical plan is estimated to produce."""
    return max((_duckdb_node(node)[1] for node in plan), default=0.0)


def _postgres_node(node: Mapping[str, Any]) -> float:
    own = _number(node.get("Plan Rows")) or 0.0
    return max([own, *(_postgres_node(child) for child in node.get("Plans") or ())])


def postgres_plan_rows(plan: Iterable[Mapping[str, Any]]) -> float:
    """The most ``Plan Rows`` of any node of a PostgreSQL ``EXPLAIN (FORMAT JSON)`` plan."""
    return max((_postgres_node(entry["Plan"]) for entry in plan if "Plan" in entry), default=0.0)


def check_estimate(estimate: PlanEstimate | None, max_estimated_rows: int | None) -> None:
    """Refuse a query whose estimate is over the bound; do nothing without an estimate or a bound.

    Raises:
        kubeai.errors.WarehouseError: One sentence naming the estimate, the bound and what to change.
    """
    if estimate is None or max_estimated_rows is None or estimate.rows <= max_estimated_rows:
        return
    raise WarehouseError(
        f"{estimate.engine} estimates that this query builds about {estimate.rows:,.0f} rows in one step, more "
        f"than warehouse.max_estimated_rows ({max_estimated_rows:,}), so it was not run; join every table on its "
        "key and filter before aggregating."
    )
