"""knowledge.catalog.join_path: the many_to_one path a metric's base table reaches a dimension's table by."""

from __future__ import annotations

from typing import Any

from knowledge.catalog import Catalog, JoinStep, join_path, reachable_tables


def test_path_follows_many_to_one_joins_in_order(catalog: Catalog) -> None:
    assert join_path(catalog, "order_items", "regions") == (
        JoinStep(table="orders", from_column="order_items.order_id", to_column="orders.order_id"),
        JoinStep(table="cities", from_column="orders.city_id", to_column="cities.city_id"),
        JoinStep(table="regions", from_column="cities.region_id", to_column="regions.region_id"),
    )
    assert join_path(catalog, "orders", "orders") == ()


def test_no_path_against_the_grain(catalog: Catalog) -> None:
    assert join_path(catalog, "orders", "categories") is None  # orders -> order_items is one_to_many
    assert join_path(catalog, "users", "orders") is None
    assert join_path(catalog, "orders", "refunds") is None


def test_reachable_tables_match_the_paths(catalog: Catalog) -> None:
    assert reachable_tables(catalog, "refunds") == {"refunds", "orders", "cities", "regions", "channels", "users"}
    for start in (t.name for t in catalog.tables):
        for end in (t.name for t in catalog.tables):
            assert (join_path(catalog, start, end) is not None) == (end in reachable_tables(catalog, start))


def test_one_to_many_is_read_right_to_left_and_one_to_one_both_ways(catalog: Catalog) -> None:
    data: dict[str, Any] = catalog.model_dump()
    data["joins"] = [
        {"left": "cities.city_id", "right": "orders.city_id", "cardinality": "one_to_many"},
        {"left": "regions.region_id", "right": "cities.region_id", "cardinality": "one_to_many"},
        {"left": "orders.user_id", "right": "users.user_id", "cardinality": "one_to_one"},
    ]
    flipped = Catalog.model_validate(data)
    assert [s.table for s in join_path(flipped, "orders", "regions") or ()] == ["cities", "regions"]
    assert join_path(flipped, "regions", "orders") is None
    assert [s.to_column for s in join_path(flipped, "users", "orders") or ()] == ["orders.user_id"]
