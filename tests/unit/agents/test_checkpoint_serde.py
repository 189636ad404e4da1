"""The metrics agent's checkpoints are read back with an explicit allowlist of types: its own state comes back
whole, and a class the graph never stores is not constructed when a checkpoint names it (a checkpoint store that
someone else can write to must not become a way to run code)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.metrics import MetricsAgent, _checkpointer
from kubeai.config import ProjectConfig
from tests.unit.configs import agent_config
from tests.unit.fakes import scripted_client

GMV_SQL = {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"}


@dataclass
class Foreign:
    """Stands for any class a tampered checkpoint could name."""

    value: int


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> ProjectConfig:
    return agent_config(tmp_path, warehouse)


async def test_a_thread_reads_back_whole_after_reopening_with_no_unregistered_type(
    config: ProjectConfig, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = scripted_client(GMV_SQL, default_model="fake")
    async with MetricsAgent.open(config, llm=client) as agent:
        first = await agent.ask("What is the total GMV?", thread_id="t-serde")
    caplog.set_level(logging.WARNING)
    async with MetricsAgent.open(config, llm=scripted_client(default_model="fake")[0]) as reopened:
        history = list(await reopened.history("t-serde"))
        last = await reopened.last_result("t-serde")
    assert history[0] == ("user", "What is the total GMV?")
    assert history[-1][0] == "assistant"
    assert last.rows == first.rows and last.sql == first.sql
    unsafe = [r.getMessage() for r in caplog.records if "msgpack" in r.getMessage() or "Deserializ" in r.getMessage()]
    assert unsafe == []


async def test_a_class_the_graph_never_stores_is_not_constructed_from_a_checkpoint(config: ProjectConfig) -> None:
    async with _checkpointer(config) as saver:
        kind, payload = saver.serde.dumps_typed({"value": Foreign(value=1)})
        loaded = saver.serde.loads_typed((kind, payload))
    assert not isinstance(loaded["value"], Foreign)
