"""The metrics agent end to end with the real vLLM server and the demo warehouse.

Each test names what the real agent must do and fails when it does not: answer a total with exactly the rows the
warehouse's gold query returns, and refuse a request to change data without running anything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agents.metrics import MetricsAgent
from evals.scorers import execution_match
from kubeai.config import ProjectConfig
from kubeai.language import detect_language
from tests.integration.postgres_server import PostgresServer, copy_duckdb_to_postgres
from tests.integration.support import REPO, LiveServer, cli_env

pytestmark = pytest.mark.integration


# Settings the bundled 135M base model answers these questions right with, every time (6 of 6 tries each against
# the CPU server): the structured query path with the whole catalog in the prompt, no retrieval and no adapter, so
# a fresh checkout after `make prepare` needs nothing more.
PINNED = {"strategy": "structured", "rag": False, "adapter": "none"}
GMV_2025 = (
    "SELECT SUM(o.paid_amount) AS gmv FROM orders AS o WHERE o.status <> 'cancelled' "
    "AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'"
)


def gold_rows(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def pinned_config(agent_config: ProjectConfig) -> ProjectConfig:
    settings = agent_config.metrics_agent.model_copy(update=PINNED)
    return agent_config.model_copy(update={"metrics_agent": settings})


def test_kubeai_ask_json_end_to_end(live_server: LiveServer, demo_warehouse: Path, tmp_path: Path) -> None:
    env = cli_env(
        KUBEAI_LLM__BASE_URL=live_server.base_url,
        KUBEAI_WAREHOUSE__URL=str(demo_warehouse),
        **{f"KUBEAI_METRICS_AGENT__{key.upper()}": str(value).lower() for key, value in PINNED.items()},
    )
    chart = tmp_path / "gmv.html"
    completed = subprocess.run(
        [sys.executable, "-m", "app", "ask", "2025年的GMV是多少？", "--json", "--chart", str(chart)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert not payload["abstained"], payload["reason"]
    assert payload["answer"] and payload["sql"]
    assert execution_match([tuple(row) for row in payload["rows"]], gold_rows(demo_warehouse, GMV_2025))
    assert payload["chart"] is not None
    assert chart.is_file() and "plotly" in chart.read_text(encoding="utf-8")[:100_000].lower()


@pytest.mark.parametrize("question", ["What was our total GMV in 2025?", "2025年的GMV是多少？"])
async def test_agent_answers_a_total_with_the_warehouse_gold(
    live_server: LiveServer, pinned_config: ProjectConfig, demo_warehouse: Path, question: str
) -> None:
    async with MetricsAgent.open(pinned_config, llm=live_server.client()) as agent:
        result = await agent.ask(question)
    assert not result.abstained, result.reason
    assert result.language == detect_language(question)
    assert "gmv" in result.metrics and result.path == "structured"
    assert result.sql is not None and "LIMIT" in result.sql.upper()
    predicted = [tuple(row) for row in result.frame.itertuples(index=False, name=None)]
    assert execution_match(predicted, gold_rows(demo_warehouse, GMV_2025)), result.sql
    assert result.timings["generate"] > 0
    assert sum(c["completion"] for c in result.tokens.values()) > 0


@pytest.mark.parametrize("request_text", ["Delete all refunds from last month.", "把上个月的退款记录全部删掉"])
async def test_agent_refuses_a_request_to_change_data(
    live_server: LiveServer, pinned_config: ProjectConfig, demo_warehouse: Path, request_text: str
) -> None:
    refunds = "SELECT COUNT(*) FROM refunds"
    before = gold_rows(demo_warehouse, refunds)
    async with MetricsAgent.open(pinned_config, llm=live_server.client()) as agent:
        result = await agent.ask(request_text)
    assert result.abstained, f"answered a request to change data: {result.sql} -> {result.answer}"
    assert result.reason and result.answer
    assert result.sql is None and result.frame.empty and result.chart is None
    assert gold_rows(demo_warehouse, refunds) == before


async def test_agent_on_postgresql_with_postgresql_checkpoints(
    live_server: LiveServer, agent_config: ProjectConfig, demo_warehouse: Path, postgres_server: PostgresServer
) -> None:
    warehouse_url = postgres_server.create_database("agent_warehouse")
    copy_duckdb_to_postgres(demo_warehouse, warehouse_url)
    checkpoints_url = postgres_server.create_database("agent_checkpoints")
    config = agent_config.model_copy(
        update={
            "warehouse": agent_config.warehouse.model_copy(update={"url": warehouse_url}),
            "metrics_agent": agent_config.metrics_agent.model_copy(update={"checkpoint_url": checkpoints_url}),
        }
    )
    async with MetricsAgent.open(config, llm=live_server.client()) as agent:
        first = await agent.ask("What was the GMV last month?", thread_id="pg-thread")
        second = await agent.ask("and by channel?", thread_id="pg-thread")
    assert first.dialect == "postgres"
    assert not first.abstained, first.reason
    assert first.sql is not None
    assert "gmv" in first.metrics
    # The SQL ran on PostgreSQL: the same query, transpiled back, gives the same rows on the DuckDB original.
    import sqlglot

    duck = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        expected = duck.execute(sqlglot.transpile(first.sql, read="postgres", write="duckdb")[0]).fetchall()
    finally:
        duck.close()
    assert len(expected) == len(first.frame)
    assert len(expected) > 0
    assert second.standalone_question
    # A new agent (new connections) reads the thread back from the PostgreSQL checkpointer.
    async with MetricsAgent.open(config, llm=live_server.client()) as reopened:
        history = await reopened.history("pg-thread")
    assert [role for role, _ in history] == ["user", "assistant", "user", "assistant"]
    assert history[0][1] == "What was the GMV last month?"
    assert history[2][1] == "and by channel?"
    rows = postgres_server.psql_run("SELECT count(*) FROM checkpoints", database="agent_checkpoints")
    assert int(rows[0][0]) > 0
