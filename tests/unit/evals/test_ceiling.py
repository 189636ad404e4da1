"""The ceiling scorer on a one-table catalog and DuckDB file: every outcome, the diff, the totals."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.ceiling import CEILING_MAX_ROWS, RunSQL, result_diff, runner_rows, score_ceiling, score_item
from evals.items import MetricsQAItem
from knowledge.catalog import Catalog, load_catalog
from tools.sql_gate import GateContext
from tools.warehouse import open_runner

CATALOG_YAML = """
version: 1
name: tiny
description: Sales of a shop in two regions.
warehouse: {dialect: duckdb, connection: tiny.duckdb, reference_date: 2025-12-31}
tables:
  - name: sales
    description: One row per sale.
    primary_key: [sale_id]
    columns:
      - {name: sale_id, type: INTEGER, description: Sale key.}
      - {name: sale_date, type: DATE, description: Day of the sale.}
      - {name: region, type: VARCHAR, description: Region.}
      - {name: amount, type: 'DECIMAL(12,2)', description: Amount paid.}
dimensions:
  - {name: region, label: {en: Region, zh: 地区}, description: Region of the sale., table: sales, sql: sales.region}
metrics:
  - name: revenue
    label: {en: Revenue, zh: 收入}
    description: Amount paid.
    table: sales
    sql: SUM(sales.amount)
    time_column: sale_date
    dimensions: [region]
    format: currency
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    path = tmp_path_factory.mktemp("tiny") / "catalog.yaml"
    path.write_text(textwrap.dedent(CATALOG_YAML), encoding="utf-8")
    return load_catalog(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunSQL]:
    import duckdb

    path = tmp_path_factory.mktemp("tiny_wh") / "tiny.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE sales (sale_id INTEGER, sale_date DATE, region VARCHAR, amount DECIMAL(12,2))")
        con.execute(
            "INSERT INTO sales VALUES (1, DATE '2025-11-03', 'east', 10), (2, DATE '2025-11-20', 'west', 5),"
            " (3, DATE '2025-12-01', 'east', 7)"
        )
    runner = open_runner(str(path))
    yield runner_rows(runner)
    runner.close()


@pytest.fixture(scope="module")
def gate(catalog: Catalog) -> GateContext:
    return GateContext(schema=catalog.schema_mapping(), max_rows=CEILING_MAX_ROWS)


def _item(**fields: Any) -> MetricsQAItem:
    base: dict[str, Any] = {"id": "t-1", "question": "Revenue by region last month?", "language": "en"}
    return MetricsQAItem.model_validate(base | fields)


BY_REGION = {"metrics": ["revenue"], "dimensions": ["region"], "time_range": "last_month"}
GOLD_BY_REGION = (
    "SELECT region, SUM(amount) FROM sales WHERE sale_date >= DATE '2025-11-01' AND sale_date < DATE '2025-12-01' "
    "GROUP BY region"
)


def test_a_query_that_reproduces_the_gold_is_ok(catalog: Catalog, gate: GateContext, run: RunSQL) -> None:
    result = score_item(_item(gold_sql=GOLD_BY_REGION, gold_query=BY_REGION), catalog=catalog, gate=gate, run=run)
    assert result.outcome == "ok"
    assert result.expressible
    assert result.sql is not None and "sales" in result.sql


def test_a_fixed_gold_result_is_compared_too(catalog: Catalog, gate: GateContext, run: RunSQL) -> None:
    gold = {"columns": ["region", "revenue"], "rows": [["west", 5], ["east", 10]]}
    item = _item(gold_result=gold, gold_query=BY_REGION)
    assert score_item(item, catalog=catalog, gate=gate, run=run).outcome == "ok"


def test_a_mismatch_says_how_the_tables_differ(catalog: Catalog, gate: GateContext, run: RunSQL) -> None:
    whole_year = BY_REGION | {"time_range": {"start": "2025-01-01", "end": "2025-12-31"}}
    result = score_item(_item(gold_sql=GOLD_BY_REGION, gold_query=whole_year), catalog=catalog, gate=gate, run=run)
    assert result.outcome == "mismatch"
    assert "2 rows x 2 columns vs gold 2 rows x 2 columns, values differ" in result.detail

    total = {"metrics": ["revenue"], "time_range": "last_month"}
    result = score_item(_item(gold_sql=GOLD_BY_REGION, gold_query=total), catalog=catalog, gate=gate, run=run)
    assert (result.outcome, result.detail) == ("mismatch", "1 rows x 1 columns vs gold 2 rows x 2 columns")


def test_a_compile_error_is_an_outcome_not_an_exception(catalog: Catalog, gate: GateContext, run: RunSQL) -> None:
    unknown = {"metrics": ["profit"], "time_range": "last_month"}
    result = score_item(_item(gold_sql=GOLD_BY_REGION, gold_query=unknown), catalog=catalog, gate=gate, run=run)
    assert result.outcome == "compile_error"
    assert "profit" in result.detail
    assert result.sql is None


def test_a_gate_error_keeps_the_compiled_sql(catalog: Catalog, run: RunSQL) -> None:
    narrow = GateContext(schema={"other": {"x": "INTEGER"}})
    result = score_item(_item(gold_sql=GOLD_BY_REGION, gold_query=BY_REGION), catalog=catalog, gate=narrow, run=run)
    assert result.outcome == "gate_error"
    assert result.sql is not None


def test_a_failing_gold_sql_is_reported(catalog: Catalog, gate: GateContext, run: RunSQL) -> None:
    item = _item(gold_sql="SELECT missing_column FROM sales", gold_query=BY_REGION)
    assert score_item(item, catalog=catalog, gate=gate, run=run).outcome == "no_gold"


def test_null_absent_and_abstention(catalog: Catalog, gate: GateContext, run: RunSQL) -> None:
    null = score_item(_item(gold_sql=GOLD_BY_REGION, gold_query=None), catalog=catalog, gate=gate, run=run)
    assert (null.outcome, null.detail) == ("no_query", "gold_query is null: no structured query expresses it")
    absent = score_item(_item(gold_sql=GOLD_BY_REGION), catalog=catalog, gate=gate, run=run)
    assert (absent.outcome, absent.detail) == ("no_query", "")
    abstain = _item(id="t-2", expect_abstention=True, gold_query=None)
    assert score_item(abstain, catalog=catalog, gate=gate, run=run).outcome == "ok"


def test_an_abstention_item_cannot_carry_a_query() -> None:
    with pytest.raises(ValueError, match="carries no gold_query"):
        _item(expect_abstention=True, gold_query=BY_REGION)


def test_the_gold_query_shape_is_validated_on_load() -> None:
    with pytest.raises(ValueError, match="gold_query"):
        _item(gold_sql=GOLD_BY_REGION, gold_query={"metrics": ["revenue"], "colour": "red"})


def test_report_totals_by_language_and_json(catalog: Catalog, gate: GateContext, run: RunSQL) -> None:
    items = [
        _item(id="a", gold_sql=GOLD_BY_REGION, gold_query=BY_REGION),
        _item(id="b", language="zh", question="上个月各地区收入？", gold_sql=GOLD_BY_REGION, gold_query=BY_REGION),
        _item(id="c", language="zh", question="利润？", gold_sql=GOLD_BY_REGION, gold_query=None),
    ]
    report = score_ceiling(items, dataset="tiny", catalog=catalog, gate=gate, run=run)
    assert (report.totals().expressible, report.totals().total) == (2, 3)
    assert report.totals("en").ratio == 1.0
    assert report.totals("zh").ratio == 0.5
    assert [item.id for item in report.failing()] == ["c"]
    data = report.to_json()
    assert data["totals"]["overall"] == {"total": 3, "expressible": 2, "ceiling": 0.6667}
    assert [row["outcome"] for row in data["items"]] == ["ok", "ok", "no_query"]


def test_result_diff() -> None:
    assert result_diff([("a", 1.0)], [("a", 1)], ordered=False) is None
    assert result_diff([], [], ordered=False) is None
    assert result_diff([], [("a", 1)], ordered=False) == "0 rows x 0 columns vs gold 1 rows x 2 columns"
    diff = result_diff([("a", 1), ("b", 2)], [("b", 2), ("a", 1)], ordered=True)
    assert diff == (
        "2 rows x 2 columns vs gold 2 rows x 2 columns, values differ in order (first row a | 1 vs gold b | 2)"
    )


def test_the_sqlrunner_adapter_returns_tuples(run: RunSQL) -> None:
    assert list(run("SELECT COUNT(*) FROM sales")) == [(3,)]


def test_cli_prints_the_table_and_json(tmp_path: Path) -> None:
    import duckdb
    from typer.testing import CliRunner

    from app.cli.evals import app

    (tmp_path / "catalog.yaml").write_text(textwrap.dedent(CATALOG_YAML), encoding="utf-8")
    with duckdb.connect(str(tmp_path / "tiny.duckdb")) as con:
        con.execute(
            "CREATE TABLE sales AS SELECT 1 AS sale_id, DATE '2025-11-03' AS sale_date, 'east' AS region, "
            "10.0 AS amount"
        )
    (tmp_path / "dataset.yaml").write_text(
        "name: tiny\nversion: '1'\nkind: metrics_qa\nitems: items.jsonl\ncatalog: catalog.yaml\n"
        "warehouse: tiny.duckdb\n",
        encoding="utf-8",
    )
    items = [
        _item(id="a", gold_sql=GOLD_BY_REGION, gold_query=BY_REGION),
        _item(id="b", language="zh", question="利润？", gold_sql=GOLD_BY_REGION, gold_query=None),
    ]
    lines = [item.model_dump_json(exclude_defaults=True, exclude_unset=True) for item in items]
    (tmp_path / "items.jsonl").write_text("\n".join(lines), encoding="utf-8")

    shown = CliRunner().invoke(app, ["ceiling", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "b  zh  no_query" in shown.output
    assert "ceiling of tiny: 50.0% of questions expressible" in shown.output
    as_json = CliRunner().invoke(app, ["ceiling", str(tmp_path), "--json"])
    assert json.loads(as_json.output)["totals"]["en"] == {"total": 1, "expressible": 1, "ceiling": 1.0}
