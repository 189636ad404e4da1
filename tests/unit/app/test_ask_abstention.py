"""`kubeai ask` tells a script a declined question (status 4, the reason in JSON) from an error (status 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.warehouse import build_demo_warehouse

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("ask")
    warehouse = root / "demo.duckdb"
    build_demo_warehouse(warehouse, orders=1000, seed=7)
    return {
        **os.environ,
        # No model server listens here: a declined question must not need one.
        "KUBEAI_LLM__BASE_URL": "http://127.0.0.1:9/v1",
        "KUBEAI_LLM__MAX_RETRIES": "0",
        "KUBEAI_WAREHOUSE__URL": str(warehouse),
        "KUBEAI_METRICS_AGENT__RAG": "false",
        "KUBEAI_DATA_DIR": str(root / "data"),
    }


def ask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "ask", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("'; DROP TABLE orders; --", "SQL statement"),
        ("delete all refunds", "change data"),
        ("删除所有退款", "修改数据"),
    ],
)
def test_a_declined_question_exits_4_with_its_reason(env: dict[str, str], question: str, says: str) -> None:
    result = ask(question, "--json", env=env)
    assert result.returncode == 4, result.stderr
    payload = json.loads(result.stdout)
    assert payload["abstained"] is True and says in payload["reason"]
    assert payload["rows"] == [] and payload["sql"] is None


def test_a_declined_question_in_text_mode_prints_the_reason(env: dict[str, str]) -> None:
    result = ask("🎉🎉🎉", env=env)
    assert result.returncode == 4
    assert result.stdout.startswith("I can't answer that: the message has no words")


def test_a_plan_whose_every_task_failed_exits_1_with_or_without_json(env: dict[str, str], tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"tasks": [{"id": "t1", "tool": "calculate", "args": {"expression": "1/0"}}]}))
    for extra in (["--json"], []):
        result = subprocess.run(
            [sys.executable, "-m", "app", "plan", "what is 1/0", "--plan-file", str(plan), *extra],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        assert result.returncode == 1, (extra, result.stderr)
        if extra:
            payload = json.loads(result.stdout)
            assert payload["status"] == "failed" and payload["answer"].startswith("No task succeeded")
        else:
            assert "division by zero" in result.stdout
