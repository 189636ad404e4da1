from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

MINI_CATALOG = """\
version: 1
name: mini
warehouse:
  dialect: duckdb
  connection: mini.duckdb
  timezone: Asia/Shanghai
  reference_date: 2025-12-31
tables:
  - name: orders
    primary_key: [order_id]
    columns:
      - {name: order_id, type: BIGINT}
      - {name: user_id, type: BIGINT}
      - {name: city_id, type: INTEGER}
      - {name: order_date, type: DATE}
      - {name: status, type: VARCHAR, values: [completed, cancelled]}
      - {name: amount, type: 'DECIMAL(12,2)'}
  - name: cities
    primary_key: [city_id]
    columns:
      - {name: city_id, type: INTEGER}
      - {name: city_name, type: VARCHAR}
  - name: order_lines
    columns:
      - {name: order_id, type: BIGINT}
      - {name: quantity, type: INTEGER}
joins:
  - {left: orders.city_id, right: cities.city_id, cardinality: many_to_one}
  - {left: order_lines.order_id, right: orders.order_id, cardinality: many_to_one}
dimensions:
  - name: city
    label: {en: City, zh: 城市}
    synonyms: {en: [town], zh: [市]}
    table: cities
    sql: cities.city_name
  - name: order_date
    label: {en: Order date, zh: 下单日期}
    table: orders
    sql: orders.order_date
    type: time
    time_grains: [day, month]
metrics:
  - name: gmv
    label: {en: GMV, zh: 成交额}
    synonyms: {en: [sales], zh: [销售额]}
    description: Paid amount of orders not cancelled.
    table: orders
    sql: SUM(orders.amount)
    filter: orders.status <> 'cancelled'
    time_column: order_date
    dimensions: [city, order_date]
    unit: CNY
    format: currency
  - name: order_count
    label: {en: Orders, zh: 订单量}
    description: Orders not cancelled.
    table: orders
    sql: COUNT(orders.order_id)
    dimensions: [city]
  - name: aov
    label: {en: AOV, zh: 客单价}
    description: GMV per order.
    formula: gmv / order_count
examples:
  - question: 上个月的成交额？
    language: zh
    metrics: [gmv]
    sql: SELECT SUM(amount) FROM orders WHERE status <> 'cancelled'
"""


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "mini.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def mini() -> str:
    """The text of a small valid catalog."""
    return MINI_CATALOG
