"""The CLI surface: every command has --help, and user errors are one sentence with exit status 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from app.cli import app

REPO = Path(__file__).resolve().parents[3]


def command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: Any, prefix: list[str]) -> None:
        paths.append(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


def test_the_cli_has_the_documented_commands() -> None:
    names = {" ".join(p) for p in command_paths()}
    for expected in (
        "serve",
        "models",
        "prepare",
        "compare",
        "demo",
        "ask",
        "chat",
        "adapters load",
        "adapters unload",
        "adapters list",
        "adapters promote",
        "adapters rollback",
        "onboard",
        "finetune data",
        "finetune train",
        "catalog validate",
        "catalog show",
        "catalog index",
        "knowledge ingest",
        "knowledge search",
        "knowledge stats",
        "warehouse build-demo",
    ):
        assert expected in names


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "kubeai")
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_missing_config_file_is_one_sentence_and_exit_1(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "nope.yaml"), "models")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: Config file {tmp_path / 'nope.yaml'} does not exist."


def test_bad_environment_override_names_the_variable() -> None:
    import os

    result = run("models", env={**os.environ, "KUBEAI_SERVING__PORT": "many"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: Config field `serving.port` from KUBEAI_SERVING__PORT")
    assert "Traceback" not in result.stderr


def test_ask_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "KUBEAI_LLM__BASE_URL": "http://127.0.0.1:9/v1", "KUBEAI_LLM__MAX_RETRIES": "0"}
    env["KUBEAI_WAREHOUSE__URL"] = str(tmp_path / "missing.duckdb")
    result = run("ask", "GMV?", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["ask"], ["nosuch"], ["serve", "--port", "many"]])
def test_usage_errors_are_short_and_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) < 12
