from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app
from knowledge.catalog import catalog_json_schema, demo_catalog_path

runner = CliRunner()


def test_validate_ok_prints_counts() -> None:
    result = runner.invoke(app, ["catalog", "validate", str(demo_catalog_path())])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 9 tables, 8 joins, ")
    assert " metrics (" in result.output
    assert " dimensions, " in result.output


def test_validate_lists_every_problem_and_exits_1(write_catalog: Callable[[str], Path], mini: str) -> None:
    text = mini.replace("SUM(orders.amount)", "SUM(orders.amount_usd)").replace("[gmv]", "[visits]")
    result = runner.invoke(app, ["catalog", "validate", str(write_catalog(text))])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 2
    assert "metrics[0].sql: column `amount_usd` is not declared in table `orders`." in lines[0]
    assert "examples[0].metrics[0]" in lines[1]


def test_show_lists_metrics_and_dimensions() -> None:
    result = runner.invoke(app, ["catalog", "show", str(demo_catalog_path())], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("gmv", "成交额", "refund_rate", "= refund_amount / gmv", "region", "地区", "day, week, month"):
        assert text in result.output


def test_schema_prints_the_json_schema() -> None:
    import json

    result = runner.invoke(app, ["catalog", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == catalog_json_schema()
