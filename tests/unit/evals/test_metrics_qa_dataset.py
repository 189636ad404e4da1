"""The bundled metrics-QA set: balanced, every gold_sql passes the SQL gate and returns rows on a demo warehouse.

The warehouse is built once for the module with 100k orders and the default seed; building takes well under a
second. Gold results that are written into the file must equal what their gold_sql returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals import MetricsQAItem, execution_match, load_dataset, normalize_sql
from knowledge.catalog import load_catalog
from knowledge.warehouse.demo import build_demo_warehouse
from tools.sql_gate import GateContext, check_sql

DATASET = load_dataset(Path(__file__).parents[3] / "evals" / "datasets" / "metrics_qa")
ITEMS = DATASET.items_of(MetricsQAItem)
ANSWERABLE = [item for item in ITEMS if not item.expect_abstention]
CATALOG = load_catalog(DATASET.catalog_path())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import duckdb

    path = tmp_path_factory.mktemp("metrics_qa") / "demo.duckdb"
    build_demo_warehouse(path, orders=100_000)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def test_size_languages_difficulty_and_abstentions() -> None:
    assert DATASET.manifest.warehouse == "demo"
    assert len(ITEMS) >= 30
    languages = Counter(item.language for item in ITEMS)
    assert set(languages) == {"en", "zh"}
    assert abs(languages["en"] - languages["zh"]) <= 2
    assert set(Counter(item.difficulty for item in ITEMS)) == {"easy", "medium", "hard"}
    abstentions = [item for item in ITEMS if item.expect_abstention]
    assert len(abstentions) >= 4
    assert {item.language for item in abstentions} == {"en", "zh"}
    assert sum(item.ordered for item in ANSWERABLE) >= 5
    assert len({item.question for item in ITEMS}) == len(ITEMS)


def test_questions_and_gold_sql_are_distinct_from_the_catalog_few_shot_examples() -> None:
    catalog = CATALOG
    examples = {example.question for example in catalog.examples}
    assert not examples & {item.question for item in ITEMS}
    gold = {normalize_sql(item.gold_sql or "") for item in ANSWERABLE} - {None}
    assert len(gold) == len(ANSWERABLE)
    assert not gold & {normalize_sql(example.sql) for example in catalog.examples}


@pytest.mark.parametrize("item", ANSWERABLE, ids=lambda item: item.id)
def test_gold_sql_passes_the_gate_and_returns_rows(item: MetricsQAItem, warehouse: object) -> None:
    import duckdb

    assert item.gold_sql is not None
    check_sql(item.gold_sql, GateContext(schema=CATALOG.schema_mapping()))
    assert isinstance(warehouse, duckdb.DuckDBPyConnection)
    cursor = warehouse.execute(item.gold_sql)
    rows = cursor.fetchall()
    assert rows, item.id
    assert all(value is not None for row in rows for value in row), item.id
    if item.ordered:
        assert " ORDER BY " in item.gold_sql.upper(), item.id
    if item.gold_result is not None:
        assert len(item.gold_result.columns) == len(cursor.description or ())
        assert execution_match(rows, item.gold_result.rows, ordered=item.ordered), item.id
