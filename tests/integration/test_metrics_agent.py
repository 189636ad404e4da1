"""The metrics agent end to end with the real vLLM server, the bundled embeddings and the demo warehouse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from agents.metrics import MetricsAgent
from kubeai.config import ProjectConfig
from tests.integration.postgres_server import PostgresServer, copy_duckdb_to_postgres
from tests.integration.support import REPO, LiveServer, cli_env

pytestmark = pytest.mark.integration


def test_kubeai_ask_json_end_to_end(live_server: LiveServer, demo_warehouse: Path, tmp_path: Path) -> None:
    env = cli_env(KUBEAI_LLM__BASE_URL=live_server.base_url, KUBEAI_WAREHOUSE__URL=str(demo_warehouse))
    chart = tmp_path / "gmv.html"
    completed = subprocess.run(
        [sys.executable, "-m", "app", "ask", "上个月各地区的GMV是多少？", "--json", "--chart", str(chart)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode in (0, 2), completed.stderr  # 2: the agent abstained honestly
    payload = json.loads(completed.stdout)
    assert {"sql", "rows", "columns", "answer", "abstained", "chart"} <= payload.keys()
    assert payload["answer"]
    if payload["abstained"]:
        assert payload["reason"]
        return
    # Whatever the small model chose, the rows are exactly what the gated SQL returns on the warehouse.
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        expected = con.execute(payload["sql"]).fetchall()
    assert len(expected) == len(payload["rows"])
    assert payload["chart"] is not None
    assert chart.is_file() and "plotly" in chart.read_text(encoding="utf-8")[:100_000].lower()


async def test_agent_answers_the_canonical_question_on_the_structured_path(
    live_server: LiveServer, agent_config: ProjectConfig
) -> None:
    async with MetricsAgent.open(agent_config, llm=live_server.client()) as agent:
        result = await agent.ask("上个月各地区的GMV是多少？")
    assert result.language == "zh"
    assert not result.abstained, result.reason
    assert "gmv" in result.metrics
    assert result.sql is not None and "LIMIT" in result.sql.upper()
    assert not result.frame.empty
    assert result.timings["generate"] > 0
    assert sum(c["completion"] for c in result.tokens.values()) > 0


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
