"""``kubeai ask``, ``plan`` and ``chat`` against a misbehaving model server: one sentence on stderr, status 1.

The CLI's own entry point (``app.cli.main``) runs in-process against a real local HTTP server; any exception other
than the project's would escape it, which is a traceback for a user.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.cli import main
from knowledge.catalog import demo_catalog_path
from knowledge.warehouse import build_demo_warehouse
from tests.unit.serving.misbehaving import HTML, Reply, completion, serve

EMPTY_CHOICES = Reply('{"id": "c1", "object": "chat.completion", "choices": []}')


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=1_000, seed=7)
    return path


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warehouse: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no kubeai.yaml here: defaults and these overrides
    monkeypatch.delenv("KUBEAI_CONFIG", raising=False)
    monkeypatch.setenv("KUBEAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KUBEAI_WAREHOUSE__URL", str(warehouse))
    monkeypatch.setenv("KUBEAI_WAREHOUSE__CATALOG", str(demo_catalog_path()))
    monkeypatch.setenv("KUBEAI_METRICS_AGENT__RAG", "false")


def kubeai(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI's entry point with ``args``; its exit status and its error, the last line on stderr.

    Progress lines may come before the error; nothing may come after it, and it is the only error line.
    """
    monkeypatch.setattr(sys, "argv", ["kubeai", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], stderr
    return int(exited.value.code or 0), lines[-1]


def chat_input(monkeypatch: pytest.MonkeyPatch, *lines: str) -> None:
    typed = iter(lines)

    def read(_prompt: str = "") -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", read)


COMMANDS = {
    "ask": ["ask", "What was GMV last month?"],
    "plan": ["plan", "Compare last month's GMV and refund amount by region"],
    "chat": ["chat"],
}


GARBAGE = [
    ("ask", HTML, "with an HTML page instead of a chat completion"),
    ("ask", EMPTY_CHOICES, "'choices' list is empty"),
    ("chat", HTML, "with an HTML page instead of a chat completion"),
    ("plan", HTML, "with an HTML page instead of a chat completion"),  # the planner embeds its demos: ~20 s
]


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize(("command", "reply", "problem"), GARBAGE, ids=["ask", "ask-empty", "chat", "plan"])
def test_a_server_answering_garbage_is_one_sentence_and_status_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str, reply: Reply, problem: str
) -> None:
    chat_input(monkeypatch, "What was GMV last month?", "And the month before?")
    with serve(reply) as server:
        monkeypatch.setenv("KUBEAI_LLM__BASE_URL", server.url)
        status, error = kubeai(monkeypatch, capsys, *COMMANDS[command])
    assert status == 1
    assert error.startswith(f"error: The model server at {server.url} answered POST /v1/chat/completions")
    assert problem in error


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_frozen_server_is_one_sentence_naming_its_deadline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    chat_input(monkeypatch, "What was GMV last month?")
    with serve(completion("hi"), models=Reply("{}", hang=True), tokenize=Reply("{}", hang=True)) as server:
        monkeypatch.setenv("KUBEAI_LLM__BASE_URL", server.url)
        monkeypatch.setenv("KUBEAI_LLM__CONNECT_TIMEOUT_S", "0.5")
        status, error = kubeai(monkeypatch, capsys, *COMMANDS[command])
    assert status == 1
    assert error.startswith(f"error: The model server at {server.url} accepted the connection but did not answer")
    assert "within 0.5 s (llm.connect_timeout_s)" in error
