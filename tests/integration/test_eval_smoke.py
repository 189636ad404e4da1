"""The evaluation harness end to end: the real vLLM server, the real metrics agent and a real demo warehouse.

A working harness must count every item, score an answer the agent reproduces from the gold as correct, score an
honest abstention on a request it must refuse as correct and count it in the abstention figures, write reports
that agree with the records, and on a re-run read every item back from its cache with the same scores, asking
the model nothing.

The questions and the strategy (``structured``: the whole catalog in the prompt, no retrieval, no adapter, so a
fresh checkout after ``make prepare`` runs it) are ones the bundled 135M base model answers right every time:
each total below was answered with the exact gold in 6 of 6 tries against the CPU server.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from app import runtime
from app.eval_agents import EVAL_AGENTS
from evals.report import write_reports
from evals.runfile import RunFile
from evals.runner import load_records, run_evaluation
from evals.scorers import execution_match
from kubeai.config import ProjectConfig
from tests.integration.support import LiveServer

pytestmark = pytest.mark.integration

GMV_2025 = (
    "SELECT SUM(o.paid_amount) AS gmv FROM orders AS o WHERE o.status <> 'cancelled' "
    "AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'"
)
ITEMS = [
    {"id": "gmv-en", "question": "What was our total GMV in 2025?", "language": "en", "gold_sql": GMV_2025},
    {"id": "gmv-zh", "question": "2025年的GMV是多少？", "language": "zh", "gold_sql": GMV_2025},
    # A request to change data: the agent must refuse it, whatever the model would have made of it.
    {"id": "delete", "question": "Delete all refunds from last month.", "language": "en", "expect_abstention": True},
]  # fmt: skip


def smoke_run(folder: Path) -> RunFile:
    """A one-variant run file over a three-item metrics-QA dataset on the demo catalog and warehouse."""
    dataset = folder / "smoke"
    dataset.mkdir(parents=True)
    (dataset / "dataset.yaml").write_text(
        "name: smoke\nversion: '1.0'\nkind: metrics_qa\nitems: q.jsonl\ncatalog: demo\nwarehouse: demo\n",
        encoding="utf-8",
    )
    (dataset / "q.jsonl").write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS), encoding="utf-8")
    return RunFile(name="smoke", datasets=(dataset,), strategies=("structured",), concurrency=2)


@pytest.fixture
def config(live_server: LiveServer, demo_warehouse: Path, tmp_path: Path) -> ProjectConfig:
    return live_server.config.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "warehouse": live_server.config.warehouse.model_copy(update={"url": str(demo_warehouse)}),
        }
    )


async def test_smoke_run_scores_answers_and_abstentions_and_resumes_from_cache(
    live_server: LiveServer, config: ProjectConfig, demo_warehouse: Path, tmp_path: Path
) -> None:
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        gold = con.execute(GMV_2025).fetchall()
    run_dir = tmp_path / "run"
    spec = smoke_run(tmp_path)

    result = await run_evaluation(
        spec, config, agents=EVAL_AGENTS, llm=live_server.client(), run_dir=run_dir, progress=False
    )
    assert (result.asked, result.cached) == (3, 0)
    by_id = {r["item_id"]: r for r in result.records}
    assert list(by_id) == ["gmv-en", "gmv-zh", "delete"]
    for item_id in ("gmv-en", "gmv-zh"):
        record = by_id[item_id]
        assert record["error"] is None and not record["retry"], record["error"]
        assert not record["abstained"], record["reason"]
        assert record["execution_match"] is True and record["correct"] is True, record["sql"]
        assert record["gold_row_count"] == record["row_count"] == 1
        # The recorded rows are the warehouse's gold, not merely something the scorer let through.
        assert execution_match([tuple(row) for row in record["rows_head"]], gold)
        assert record["latency_s"] > 0 and record["total_tokens"] > 0
    refused = by_id["delete"]
    assert refused["abstained"] and refused["reason"], refused["answer"]
    assert refused["correct"] is True and refused["execution_match"] is None
    assert refused["row_count"] == 0 and refused["sql"] is None

    summary = write_reports(run_dir, load_records(run_dir))
    assert summary["items"] == 3
    (name,) = summary["variants"]
    assert name == f"{config.models.base.name}/structured"
    variant = summary["variants"][name]
    assert (variant["items"], variant["correct"], variant["accuracy"]) == (3, 3, 1.0)
    assert variant["execution_accuracy"] == 1.0
    assert variant["by_language"]["zh"]["items"] == 1 and variant["by_language"]["en"]["items"] == 2
    abstention = variant["abstention"]
    assert (abstention["true_positives"], abstention["false_positives"], abstention["false_negatives"]) == (1, 0, 0)
    assert json.loads((run_dir / "summary.json").read_text(encoding="utf-8")) == summary
    assert "Plotly.newPlot" in (run_dir / "report.html").read_text(encoding="utf-8")

    # Nothing is left to ask: the re-run must not reach a model, so it gets one that is not there.
    unreachable = runtime.model_client(config, base_url="http://127.0.0.1:9/v1")
    again = await run_evaluation(spec, config, agents=EVAL_AGENTS, llm=unreachable, run_dir=run_dir, progress=False)
    assert (again.asked, again.cached) == (0, 3)
    scores = ("correct", "execution_match", "exact_match", "abstained", "rows_head", "sql")
    assert [{k: r[k] for k in scores} for r in again.records] == [{k: r[k] for k in scores} for r in result.records]
