from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.warehouse import build_demo_warehouse

SMALL_ORDERS = 20_000


@pytest.fixture(scope="session")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20k-order demo warehouse, built once per test session."""
    path = tmp_path_factory.mktemp("warehouse") / "demo.duckdb"
    build_demo_warehouse(path, orders=SMALL_ORDERS, seed=7)
    return path
