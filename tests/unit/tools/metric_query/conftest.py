"""Shared fixtures: the demo catalog and a small demo warehouse built once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from knowledge.warehouse import build_demo_warehouse


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path_factory.mktemp("metric_query") / "demo.duckdb"
    build_demo_warehouse(path, orders=20_000, seed=11)
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()
