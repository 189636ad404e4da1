"""The MCP server through the official client: in process, and over streamable HTTP with API keys.

Model replies are scripted; the rest is real: the demo catalog, a small DuckDB demo warehouse, the SQL gate, the
read-only runner, the metrics agent and its SQLite checkpointer, the key store, and the SDK's transports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import duckdb
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from agents.metrics import MetricsAgent
from app.keys import KeyStore
from app.mcp_server import build_server, http_app
from knowledge.catalog import demo_catalog_path, load_catalog
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import LLMConfig, ProjectConfig
from serving.client import ModelClient
from tests.unit.fakes import scripted_client

MAX_ROWS = 50
URL = "http://127.0.0.1:8765/mcp"  # the SDK checks the Host header; nothing listens: requests go to the ASGI app
GMV_SQL = "SELECT SUM(paid_amount) AS gmv FROM orders WHERE status <> 'cancelled'"
GMV_BY_REGION_SQL = (
    "SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv FROM orders o "
    "JOIN cities c ON o.city_id = c.city_id JOIN regions r ON c.region_id = r.region_id "
    "WHERE o.status <> 'cancelled' GROUP BY 1 ORDER BY 1"
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=2_000, seed=7)
    return path


def gold(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "warehouse": {"url": str(warehouse), "max_rows": MAX_ROWS},
            "metrics_agent": {"rag": False, "strategy": "sql"},
        }
    )


OpenAgent = Callable[..., AbstractAsyncContextManager[MetricsAgent]]


@pytest.fixture
def open_agent(config: ProjectConfig) -> OpenAgent:
    def make(*replies: str | dict[str, Any], llm: ModelClient | None = None) -> Any:
        return MetricsAgent.open(config, llm=llm or scripted_client(*replies, default_model="fake")[0])

    return make


def text_of(result: CallToolResult) -> str:
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent)
    return result.content[0].text


def assert_one_sentence_error(result: CallToolResult, *words: str) -> None:
    assert result.is_error
    text = text_of(result)
    assert "\n" not in text and "Traceback" not in text
    for word in words:
        assert word in text, text


async def test_tools_are_listed_with_typed_inputs_and_structured_outputs(
    open_agent: OpenAgent, config: ProjectConfig
) -> None:
    async with open_agent() as agent, Client(build_server(config, agent=agent)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"ask", "list_metrics", "list_dimensions", "run_sql"}
    ask = tools["ask"].input_schema
    assert ask["required"] == ["question"]
    assert set(ask["properties"]) == {"question", "thread_id", "include_chart"}  # the request context is not input
    assert tools["run_sql"].input_schema["required"] == ["sql"]
    assert tools["list_metrics"].input_schema["properties"] == {}
    for name, fields in {
        "ask": {"answer", "abstained", "sql", "rows", "thread_id"},
        "run_sql": {"sql", "columns", "rows", "truncated"},
        "list_metrics": {"catalog", "metrics"},
        "list_dimensions": {"catalog", "dimensions"},
    }.items():
        output = tools[name].output_schema
        assert output is not None and fields <= set(output["properties"]), name
        assert tools[name].annotations is not None and tools[name].annotations.read_only_hint


async def test_list_metrics_returns_the_demo_catalog(open_agent: OpenAgent, config: ProjectConfig) -> None:
    catalog = load_catalog(demo_catalog_path())
    async with open_agent() as agent, Client(build_server(config, agent=agent)) as client:
        result = await client.call_tool("list_metrics", {})
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["catalog"] == catalog.name
    metrics = {m["name"]: m for m in result.structured_content["metrics"]}
    assert list(metrics) == [m.name for m in catalog.metrics]
    gmv = metrics["gmv"]
    assert (gmv["label_en"], gmv["label_zh"], gmv["unit"]) == ("GMV", "成交额", "CNY")
    assert gmv["description"] and not gmv["derived"]
    assert gmv["dimensions"] == list(catalog.allowed_dimensions("gmv"))
    assert {"region", "order_date"} <= set(gmv["dimensions"])
    assert gmv["time_grains"] == ["day", "week", "month", "quarter", "year"]
    assert metrics["cancellation_rate"]["derived"]


async def test_list_dimensions_returns_labels_types_and_grains(open_agent: OpenAgent, config: ProjectConfig) -> None:
    async with open_agent() as agent, Client(build_server(config, agent=agent)) as client:
        result = await client.call_tool("list_dimensions", {})
    assert result.structured_content is not None
    dimensions = {d["name"]: d for d in result.structured_content["dimensions"]}
    assert dimensions["region"]["label_zh"] == "地区" and dimensions["region"]["type"] == "categorical"
    assert dimensions["order_date"]["type"] == "time" and "month" in dimensions["order_date"]["time_grains"]
    assert dimensions["region"]["time_grains"] == []


async def test_run_sql_returns_the_rows_of_a_select(
    open_agent: OpenAgent, config: ProjectConfig, warehouse: Path
) -> None:
    sql = "SELECT region_name FROM regions ORDER BY region_id"
    async with open_agent() as agent, Client(build_server(config, agent=agent)) as client:
        result = await client.call_tool("run_sql", {"sql": sql})
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert out["columns"] == ["region_name"]
    assert [tuple(row) for row in out["rows"]] == gold(warehouse, sql)
    assert out["row_count"] == len(out["rows"]) and out["truncated"] is False
    assert f"LIMIT {MAX_ROWS}" in out["sql"] and out["dialect"] == "duckdb"


async def test_run_sql_caps_the_rows_at_warehouse_max_rows(open_agent: OpenAgent, config: ProjectConfig) -> None:
    async with open_agent() as agent, Client(build_server(config, agent=agent)) as client:
        result = await client.call_tool("run_sql", {"sql": "SELECT order_id FROM orders LIMIT 100000"})
    out = result.structured_content
    assert out is not None and out["row_count"] == MAX_ROWS and f"LIMIT {MAX_ROWS}" in out["sql"]


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("DELETE FROM orders", "read_only"),
        ("SELECT COUNT(*) FROM orders, order_items", "no_cartesian_product"),
        ("SELECT * FROM salaries", "allowlist_tables"),
    ],
)
async def test_run_sql_refuses_with_a_one_sentence_tool_error(
    open_agent: OpenAgent, config: ProjectConfig, warehouse: Path, sql: str, rule: str
) -> None:
    before = gold(warehouse, "SELECT COUNT(*) FROM orders")
    async with open_agent() as agent, Client(build_server(config, agent=agent)) as client:
        result = await client.call_tool("run_sql", {"sql": sql})
    assert_one_sentence_error(result, f"Rejected by {rule}:")
    assert result.structured_content is None
    assert gold(warehouse, "SELECT COUNT(*) FROM orders") == before


async def test_ask_returns_the_answer_with_its_sql_and_rows(
    open_agent: OpenAgent, config: ProjectConfig, warehouse: Path
) -> None:
    async with open_agent({"sql": GMV_SQL}) as agent, Client(build_server(config, agent=agent)) as client:
        result = await client.call_tool("ask", {"question": "What is the total GMV?", "include_chart": True})
    assert not result.is_error, text_of(result)
    out = result.structured_content
    assert out is not None
    assert not out["abstained"] and out["answer"]
    assert out["sql"] is not None and f"LIMIT {MAX_ROWS}" in out["sql"]
    assert [tuple(row) for row in out["rows"]] == [(pytest.approx(float(gold(warehouse, GMV_SQL)[0][0])),)]
    assert out["columns"] == ["gmv"] and out["headers"] == ["GMV (CNY)"]
    assert out["chart_kind"] == "card" and out["chart"] is not None
    assert out["thread_id"]


async def test_ask_follows_up_in_the_thread_it_returned(open_agent: OpenAgent, config: ProjectConfig) -> None:
    replies = ({"sql": GMV_SQL}, "What is the total GMV by region?", {"sql": GMV_BY_REGION_SQL})
    async with open_agent(*replies) as agent, Client(build_server(config, agent=agent)) as client:
        first = await client.call_tool("ask", {"question": "What is the total GMV?"})
        assert first.structured_content is not None
        thread = first.structured_content["thread_id"]
        second = await client.call_tool("ask", {"question": "and by region?", "thread_id": thread})
        history = await agent.history(thread)
    assert second.structured_content is not None and second.structured_content["thread_id"] == thread
    assert [text for role, text in history if role == "user"] == ["What is the total GMV?", "and by region?"]


async def test_a_message_that_is_not_a_question_is_declined(open_agent: OpenAgent, config: ProjectConfig) -> None:
    client_llm, chat = scripted_client(default_model="fake")
    async with open_agent(llm=client_llm) as agent, Client(build_server(config, agent=agent)) as client:
        result = await client.call_tool("ask", {"question": "🎉🎉🎉"})
    assert not result.is_error
    out = result.structured_content
    assert out is not None and out["abstained"] and out["reason"]
    assert out["answer"].startswith("I can't answer that")
    assert out["sql"] is None and out["rows"] == []
    assert chat.prompts == []  # declined before any model call


async def test_ask_without_a_model_server_is_a_one_sentence_tool_error(
    open_agent: OpenAgent, config: ProjectConfig
) -> None:
    down = ModelClient(LLMConfig(base_url="http://127.0.0.1:9/v1", max_retries=0), default_model="base")
    async with open_agent(llm=down) as agent, Client(build_server(config, agent=agent)) as client:
        result = await client.call_tool("ask", {"question": "What is the total GMV?"})
    assert_one_sentence_error(result, "Cannot reach the model server")


# -- streamable HTTP ---------------------------------------------------------------------------------------------


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.sqlite")


@asynccontextmanager
async def http_client(app: Any, secret: str) -> AsyncIterator[Client]:
    transport = httpx2.ASGITransport(app=app)
    http = httpx2.AsyncClient(transport=transport, headers={"Authorization": f"Bearer {secret}"})
    async with http, Client(streamable_http_client(URL, http_client=http)) as client:
        yield client


async def test_http_refuses_a_missing_or_unknown_key_with_401_and_a_revoked_one_with_403(
    open_agent: OpenAgent, config: ProjectConfig, keys: KeyStore
) -> None:
    _, secret = keys.create("ana")
    revoked, revoked_secret = keys.create("bob")
    keys.revoke(revoked.id)
    list_tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    refused = {
        "no header": ({}, 401),
        "not bearer": ({"Authorization": f"Basic {secret}"}, 401),
        "unknown key": ({"Authorization": "Bearer kai_000000000000_nope"}, 401),
        "revoked key": ({"Authorization": f"Bearer {revoked_secret}"}, 403),
    }
    async with open_agent() as agent:
        server = build_server(config, agent=agent)
        app = http_app(server, lookup=keys.lookup)
        async with server.session_manager.run(), httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)) as http:
            for case, (headers, status) in refused.items():
                response = await http.post(URL, json=list_tools, headers=headers)
                assert response.status_code == status, case
                body = response.json()
                assert body["detail"].endswith(".") and ". " not in body["detail"], body
                assert body["detail_zh"].endswith("。"), body
            assert revoked.id in body["detail"]  # the revoked key is named
            async with http_client(app, secret) as client:  # the valid key gets through
                assert {t.name for t in (await client.list_tools()).tools} >= {"ask", "run_sql"}


async def test_a_scoped_key_sees_only_its_rows_in_run_sql_and_ask(
    open_agent: OpenAgent, config: ProjectConfig, keys: KeyStore, warehouse: Path
) -> None:
    catalog = load_catalog(demo_catalog_path())
    _, secret = keys.create("ana", {"region": ("华东",)}, catalog=catalog)
    lift = (
        "SELECT r.region_name, COUNT(*) AS n FROM orders o JOIN cities c ON o.city_id = c.city_id "
        "JOIN regions r ON c.region_id = r.region_id WHERE 1 = 1 OR r.region_name <> '华东' GROUP BY 1"
    )
    async with open_agent({"sql": GMV_BY_REGION_SQL}) as agent:
        server = build_server(config, agent=agent)
        app = http_app(server, lookup=keys.lookup)
        async with server.session_manager.run(), http_client(app, secret) as client:
            rows = await client.call_tool("run_sql", {"sql": lift})
            answer = await client.call_tool("ask", {"question": "GMV by region, all regions please"})
    assert rows.structured_content is not None and answer.structured_content is not None
    assert [row[0] for row in rows.structured_content["rows"]] == ["华东"]
    assert [row[0] for row in answer.structured_content["rows"]] == ["华东"]
    everywhere = dict(gold(warehouse, GMV_BY_REGION_SQL))
    assert answer.structured_content["rows"][0][1] == pytest.approx(float(everywhere["华东"]))
    assert len(everywhere) > 1


async def test_http_threads_are_kept_per_user(open_agent: OpenAgent, config: ProjectConfig, keys: KeyStore) -> None:
    _, ana = keys.create("ana")
    _, bob = keys.create("bob")
    async with open_agent({"sql": GMV_SQL}, {"sql": GMV_SQL}) as agent:
        server = build_server(config, agent=agent)
        app = http_app(server, lookup=keys.lookup)
        async with server.session_manager.run():
            async with http_client(app, ana) as client:
                await client.call_tool("ask", {"question": "What is the total GMV?", "thread_id": "t1"})
            async with http_client(app, bob) as client:
                out = await client.call_tool("ask", {"question": "What was the GMV?", "thread_id": "t1"})
        assert out.structured_content is not None and out.structured_content["thread_id"] == "t1"
        assert not await agent.has_thread("t1")  # neither user's thread is the local user's "t1"
        threads = sorted(await agent._thread_ids("mcp:"))
    assert len(threads) == 2 and any("ana" in t for t in threads) and any("bob" in t for t in threads)


async def test_an_http_request_that_bypassed_the_key_check_is_refused(
    open_agent: OpenAgent, config: ProjectConfig
) -> None:
    async with open_agent() as agent:
        server = build_server(config, agent=agent)
        bare = server.streamable_http_app()  # served without RequireKey by mistake
        async with server.session_manager.run(), http_client(bare, "anything") as client:
            result = await client.call_tool("run_sql", {"sql": "SELECT 1 AS one FROM regions"})
    assert_one_sentence_error(result, "no verified API key")
