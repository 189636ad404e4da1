"""Conversation threads of the metrics agent on the real SQLite checkpointer: finding a thread by id or by the
beginning of one, and a turn killed with SIGKILL mid-answer that must not poison the thread's follow-ups.

Model replies are scripted; the checkpointer, the graph, the DuckDB warehouse and the killed process are real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.metrics import MetricsAgent
from kubeai.config import ProjectConfig
from kubeai.errors import ThreadNotFoundError
from serving.client import ModelClient
from tests.unit.agents._turn_child import FIRST, SECOND
from tests.unit.configs import agent_config
from tests.unit.fakes import scripted_client

REPO = Path(__file__).resolve().parents[3]
GMV_SQL = {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"}
MONTHLY_SQL = {"sql": "SELECT date_trunc('month', order_date) AS month, SUM(paid_amount) AS gmv FROM orders GROUP BY 1"}


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> ProjectConfig:
    return agent_config(tmp_path, warehouse)


@pytest.fixture
def open_agent(config: ProjectConfig) -> Callable[[ModelClient], Any]:
    return lambda client: MetricsAgent.open(config, llm=client)


def kill_mid_answer(config: ProjectConfig, warehouse: Path, tmp_path: Path) -> None:
    """Run the child: it answers FIRST on thread ``killed``, then hangs writing SECOND's SQL; SIGKILL it there."""
    marker = tmp_path / "stuck"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.unit.agents._turn_child", str(config.data_dir), str(warehouse), str(marker)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            if child.poll() is not None:
                output = child.stdout.read().decode() if child.stdout else ""
                pytest.fail(f"the child exited ({child.returncode}) before it hung:\n{output}")
            assert time.monotonic() < deadline, "the child never reached the hanging model call"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        if child.stdout:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL


async def test_a_turn_killed_mid_answer_does_not_poison_the_thread(
    config: ProjectConfig, warehouse: Path, tmp_path: Path, open_agent: Callable[[ModelClient], Any]
) -> None:
    kill_mid_answer(config, warehouse, tmp_path)

    # The rewrite of the follow-up comes back as garbage, so the agent falls back to "previous question + this
    # one": that must be the last *answered* question, not the killed one (nor the answer before it).
    client, chat = scripted_client("not json", MONTHLY_SQL, default_model="fake")
    async with open_agent(client) as agent:
        before = await agent.history("killed")
        result = await agent.ask("and by month?", thread_id="killed")
        after = await agent.history("killed")

    assert [role for role, _ in before] == ["user", "assistant", "unanswered"]
    assert before[2] == ("unanswered", SECOND)
    rewrite_prompt = chat.prompts[0][-1].content
    assert FIRST in rewrite_prompt and "and by month?" in rewrite_prompt
    assert SECOND not in rewrite_prompt
    assert result.standalone_question == f"{FIRST} and by month?"
    assert not result.abstained, result.reason
    assert [role for role, _ in after] == ["user", "assistant", "unanswered", "user", "assistant"]


async def test_find_thread_by_id_or_a_unique_beginning(open_agent: Callable[[ModelClient], Any]) -> None:
    client, _ = scripted_client(GMV_SQL, GMV_SQL, GMV_SQL, default_model="fake")
    async with open_agent(client) as agent:
        for thread in ("3f2a9c1e-first", "3f2a77b0-second", "a1b2c3"):
            await agent.ask(FIRST, thread_id=thread)
        assert await agent.find_thread("a1b2c3") == "a1b2c3"
        assert await agent.find_thread("a1") == "a1b2c3"
        assert await agent.find_thread("3f2a9") == "3f2a9c1e-first"
        assert await agent.has_thread("a1b2c3") and not await agent.has_thread("a1")

        with pytest.raises(ThreadNotFoundError) as ambiguous:
            await agent.find_thread("3f2a")
        assert ambiguous.value.matches == ("3f2a77b0-second", "3f2a9c1e-first")
        assert "give more of the id" in str(ambiguous.value)

        with pytest.raises(ThreadNotFoundError) as unknown:
            await agent.find_thread("nosuch")
        message = str(unknown.value)
        assert message.count(". ") == 0 and message.endswith(".")  # one sentence
        assert "nosuch" in message and "checkpoints.sqlite" in message
