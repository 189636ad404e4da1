"""A tiny real DuckDB warehouse and SQLite database for the runner tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def duck_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import duckdb

    path = tmp_path_factory.mktemp("duck") / "shop.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute(
        "CREATE TABLE regions (region_id INTEGER, region_name VARCHAR);"
        "INSERT INTO regions VALUES (1, '华东'), (2, '华北'), (3, 'West');"
        "CREATE TABLE orders AS SELECT range AS order_id, 1 + range % 3 AS region_id,"
        " DATE '2024-01-01' + CAST(range % 60 AS INTEGER) AS order_date,"
        " CAST(10 + range % 7 AS DECIMAL(12, 2)) AS paid_amount FROM range(5000);"
    )
    conn.close()
    return path


@pytest.fixture(scope="module")
def sqlite_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE regions (region_id INTEGER, region_name TEXT);"
        "INSERT INTO regions VALUES (1, '华东'), (2, '华北'), (3, 'West');"
        "CREATE TABLE numbers (n INTEGER);"
        "WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 999)"
        " INSERT INTO numbers SELECT n FROM r;"
    )
    conn.commit()
    conn.close()
    return path
