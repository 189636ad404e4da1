"""One small broken catalog per kind of problem; each error must name the file, the line and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from knowledge.catalog import load_catalog
from kubeai.errors import CatalogError

# (id, text to replace, replacement, text on the line the error must point at, field, words in the message)
CASES = [
    (
        "unknown-column",
        "sql: SUM(orders.amount)",
        "sql: SUM(orders.amount_usd)",
        "SUM(orders.amount_usd)",
        "metrics[0].sql",
        "column `amount_usd` is not declared in table `orders`",
    ),
    (
        "unknown-table-in-sql",
        "sql: SUM(orders.amount)",
        "sql: SUM(payments.amount)",
        "SUM(payments.amount)",
        "metrics[0].sql",
        "table `payments` is not declared",
    ),
    (
        "sql-does-not-parse",
        "sql: SUM(orders.amount)",
        "sql: SUM(orders.amount",
        "SUM(orders.amount",
        "metrics[0].sql",
        "does not parse in dialect duckdb",
    ),
    (
        "sql-not-aggregated",
        "sql: SUM(orders.amount)",
        "sql: orders.amount",
        "sql: orders.amount",
        "metrics[0].sql",
        "must aggregate",
    ),
    (
        "sql-is-a-query",
        "sql: SUM(orders.amount)",
        "sql: (SELECT SUM(amount) FROM orders)",
        "(SELECT SUM",
        "metrics[0].sql",
        "not a query",
    ),
    (
        "filter-fans-out",
        "filter: orders.status <> 'cancelled'",
        "filter: order_lines.quantity > 1",
        "order_lines.quantity > 1",
        "metrics[0].filter",
        "cannot be reached from `orders`",
    ),
    (
        "time-column-not-a-date",
        "time_column: order_date",
        "time_column: status",
        "time_column: status",
        "metrics[0].time_column",
        "not a date or timestamp",
    ),
    (
        "time-column-unknown",
        "time_column: order_date",
        "time_column: paid_at",
        "time_column: paid_at",
        "metrics[0].time_column",
        "column `paid_at` is not declared in table `orders`",
    ),
    (
        "metric-unknown-dimension",
        "dimensions: [city]\n",
        "dimensions: [planet]\n",
        "dimensions: [planet]",
        "metrics[1].dimensions[0]",
        "dimension `planet` is not declared",
    ),
    (
        "metric-dimension-unreachable",
        ("dimensions: [city, order_date]", "metrics:\n"),
        (
            "dimensions: [city, order_date, line_size]",
            "  - name: line_size\n    label: {en: Line size, zh: 件数}\n    table: order_lines\n"
            "    sql: order_lines.quantity\nmetrics:\n",
        ),
        "dimensions: [city, order_date, line_size]",
        "metrics[0].dimensions[2]",
        "dimension `line_size` lives in table `order_lines`, which cannot be reached from `orders`",
    ),
    (
        "dimension-other-table",
        "sql: cities.city_name",
        "sql: orders.status",
        "sql: orders.status",
        "dimensions[0].sql",
        "table `orders` cannot be reached from `cities`",
    ),
    (
        "dimension-aggregates",
        "sql: cities.city_name",
        "sql: MAX(cities.city_name)",
        "MAX(cities.city_name)",
        "dimensions[0].sql",
        "must not aggregate",
    ),
    (
        "time-dimension-without-grains",
        "    time_grains: [day, month]\n",
        "",
        "  - name: order_date",
        "dimensions[1]",
        "needs time_grains",
    ),
    (
        "join-unknown-column",
        "{left: orders.city_id, right: cities.city_id",
        "{left: orders.town_id, right: cities.city_id",
        "orders.town_id",
        "joins[0].left",
        "column `town_id` is not declared in table `orders`",
    ),
    (
        "join-cycle",
        "joins:\n",
        "joins:\n  - {left: order_lines.order_id, right: cities.city_id, cardinality: many_to_one}\n",
        "order_lines.order_id, right: orders.order_id",
        "joins[2]",
        "closes a cycle",
    ),
    (
        "join-bad-cardinality",
        "right: cities.city_id, cardinality: many_to_one",
        "right: cities.city_id, cardinality: many_to_many",
        "cardinality: many_to_many",
        "joins[0].cardinality",
        "many_to_many",
    ),
    (
        "derived-unknown-metric",
        "formula: gmv / order_count",
        "formula: gmv / visits",
        "gmv / visits",
        "metrics[2].formula",
        "metric `visits` is not declared",
    ),
    (
        "derived-cycle",
        ("formula: gmv / order_count", "examples:\n"),
        (
            "formula: gmv / aov2",
            "  - name: aov2\n    label: {en: A2, zh: 二}\n    description: Loop.\n    formula: aov * 2\nexamples:\n",
        ),
        "gmv / aov2",
        "metrics[2].formula",
        "depends on itself",
    ),
    (
        "derived-not-arithmetic",
        "formula: gmv / order_count",
        "formula: LOG(gmv)",
        "LOG(gmv)",
        "metrics[2].formula",
        "may only combine metric names",
    ),
    (
        "derived-with-sql",
        "    formula: gmv / order_count\n",
        "    formula: gmv / order_count\n    table: orders\n",
        "  - name: aov",
        "metrics[2]",
        "cannot also have table",
    ),
    (
        "metric-without-sql",
        "    sql: COUNT(orders.order_id)\n",
        "",
        "  - name: order_count",
        "metrics[1]",
        "needs either table and sql",
    ),
    (
        "duplicate-metric",
        "  - name: order_count\n",
        "  - name: gmv\n",
        "  - name: gmv\n    label: {en: Orders",
        "metrics[1].name",
        "metric `gmv` is declared twice",
    ),
    (
        "duplicate-dimension",
        "  - name: order_date\n",
        "  - name: city\n",
        "  - name: city\n    label: {en: Order",
        "dimensions[1].name",
        "dimension `city` is declared twice",
    ),
    (
        "duplicate-table",
        "  - name: order_lines\n",
        "  - name: cities\n",
        "  - name: cities\n    columns:\n      - {name: order_id",
        "tables[2].name",
        "table `cities` is declared twice",
    ),
    (
        "duplicate-column",
        "{name: user_id, type: BIGINT}",
        "{name: order_id, type: INTEGER}",
        "{name: order_id, type: INTEGER}",
        "tables[0].columns[1].name",
        "`order_id` is declared twice",
    ),
    (
        "bad-column-type",
        "{name: user_id, type: BIGINT}",
        "{name: user_id, type: 'BIG INT TEGER ('}",
        "BIG INT TEGER",
        "tables[0].columns[1].type",
        "is not a SQL type",
    ),
    (
        "primary-key-unknown",
        "primary_key: [order_id]",
        "primary_key: [id]",
        "primary_key: [id]",
        "tables[0].primary_key[0]",
        "primary key column `id`",
    ),
    (
        "unknown-dialect",
        "dialect: duckdb",
        "dialect: excel",
        "dialect: excel",
        "warehouse.dialect",
        "unknown SQL dialect 'excel'",
    ),
    (
        "unknown-timezone",
        "timezone: Asia/Shanghai",
        "timezone: Mars/Olympus",
        "timezone: Mars",
        "warehouse.timezone",
        "unknown timezone",
    ),
    (
        "bad-reference-date",
        "reference_date: 2025-12-31",
        "reference_date: last tuesday",
        "reference_date:",
        "warehouse.reference_date",
        "date",
    ),
    (
        "missing-required-field",
        "    label: {en: GMV, zh: 成交额}\n",
        "",
        "  - name: gmv",
        "metrics[0].label",
        "required field `label` is missing",
    ),
    ("unknown-field", "    unit: CNY\n", "    units: CNY\n", "units: CNY", "metrics[0].units", "unknown field `units`"),
    (
        "bad-name",
        "  - name: order_count\n",
        "  - name: Order Count\n",
        "name: Order Count",
        "metrics[1].name",
        "should match pattern",
    ),
    (
        "example-sql-does-not-parse",
        "sql: SELECT SUM(amount) FROM orders WHERE status <> 'cancelled'",
        "sql: SELECT SUM(amount FROM orders",
        "SELECT SUM(amount FROM",
        "examples[0].sql",
        "does not parse",
    ),
    (
        "example-unknown-column",
        "sql: SELECT SUM(amount) FROM orders WHERE status <> 'cancelled'",
        "sql: SELECT SUM(amount_usd) FROM orders",
        "SUM(amount_usd)",
        "examples[0].sql",
        "amount_usd",
    ),
    (
        "example-unknown-table",
        "sql: SELECT SUM(amount) FROM orders WHERE status <> 'cancelled'",
        "sql: SELECT SUM(amount) FROM payments",
        "FROM payments",
        "examples[0].sql",
        "table `payments` is not declared",
    ),
    (
        "example-not-a-select",
        "sql: SELECT SUM(amount) FROM orders WHERE status <> 'cancelled'",
        "sql: DELETE FROM orders",
        "DELETE FROM orders",
        "examples[0].sql",
        "exactly one SELECT",
    ),
    (
        "example-unknown-metric",
        "    metrics: [gmv]\n    sql: SELECT",
        "    metrics: [visits]\n    sql: SELECT",
        "metrics: [visits]",
        "examples[0].metrics[0]",
        "metric `visits` is not declared",
    ),
    (
        "duplicate-key",
        "    table: orders\n    sql: SUM(orders.amount)\n",
        "    table: orders\n    sql: SUM(orders.amount)\n    sql: SUM(orders.amount)\n",
        "sql: SUM(orders.amount)\n    filter",
        "metrics[0].sql",
        "appears twice",
    ),
]


def _line_of(text: str, marker: str) -> int:
    return text.count("\n", 0, text.index(marker)) + 1


@pytest.mark.parametrize("case", [pytest.param(c[1:], id=c[0]) for c in CASES])
def test_error_names_file_line_and_field(
    write_catalog: Callable[[str], Path], mini: str, case: tuple[Any, str, str, str, str]
) -> None:
    old, new, marker, field, words = case
    text = mini
    for before, after in zip(
        (old,) if isinstance(old, str) else old, (new,) if isinstance(new, str) else new, strict=True
    ):
        assert before in text, "the case no longer applies to the sample catalog"
        text = text.replace(before, after, 1)
    path = write_catalog(text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    error = info.value
    line = _line_of(text, marker)
    message = str(error)
    assert message.startswith(f"mini.yaml line {line}, {field}: "), message
    assert words in message
    assert message.endswith(".")
    assert "\n" not in message
    assert (error.file, error.line, error.field) == (str(path), line, field)


def _raises_clearly(path: Path, words: str) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert words in message, message
    assert "mini.yaml" in message
    assert "\n" not in message
    return info.value


def test_malformed_yaml(write_catalog: Callable[[str], Path], mini: str) -> None:
    text = mini.replace("  dialect: duckdb\n", "  dialect: [duckdb\n")
    error = _raises_clearly(write_catalog(text), "is not valid YAML")
    assert error.line is not None
    assert abs(error.line - _line_of(text, "dialect: [duckdb")) <= 1


def test_empty_file(write_catalog: Callable[[str], Path]) -> None:
    _raises_clearly(write_catalog("# nothing here\n"), "is empty")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    _raises_clearly(path, "binary")


def test_non_utf8_file(tmp_path: Path, mini: str) -> None:
    path = tmp_path / "mini.yaml"
    path.write_bytes(mini.encode("gb18030"))
    error = _raises_clearly(path, "is not UTF-8")
    assert error.line == _line_of(mini, "城市")


def test_top_level_not_a_mapping(write_catalog: Callable[[str], Path]) -> None:
    _raises_clearly(write_catalog("- just\n- a list\n"), "must hold a mapping")


def test_python_tags_are_refused(write_catalog: Callable[[str], Path], mini: str) -> None:
    text = mini.replace("name: mini\n", "name: !!python/object/apply:os.system ['true']\n")
    _raises_clearly(write_catalog(text), "is not valid YAML")


def test_alias_bomb_is_refused(write_catalog: Callable[[str], Path]) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    _raises_clearly(write_catalog("\n".join(lines) + "\n"), "expands to")
