"""``kubeai keys create|list|revoke`` on a real key store, and the keys it makes at work on the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from agents.metrics import MetricsAgent
from app.api import Agents, create_app
from app.cli import app
from app.keys import KeyStore
from kubeai.config import load_config
from tests.unit.fakes import scripted_client


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


def keys(project: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(project), "keys", *args])


def test_create_with_a_scope_list_and_revoke(project: Path) -> None:
    created = keys(project, "create", "--user", "ana", "--scope", "region=华东", "--scope", "region=华北")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("kai_") and "\n" not in secret
    assert "scope: region=华东|华北" in created.stderr and secret not in created.stderr

    store = KeyStore.in_data_dir(load_config(project).data_dir)
    key = store.verify(secret)
    assert key is not None and key.user == "ana" and key.scope == {"region": ("华东", "华北")}

    listed = keys(project, "list")
    assert listed.exit_code == 0 and key.id in listed.stdout and "active" in listed.stdout
    assert "scope: region=华东|华北" in listed.stdout and secret not in listed.stdout

    revoked = keys(project, "revoke", key.id)
    assert revoked.exit_code == 0 and revoked.stdout.strip() == f"revoked key {key.id} of ana"
    (shown,) = json.loads(keys(project, "list", "--json").stdout)
    assert shown["id"] == key.id and shown["revoked_at"] and shown["scope"] == {"region": ["华东", "华北"]}
    assert store.verify(secret) is None


@pytest.mark.parametrize(
    ("scope", "words"),
    [
        ("region", "is not dimension=value"),
        ("=华东", "is not dimension=value"),
        ("planet=mars", "no dimension 'planet'"),
    ],
)
def test_bad_scope_input_is_one_sentence_and_a_usage_error(project: Path, scope: str, words: str) -> None:
    result = keys(project, "create", "--user", "ana", "--scope", scope)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert "no API keys" in keys(project, "list").stdout, "nothing was created"


def test_an_unknown_key_id_cannot_be_revoked(project: Path) -> None:
    result = keys(project, "revoke", "nope")
    assert result.exit_code != 0 and "No API key 'nope'" in str(result.exception)


async def test_a_key_from_the_cli_opens_the_api_until_it_is_revoked(project: Path) -> None:
    secret = keys(project, "create", "--user", "ana").stdout.strip()
    key_id = secret.split("_")[1]
    config = load_config(project)
    client, _ = scripted_client(default_model="fake")
    async with MetricsAgent.open(config, llm=client) as metrics:
        api = create_app(config, agents=Agents(metrics=metrics))
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://a", headers=headers) as h:
            before = await h.post("/threads", json={})
            assert keys(project, "revoke", key_id).exit_code == 0
            after = await h.post("/threads", json={})
            unknown = await h.post("/threads", json={}, headers={"Authorization": f"Bearer {secret}x"})

    assert before.status_code == 200, before.text
    assert after.status_code == 403 and key_id in after.json()["detail"] and "revoked" in after.json()["detail"]
    assert unknown.status_code == 401 and "not valid" in unknown.json()["detail"]
