"""``kubeai mcp`` as a real subprocess, driven by the official MCP client, against the real vLLM server.

Over stdio the local user asks the README's total and gets exactly the warehouse's gold rows. Over streamable HTTP
a request without a valid key is refused with 401 (403 for a revoked one), and a key scoped to one region asks the
same question and gets that region's total, never the whole company's.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from app.keys import KeyStore
from evals.scorers import execution_match
from knowledge.catalog import demo_catalog_path, load_catalog
from tests.integration.support import REPO, LiveServer, cli_env
from tests.integration.test_metrics_agent import GMV_2025, PINNED, gold_rows

pytestmark = pytest.mark.integration

QUESTION = "What was our total GMV in 2025?"
GMV_2025_EAST = (
    "SELECT SUM(o.paid_amount) AS gmv FROM orders AS o JOIN cities AS c ON o.city_id = c.city_id "
    "JOIN regions AS r ON c.region_id = r.region_id WHERE r.region_name = '华东' AND o.status <> 'cancelled' "
    "AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'"
)
LISTENING = re.compile(r"MCP over streamable HTTP at (http://\S+)")


def mcp_env(live_server: LiveServer, warehouse: Path, data_dir: Path) -> dict[str, str]:
    return cli_env(
        KUBEAI_LLM__BASE_URL=live_server.base_url,
        KUBEAI_LLM__TIMEOUT_S="600",
        KUBEAI_WAREHOUSE__URL=str(warehouse),
        KUBEAI_DATA_DIR=str(data_dir),
        **{f"KUBEAI_METRICS_AGENT__{key.upper()}": str(value).lower() for key, value in PINNED.items()},
    )


def rows_of(result: Any) -> list[tuple[Any, ...]]:
    assert not result.is_error, result.content
    out = result.structured_content
    assert out is not None and not out["abstained"], out["reason"]
    assert out["sql"] and out["answer"]
    return [tuple(row) for row in out["rows"]]


async def test_stdio_answers_the_total_with_the_warehouse_gold(
    live_server: LiveServer, demo_warehouse: Path, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app", "mcp"],
        env=mcp_env(live_server, demo_warehouse, tmp_path / "data"),
        cwd=str(REPO),
    )
    async with Client(params, read_timeout_seconds=900) as client:
        metrics = await client.call_tool("list_metrics", {})
        answer = await client.call_tool("ask", {"question": QUESTION})
    assert metrics.structured_content is not None
    assert "gmv" in {m["name"] for m in metrics.structured_content["metrics"]}
    assert execution_match(rows_of(answer), gold_rows(demo_warehouse, GMV_2025))


@pytest.fixture
def http_server(live_server: LiveServer, demo_warehouse: Path, tmp_path: Path) -> Iterator[tuple[str, KeyStore]]:
    """``kubeai mcp --transport http --port 0`` running; its URL and the key store it checks keys against."""
    data_dir = tmp_path / "data"
    keys = KeyStore.in_data_dir(data_dir)
    log = tmp_path / "mcp.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "mcp", "--transport", "http", "--port", "0"],
            cwd=REPO,
            env=mcp_env(live_server, demo_warehouse, data_dir),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        url = None
        deadline = time.monotonic() + 300  # a guard against a server that never starts, not a speed goal
        while url is None and process.poll() is None and time.monotonic() < deadline:
            found = LISTENING.search(log.read_text(encoding="utf-8"))
            url = found.group(1) if found else None
            time.sleep(0.2)
        assert url is not None, log.read_text(encoding="utf-8")
        yield url, keys
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text(encoding="utf-8")


async def test_http_refuses_missing_unknown_and_revoked_keys(http_server: tuple[str, KeyStore]) -> None:
    url, keys = http_server
    revoked, secret = keys.create("gone")
    keys.revoke(revoked.id)
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    cases = (({}, 401), ({"Authorization": "Bearer kai_0_0"}, 401), ({"Authorization": f"Bearer {secret}"}, 403))
    async with httpx2.AsyncClient() as http:
        for headers, status in cases:
            response = await http.post(url, json=request, headers=headers)
            assert response.status_code == status, (headers, response.text)
            assert response.json()["detail"].endswith(".")


async def test_http_scoped_key_gets_only_its_region(http_server: tuple[str, KeyStore], demo_warehouse: Path) -> None:
    url, keys = http_server
    _, secret = keys.create("east", {"region": ("华东",)}, catalog=load_catalog(demo_catalog_path()))
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=900)
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=900) as client:
        answer = await client.call_tool("ask", {"question": QUESTION})
        regions = await client.call_tool("run_sql", {"sql": "SELECT region_name FROM regions ORDER BY 1"})
    east = gold_rows(demo_warehouse, GMV_2025_EAST)
    assert east != gold_rows(demo_warehouse, GMV_2025)
    assert execution_match(rows_of(answer), east)
    assert regions.structured_content is not None and regions.structured_content["rows"] == [["华东"]]
