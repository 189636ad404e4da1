"""Traces end to end: a real ``kubeai ask`` on the real vLLM server, then ``kubeai traces`` shows that run with its
nodes, their latency and the real token counts the server reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.support import REPO, LiveServer, cli_env

pytestmark = pytest.mark.integration

# As in test_metrics_agent: settings the bundled base model answers this question right with.
PINNED = {"strategy": "structured", "rag": False, "adapter": "none"}


def kubeai(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_kubeai_traces_shows_a_real_run(live_server: LiveServer, demo_warehouse: Path, tmp_path: Path) -> None:
    env = cli_env(
        KUBEAI_DATA_DIR=str(tmp_path / "data"),
        KUBEAI_LLM__BASE_URL=live_server.base_url,
        KUBEAI_LLM__TIMEOUT_S="600",
        KUBEAI_WAREHOUSE__URL=str(demo_warehouse),
        **{f"KUBEAI_METRICS_AGENT__{key.upper()}": str(value).lower() for key, value in PINNED.items()},
    )
    asked = kubeai(env, "ask", "2025年的GMV是多少？", "--json", "--new-thread", "traced-thread")
    assert asked.returncode == 0, asked.stderr
    assert not json.loads(asked.stdout)["abstained"]

    listed = kubeai(env, "traces", "--thread", "traced", "--json")
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert (run["agent"], run["entry"], run["thread_id"], run["language"]) == ("metrics", "ask", "traced-thread", "zh")
    assert run["error"] is None
    nodes = {node["name"]: node for node in run["nodes"]}
    assert {"understand", "generate", "gate", "execute", "answer"} <= set(nodes)
    assert nodes["generate"]["calls"] >= 1
    assert nodes["generate"]["input_tokens"] > 0 and nodes["generate"]["output_tokens"] > 0
    assert run["input_tokens"] >= nodes["generate"]["input_tokens"]
    assert 0 < nodes["generate"]["seconds"] <= run["seconds"]

    text = kubeai(env, "traces")
    assert text.returncode == 0, text.stderr
    assert run["trace_id"] in text.stdout and "generate" in text.stdout
    print(text.stdout)  # the listing, for the record

    tree = kubeai(env, "traces", "--trace", run["trace_id"][:8])
    assert tree.returncode == 0, tree.stderr
    chats = [line for line in tree.stdout.splitlines() if line.strip().startswith("chat smollm2-135m")]
    assert chats and all("model smollm2-135m" in line for line in chats)  # the model the server says answered
    print(tree.stdout)
