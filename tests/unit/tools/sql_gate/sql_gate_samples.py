"""A small e-commerce allowlist and the corpus loader shared by the SQL gate tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.sql_gate import GateContext

CORPUS = Path(__file__).parent / "corpus"

SCHEMA: dict[str, dict[str, str]] = {
    "orders": {
        "id": "BIGINT",
        "user_id": "BIGINT",
        "channel_id": "INT",
        "city_id": "INT",
        "status": "VARCHAR",
        "amount": "DECIMAL(12, 2)",
        "discount": "DECIMAL(12, 2)",
        "created_at": "TIMESTAMP",
        "paid_at": "TIMESTAMP",
        "tenant_id": "INT",
    },
    "order_items": {
        "id": "BIGINT",
        "order_id": "BIGINT",
        "product_id": "BIGINT",
        "quantity": "INT",
        "unit_price": "DECIMAL(12, 2)",
        "tenant_id": "INT",
    },
    "users": {
        "id": "BIGINT",
        "name": "VARCHAR",
        "email": "VARCHAR",
        "phone": "VARCHAR",
        "city_id": "INT",
        "gender": "VARCHAR",
        "birth_year": "INT",
        "signup_at": "TIMESTAMP",
        "tenant_id": "INT",
    },
    "products": {
        "id": "BIGINT",
        "name": "VARCHAR",
        "category_id": "INT",
        "brand": "VARCHAR",
        "price": "DECIMAL(12, 2)",
        "launched_at": "DATE",
    },
    "categories": {"id": "INT", "name": "VARCHAR", "parent_id": "INT"},
    "regions": {"id": "INT", "region_name": "VARCHAR", "region_code": "VARCHAR"},
    "cities": {"id": "INT", "city_name": "VARCHAR", "region_id": "INT", "tier": "INT"},
    "channels": {"id": "INT", "channel_name": "VARCHAR", "kind": "VARCHAR"},
    "refunds": {
        "id": "BIGINT",
        "order_id": "BIGINT",
        "amount": "DECIMAL(12, 2)",
        "reason": "VARCHAR",
        "refunded_at": "TIMESTAMP",
        "tenant_id": "INT",
    },
}

# A few rows per table for execution tests: tenant 42 is in scope, tenant 7 is not.
ROWS: dict[str, list[tuple[object, ...]]] = {
    "orders": [
        (1, 1, 1, 1, "paid", 120.0, 0.0, "2024-01-03 10:00:00", "2024-01-03 11:00:00", 42),
        (2, 1, 2, 2, "refunded", 80.0, 5.0, "2024-02-10 09:00:00", "2024-02-11 09:00:00", 42),
        (3, 2, 1, 1, "paid", 1500.0, None, "2024-02-12 12:00:00", None, 42),
        (4, 3, 1, 2, "paid", 999.0, 0.0, "2024-02-12 12:00:00", "2024-02-12 13:00:00", 7),
        (5, 3, 2, 2, "paid", 999.0, 0.0, "2024-03-01 08:00:00", "2024-03-02 08:00:00", 7),
    ],
    "order_items": [(1, 1, 1, 2, 60.0, 42), (2, 3, 2, 1, 1500.0, 42), (3, 4, 1, 9, 111.0, 7)],
    "users": [
        (1, "张三", "a@example.com", "138", 1, "f", 1990, "2023-01-01 00:00:00", 42),
        (2, "Li Si", "b@example.com", "139", 2, "m", 1985, "2023-02-01 00:00:00", 42),
        (3, "Other", "c@example.com", "137", 2, "m", 1999, "2023-03-01 00:00:00", 7),
    ],
    "products": [(1, "手机", 1, "Huawei", 60.0, "2023-05-01"), (2, "Laptop", 2, "Apple", 1500.0, "2023-06-01")],
    "categories": [(1, "Phones", None), (2, "Computers", None)],
    "regions": [(1, "华东", "EAST"), (2, "华北", "NORTH")],
    "cities": [(1, "上海", 1, 1), (2, "北京", 2, 1)],
    "channels": [(1, "App", "online"), (2, "Store", "offline")],
    "refunds": [(1, 2, 80.0, "damaged", "2024-02-15 00:00:00", 42), (2, 5, 999.0, "late", "2024-03-05 00:00:00", 7)],
}

# Personal data exists in the schema but may not be read.
ALLOWED_COLUMNS = {"users": frozenset(SCHEMA["users"]) - {"email", "phone"}}

SCOPE_FILTERS = {
    "orders": "orders.tenant_id = 42",
    "order_items": "order_items.tenant_id = 42",
    "refunds": "tenant_id = 42",
}


def make_context(**overrides: Any) -> GateContext:
    settings: dict[str, Any] = {
        "schema": SCHEMA,
        "allowed_columns": ALLOWED_COLUMNS,
        "source_dialect": "duckdb",
        "target_dialect": "duckdb",
        "max_rows": 500,
        "scope_filters": SCOPE_FILTERS,
    }
    settings.update(overrides)
    return GateContext(**settings)


def load_corpus(name: str) -> list[dict[str, Any]]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def runs_on(case: dict[str, Any], target: str) -> bool:
    """Whether a valid case is expected to run on ``target``: a case may name its ``targets`` when it calls a
    function only one engine has (DuckDB ``arg_max``, PostgreSQL ``every``); by default it runs on both."""
    return target in case.get("targets", ("duckdb", "postgres"))
