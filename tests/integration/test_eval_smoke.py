"""The evaluation smoke run (evals/runs/smoke.yaml) against the real vLLM server and a real demo warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.report import write_reports
from evals.runner import load_records, run_evaluation
from knowledge.warehouse import build_demo_warehouse
from tests.integration.support import REPO, LiveServer

pytestmark = pytest.mark.integration


async def test_smoke_run_produces_a_report_with_per_variant_accuracy(live_server: LiveServer, tmp_path: Path) -> None:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(warehouse, orders=50_000, seed=7)
    config = live_server.config.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "warehouse": live_server.config.warehouse.model_copy(update={"url": str(warehouse)}),
        }
    )
    run_dir = tmp_path / "run"
    result = await run_evaluation(
        REPO / "evals" / "runs" / "smoke.yaml", config, llm=live_server.client(), run_dir=run_dir, progress=False
    )
    assert result.asked == len(result.records) == 4
    for record in result.records:
        assert isinstance(record["correct"], bool)
        assert record["latency_s"] > 0

    summary = write_reports(run_dir, load_records(run_dir))
    (variant,) = summary["variants"].values()
    assert variant["items"] == 4
    assert 0.0 <= variant["accuracy"] <= 1.0
    assert set(variant["by_language"]) <= {"en", "zh"}
    assert json.loads((run_dir / "summary.json").read_text(encoding="utf-8")) == summary
    assert "Plotly.newPlot" in (run_dir / "report.html").read_text(encoding="utf-8")

    again = await run_evaluation(
        REPO / "evals" / "runs" / "smoke.yaml", config, llm=live_server.client(), run_dir=run_dir, progress=False
    )
    answered = sum(1 for r in result.records if r["error"] is None)  # a server timeout is asked again
    assert again.cached == answered and again.asked == 4 - answered
