"""Shared fixtures: the demo catalog (version 2), the same catalog as version 1, and a small demo warehouse."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from knowledge.warehouse import build_demo_warehouse


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())


def as_version_1(catalog: Catalog) -> Catalog:
    """The catalog written as a version 1 catalog: no conventions (growth in percent, buckets as dates)."""
    data = catalog.model_dump(exclude={"conventions", "attributes"})
    data["version"] = 1
    data["warehouse"]["reference_date"] = catalog.reference_date
    data["dimensions"] = [d for d in data["dimensions"] if not d["metric_time"]]
    data["examples"] = [{**e, "query": None} for e in data["examples"] if e["sql"] is not None]
    return Catalog.model_validate(data)


@pytest.fixture(scope="session")
def catalog_v1(catalog: Catalog) -> Catalog:
    return as_version_1(catalog)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path_factory.mktemp("metric_query") / "demo.duckdb"
    build_demo_warehouse(path, orders=20_000, seed=11)
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()
