"""Reading EXPLAIN plans: the largest step counts, and DuckDB's unestimated cross products are multiplied out."""

from __future__ import annotations

import pytest

from kubeai.errors import WarehouseError
from tools.warehouse import PlanEstimate
from tools.warehouse._estimate import check_estimate, duckdb_plan_rows, postgres_plan_rows


def _scan(rows: str) -> dict[str, object]:
    return {"name": "SEQ_SCAN", "children": [], "extra_info": {"Estimated Cardinality": rows}}


def test_duckdb_cross_product_without_an_estimate_is_the_product_of_its_inputs() -> None:
    plan = [
        {
            "name": "UNGROUPED_AGGREGATE",
            "extra_info": {"Estimated Cardinality": "1"},
            "children": [{"name": "CROSS_PRODUCT", "extra_info": {}, "children": [_scan("1000000"), _scan("220000")]}],
        }
    ]
    assert duckdb_plan_rows(plan) == 220_000_000_000


def test_duckdb_estimated_join_counts_as_given() -> None:
    plan = [{"name": "HASH_JOIN", "extra_info": {"Estimated Cardinality": "1221842"}, "children": [_scan("10")]}]
    assert duckdb_plan_rows(plan) == 1_221_842
    assert duckdb_plan_rows([]) == 0


def test_postgres_takes_the_largest_plan_rows_of_any_node() -> None:
    plan = [
        {
            "Plan": {
                "Node Type": "Aggregate",
                "Plan Rows": 1,
                "Plans": [{"Node Type": "Nested Loop", "Plan Rows": 282480000, "Plans": [{"Plan Rows": 1320}]}],
            }
        }
    ]
    assert postgres_plan_rows(plan) == 282_480_000


def test_check_estimate_refuses_only_over_the_bound() -> None:
    check_estimate(None, 10)
    check_estimate(PlanEstimate(rows=10, engine="DuckDB"), 10)
    check_estimate(PlanEstimate(rows=10**12, engine="DuckDB"), None)
    with pytest.raises(WarehouseError, match=r"^PostgreSQL estimates that this query builds about 11 rows in one step"):
        check_estimate(PlanEstimate(rows=11, engine="PostgreSQL"), 10)
