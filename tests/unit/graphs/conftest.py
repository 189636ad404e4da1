"""Fixtures the graph tests share: the demo catalog and a small demo warehouse built once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from knowledge.warehouse import build_demo_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=20_000, seed=7)
    return path


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())
