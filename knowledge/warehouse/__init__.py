"""Warehouses the agents query: the seeded demo e-commerce and logistics warehouses in DuckDB."""

from __future__ import annotations

from knowledge.warehouse.demo import DEMO_END, DEMO_START, DemoWarehouseReport, build_demo_warehouse
from knowledge.warehouse.logistics import (
    LOGISTICS_END,
    LOGISTICS_START,
    LogisticsWarehouseReport,
    build_logistics_warehouse,
)

__all__ = [
    "DEMO_END",
    "DEMO_START",
    "LOGISTICS_END",
    "LOGISTICS_START",
    "DemoWarehouseReport",
    "LogisticsWarehouseReport",
    "build_demo_warehouse",
    "build_logistics_warehouse",
]
