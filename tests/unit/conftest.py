"""Fixtures shared across the unit tests; a folder's own conftest may override them (graphs/ uses a bigger one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.warehouse import build_demo_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo warehouse (5,000 orders), built once per module."""
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=5_000, seed=7)
    return path
