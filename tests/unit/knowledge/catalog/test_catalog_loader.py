from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from knowledge.catalog import check_catalog, demo_catalog_path, load_catalog
from kubeai.errors import CatalogError


def test_mini_catalog_loads(write_catalog: Callable[[str], Path], mini: str) -> None:
    catalog = load_catalog(write_catalog(mini))
    assert catalog.name == "mini"
    assert catalog.reference_date == date(2025, 12, 31)
    assert [t.name for t in catalog.tables] == ["orders", "cities", "order_lines"]
    assert catalog.metric("aov") is not None
    assert catalog.metric("aov").is_derived
    assert catalog.metric_inputs("aov") == ("gmv", "order_count")
    # A derived metric without its own list allows what all of its inputs allow.
    assert catalog.allowed_dimensions("aov") == ("city",)
    assert catalog.dimension("order_date").time_grains == ("day", "month")  # type: ignore[union-attr]


def test_demo_catalog_loads_and_is_complete() -> None:
    catalog = load_catalog(demo_catalog_path())
    assert catalog.warehouse.dialect == "duckdb"
    assert catalog.reference_date == date(2025, 12, 31)
    assert len(catalog.metrics) >= 20
    assert len(catalog.dimensions) >= 10
    assert len(catalog.examples) >= 10
    languages = [e.language for e in catalog.examples]
    assert languages.count("zh") * 2 >= len(languages)
    assert sum(m.is_derived for m in catalog.metrics) >= 3
    for name in (
        "gmv",
        "order_count",
        "paying_users",
        "aov",
        "refund_amount",
        "refund_rate",
        "items_sold",
        "new_users",
        "repeat_purchase_rate",
        "avg_discount",
    ):
        assert catalog.metric(name) is not None, name
    assert catalog.metric("gmv").filter == "orders.status <> 'cancelled'"  # type: ignore[union-attr]
    for metric in catalog.metrics:
        assert metric.label.zh
        assert metric.label.en
        assert metric.synonyms.zh, metric.name
        assert metric.synonyms.en, metric.name
    time_dims = [d for d in catalog.dimensions if d.type == "time"]
    assert {"day", "week", "month", "quarter", "year"} <= set(time_dims[0].time_grains)


def test_every_problem_is_collected_and_the_first_is_raised(write_catalog: Callable[[str], Path], mini: str) -> None:
    text = mini.replace("sql: SUM(orders.amount)", "sql: SUM(orders.amount_usd)").replace(
        "dimensions: [city]", "dimensions: [planet]"
    )
    path = write_catalog(text)
    catalog, errors = check_catalog(path)
    assert catalog is not None
    assert [e.field for e in errors] == ["metrics[0].sql", "metrics[1].dimensions[0]"]
    assert [e.line for e in errors] == sorted(e.line or 0 for e in errors)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert info.value.field == "metrics[0].sql"
    assert str(info.value).endswith("(and 1 more problem).")


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="Cannot read catalog file"):
        load_catalog(tmp_path / "absent.yaml")


def test_anchors_and_aliases_are_allowed(write_catalog: Callable[[str], Path], mini: str) -> None:
    text = mini.replace("dimensions: [city, order_date]", "dimensions: &dims [city]").replace(
        "dimensions: [city]\n", "dimensions: *dims\n"
    )
    catalog = load_catalog(write_catalog(text))
    assert catalog.metric("order_count").dimensions == ("city",)  # type: ignore[union-attr]
