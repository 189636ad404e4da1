"""``kubeai ask --thread/--new-thread`` and ``kubeai chat --thread``: a thread is continued only when it exists,
by its full id or a unique beginning; every answer says which thread it went to and how to continue it.

Model replies are scripted (the CLI's model client is swapped for a scripted one); the checkpointer, the graph and
the DuckDB warehouse are real.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.metrics import MetricsAgent
from app.cli import app
from kubeai.config import load_config
from kubeai.errors import ThreadNotFoundError
from serving.client import ModelClient
from tests.unit.fakes import scripted_client

GMV_SQL = {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"}
MONTHLY_SQL = {"sql": "SELECT date_trunc('month', order_date) AS month, SUM(paid_amount) AS gmv FROM orders GROUP BY 1"}


@pytest.fixture
def project(tmp_path: Path, warehouse: Path) -> Path:
    config = tmp_path / "kubeai.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "llm: {base_url: 'http://127.0.0.1:9/v1'}\n"  # nothing listens: a test that reached it would fail
        f"warehouse: {{url: '{warehouse}', max_rows: 200}}\n"
        "metrics_agent: {rag: false, strategy: sql}\n",
        encoding="utf-8",
    )
    return config


def scripted_cli(monkeypatch: pytest.MonkeyPatch, *replies: Any) -> None:
    client, _ = scripted_client(*replies, default_model="fake")
    monkeypatch.setattr("app.cli.ask.model_client", lambda _config: client)


def flat(output: str) -> str:
    """Typer's usage errors come in a box that wraps lines: the words only."""
    return " ".join(output.replace("│", " ").split())


def run(project: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, ["--config", str(project), *args], input=stdin)


async def store_thread(project: Path, thread: str, *questions: str, client: ModelClient, **agent: Any) -> None:
    config = load_config(project)
    if agent:
        config = config.model_copy(update={"metrics_agent": config.metrics_agent.model_copy(update=agent)})
    async with MetricsAgent.open(config, llm=client) as opened:
        for question in questions:
            await opened.ask(question, thread_id=thread)


def test_ask_with_an_unknown_thread_fails_in_one_sentence(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_cli(monkeypatch)  # no reply: the question must not reach the model
    result = run(project, "ask", "and by month?", "--thread", "0badc0de")
    assert isinstance(result.exception, ThreadNotFoundError)
    assert "No conversation thread '0badc0de'" in str(result.exception)
    assert "leaving --thread out" in str(result.exception)


def test_ask_starts_continues_and_names_the_thread(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_cli(monkeypatch, GMV_SQL)
    first = run(project, "ask", "What is the GMV?", "--new-thread", "weekly-review")
    assert first.exit_code == 0, first.output
    assert "thread: weekly-review (ask a follow-up with --thread weekly-review)" in first.stdout

    scripted_cli(monkeypatch, {"standalone_question": "What is the GMV by month?"}, MONTHLY_SQL)
    second = run(project, "ask", "and by month?", "--thread", "weekly", "--json")  # a unique beginning is enough
    assert second.exit_code == 0, second.output
    payload = json.loads(second.stdout)
    assert payload["thread_id"] == "weekly-review"
    assert payload["standalone_question"] == "What is the GMV by month?"

    again = run(project, "ask", "What is the GMV?", "--new-thread", "weekly-review")
    assert again.exit_code == 2
    assert "already exists; continue it with --thread weekly-review" in flat(again.output)


def test_thread_and_new_thread_together_are_a_usage_error(project: Path) -> None:
    result = run(project, "ask", "What is the GMV?", "--thread", "a", "--new-thread", "b")
    assert result.exit_code == 2
    assert "not both" in flat(result.output)


def test_chat_resumes_a_thread_and_shows_its_last_turns(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rewrite = {"standalone_question": "What is the refund amount?"}
    client, _ = scripted_client(GMV_SQL, rewrite, GMV_SQL, default_model="fake")
    thread = "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b"
    asyncio.run(store_thread(project, thread, "What is the GMV?", client=client))
    # A second question paused for approval and never approved: its turn did not finish.
    asyncio.run(store_thread(project, thread, "What is the refund amount?", client=client, require_approval=True))

    scripted_cli(monkeypatch)
    result = run(project, "chat", "--thread", thread[:6], stdin="/quit\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"metrics chat, thread {thread} (resumed)"
    assert lines[1] == "> What is the GMV?"
    assert lines[2].startswith("  GMV: ")
    assert lines[3] == "> What is the refund amount?"
    assert "interrupted" in lines[4]
    assert f"resume later with: kubeai chat --thread {thread}" in lines[5]
    assert lines[-1] == f"resume with: kubeai chat --thread {thread}"


def test_chat_with_an_unknown_thread_fails(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_cli(monkeypatch)
    result = run(project, "chat", "--thread", "nosuch", stdin="/quit\n")
    assert isinstance(result.exception, ThreadNotFoundError)
