"""Warehouses the agents query; for now the seeded demo e-commerce warehouse in DuckDB."""

from __future__ import annotations

from knowledge.warehouse.demo import DEMO_END, DEMO_START, DemoWarehouseReport, build_demo_warehouse

__all__ = ["DEMO_END", "DEMO_START", "DemoWarehouseReport", "build_demo_warehouse"]
