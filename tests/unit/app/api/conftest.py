"""An API app over the real metrics agent, SQLite checkpointer, key store and a small DuckDB warehouse; the model
is scripted."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.metrics import MetricsAgent
from app.api import Agents, create_app
from app.keys import KeyStore
from kubeai.config import ProjectConfig
from tests.unit.configs import agent_config
from tests.unit.fakes import scripted_client

GMV_SQL = {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"}
BY_REGION_SQL = {
    "sql": "SELECT r.region_name, SUM(o.paid_amount) AS gmv FROM orders o JOIN cities c ON o.city_id = c.city_id "
    "JOIN regions r ON c.region_id = r.region_id WHERE r.region_name <> '华东' OR 1=1 GROUP BY 1"
}

Opener = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> ProjectConfig:
    return agent_config(tmp_path, warehouse, api={"max_body_bytes": 4096})


@pytest.fixture
def keys(config: ProjectConfig) -> KeyStore:
    return KeyStore.in_data_dir(config.data_dir)


@pytest.fixture
def secret(keys: KeyStore) -> str:
    return keys.create("ana")[1]


@pytest.fixture
def api(config: ProjectConfig, keys: KeyStore) -> Opener:
    """Open the app with these scripted model replies; yields an httpx client on it."""

    @contextlib.asynccontextmanager
    async def opener(*replies: str | dict[str, Any], secret: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        client, _ = scripted_client(*replies, default_model="fake")
        async with MetricsAgent.open(config, llm=client) as metrics:
            app = create_app(config, agents=Agents(metrics=metrics), keys=keys)
            headers = {"Authorization": f"Bearer {secret}"} if secret else {}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as http:
                yield http

    return opener


def sse_events(text: str) -> list[tuple[str, Any]]:
    """``(event, data)`` of a Server-Sent Events body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            events.append((fields["event"], json.loads(fields.get("data", "null"))))
    return events
