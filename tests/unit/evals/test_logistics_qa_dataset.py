"""The bundled logistics QA set: balanced, its catalog validates, every gold_sql passes the gate and returns rows.

The logistics warehouse is built once for the module with 40k shipments and the default seed (under a second).
Every gold_query names only what the logistics catalog declares; whether it reproduces the gold is the ceiling's
business (``evals.ceiling``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals import MetricsQAItem, load_dataset, normalize_sql
from knowledge.catalog import Catalog, catalog_entries, check_catalog, load_catalog
from knowledge.warehouse.bundled import bundled_domain
from knowledge.warehouse.logistics import build_logistics_warehouse
from tools.sql_gate import GateContext, check_sql

DATASET = load_dataset(Path(__file__).parents[3] / "evals" / "datasets" / "logistics_qa")
ITEMS = DATASET.items_of(MetricsQAItem)
ANSWERABLE = [item for item in ITEMS if not item.expect_abstention]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    path = DATASET.catalog_path()
    assert path is not None
    return load_catalog(path)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import duckdb

    path = tmp_path_factory.mktemp("logistics_qa") / "logistics.duckdb"
    build_logistics_warehouse(path, shipments=40_000)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def test_the_manifest_names_the_bundled_logistics_catalog_and_warehouse(tmp_path: Path) -> None:
    assert DATASET.manifest.catalog == DATASET.manifest.warehouse == "logistics"
    assert DATASET.catalog_path() == bundled_domain("logistics").catalog_path()
    assert DATASET.warehouse_location() == "logistics"
    url = DATASET.warehouse_url(configured="/elsewhere/demo.duckdb", catalog_path=tmp_path, data_dir=tmp_path)
    assert url == str(tmp_path / "logistics.duckdb")


def test_the_logistics_catalog_validates_as_version_2() -> None:
    loaded, errors = check_catalog(bundled_domain("logistics").catalog_path())
    assert not errors, [str(error) for error in errors]
    assert loaded is not None
    assert loaded.version == 2
    assert len(loaded.tables) == 7
    assert {d.name for d in loaded.all_dimensions if d.filter_only} >= {"courier_hire_date"}
    assert any(d.metric_time for d in loaded.dimensions)
    assert any(join.type == "inner" for join in loaded.joins)
    assert all(example.query is not None for example in loaded.examples)
    entries = {entry.id for entry in catalog_entries(loaded)}
    assert {"metric:avg_weight", "dimension:period", "dimension:courier_hire_date"} <= entries


def test_size_languages_difficulty_and_abstentions() -> None:
    assert len(ITEMS) == 40
    languages = Counter(item.language for item in ITEMS)
    assert languages == {"en": 20, "zh": 20}
    assert set(Counter(item.difficulty for item in ITEMS)) == {"easy", "medium", "hard"}
    abstentions = [item for item in ITEMS if item.expect_abstention]
    assert len(abstentions) >= 4
    assert {item.language for item in abstentions} == {"en", "zh"}
    assert sum(item.ordered for item in ANSWERABLE) >= 5
    assert len({item.question for item in ITEMS}) == len(ITEMS)


def test_every_item_says_its_gold_query_even_when_none_expresses_it() -> None:
    missing = [item.id for item in ITEMS if "gold_query" not in item.model_fields_set]
    assert not missing
    assert all(item.gold_query is None for item in ITEMS if item.expect_abstention)
    assert sum(item.gold_query is not None for item in ANSWERABLE) >= 0.9 * len(ANSWERABLE)


def test_gold_queries_name_what_the_catalog_declares(catalog: Catalog) -> None:
    periods = {period.name for period in catalog.periods()} | {"all_time"}
    for item in ANSWERABLE:
        query = item.gold_query
        if query is None:
            continue
        names = set(query.metrics) | {n for c in query.calculations for n in (c.left, c.right)}
        for name in names:
            assert catalog.metric(name) is not None, (item.id, name)
            for dimension in query.dimensions:
                assert dimension in catalog.allowed_dimensions(name), (item.id, name, dimension)
        for condition in query.filters:
            assert catalog.dimension(condition.dimension) is not None, (item.id, condition.dimension)
        if isinstance(query.time_range, str):
            assert query.time_range in periods, (item.id, query.time_range)


def test_questions_and_gold_sql_are_distinct_from_the_catalog_examples(catalog: Catalog) -> None:
    assert not {example.question for example in catalog.examples} & {item.question for item in ITEMS}
    gold = {normalize_sql(item.gold_sql or "") for item in ANSWERABLE} - {None}
    assert len(gold) == len(ANSWERABLE)


@pytest.mark.parametrize("item", ANSWERABLE, ids=lambda item: item.id)
def test_gold_sql_passes_the_gate_and_returns_rows(item: MetricsQAItem, catalog: Catalog, warehouse: object) -> None:
    import duckdb

    assert item.gold_sql is not None
    check_sql(item.gold_sql, GateContext(schema=catalog.schema_mapping()))
    assert isinstance(warehouse, duckdb.DuckDBPyConnection)
    rows = warehouse.execute(item.gold_sql).fetchall()
    assert rows, item.id
    assert all(value is not None for row in rows for value in row), item.id
    if item.ordered:
        assert " ORDER BY " in item.gold_sql.upper(), item.id
