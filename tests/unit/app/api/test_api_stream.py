"""What ``/runs/stream`` sends: the answer as a ``messages`` event in LangGraph's messages-tuple shape, in order,
``stream_mode`` choosing the events, and the planner answering a scoped key with only the key's rows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from agents.metrics import MetricsAgent
from agents.planner import PlannerAgent
from app.api import Agents, create_app
from app.keys import KeyStore
from kubeai.config import ProjectConfig
from tests.unit.app.api.conftest import BY_REGION_SQL, GMV_SQL, Opener, sse_events
from tests.unit.fakes import scripted_client
from tests.unit.graphs.planner_support import task

EAST = "华东"


async def stream(http: httpx.AsyncClient, thread: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    response = await http.post(f"/threads/{thread}/runs/stream", json=body)
    assert response.status_code == 200, response.text
    return sse_events(response.text)


async def test_the_answer_is_one_messages_event_just_before_the_answer_nodes_update(api: Opener, secret: str) -> None:
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        events = await stream(http, thread, {"input": {"question": "GMV?"}})

    kinds = [kind for kind, _ in events]
    assert kinds.count("messages") == 1 and kinds[0] == "metadata" and kinds[-2:] == ["values", "end"]
    at = kinds.index("messages")
    message, metadata = events[at][1]
    assert events[at + 1] == ("updates", events[at + 1][1]) and next(iter(events[at + 1][1])) == "answer"
    values = events[-2][1]
    assert message["type"] == "ai" and message["content"] == values["answer"] and message["id"]
    assert metadata == {"langgraph_node": "answer", "run_id": events[0][1]["run_id"], "thread_id": thread}
    assert {"gate", "execute"} <= {next(iter(data)) for kind, data in events[:at] if kind == "updates"}


async def test_stream_mode_picks_the_events(api: Opener, secret: str) -> None:
    async with api(GMV_SQL, GMV_SQL, GMV_SQL, secret=secret) as http:
        found = []
        for mode in ("messages-tuple", ["values"], ["custom", "updates"]):  # a fresh thread each: no follow-up
            thread = (await http.post("/threads", json={})).json()["thread_id"]
            found.append(await stream(http, thread, {"input": {"question": "GMV?"}, "stream_mode": mode}))
    tuples, values, unknown = found
    assert [kind for kind, _ in tuples] == ["metadata", "messages", "end"]
    assert [kind for kind, _ in values] == ["metadata", "values", "end"]
    assert {kind for kind, _ in unknown} == {"metadata", "updates", "end"}


async def test_a_paused_run_sends_no_answer_and_its_resumption_does(api: Opener, secret: str) -> None:
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        paused = await stream(http, thread, {"input": {"question": "GMV?"}, "require_approval": True})
        resumed = await stream(http, thread, {"command": {"resume": {"action": "approve"}}})

    assert "messages" not in [kind for kind, _ in paused] and paused[-2][1]["__interrupt__"]
    assert [kind for kind, _ in resumed] == ["metadata", "messages", "values", "end"]
    assert resumed[1][1][0]["content"] == resumed[2][1]["answer"] and resumed[2][1]["rows"]


async def test_the_planner_answers_a_scoped_key_with_only_its_rows(config: ProjectConfig, keys: KeyStore) -> None:
    _, scoped = keys.create("east", {"region": [EAST]})
    plan = {"tasks": [task("t1", "metric_query", {"question": "GMV by region"})]}
    answer = {"answer": "GMV by region is in [t1].", "sources": ["t1"]}
    client, _ = scripted_client(plan, BY_REGION_SQL, answer, default_model="fake")

    @contextlib.asynccontextmanager
    async def served() -> AsyncIterator[httpx.AsyncClient]:
        async with (
            MetricsAgent.open(config, llm=client) as metrics,
            PlannerAgent.open(config, llm=client, metrics_agent=metrics, documents=False, demos=0) as planner,
        ):
            app = create_app(config, agents=Agents(metrics=metrics, planner=planner), keys=keys)
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {scoped}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as http:
                yield http

    async with served() as http:
        thread = (await http.post("/threads", json={"assistant_id": "planner"})).json()["thread_id"]
        events = await stream(http, thread, {"input": {"request": "GMV by region"}})

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "metadata" and kinds[-3:] == ["messages", "values", "end"], events
    nodes = [next(iter(data)) for kind, data in events if kind == "updates"]
    assert kinds[1:-3] == ["updates"] * len(nodes)  # the task graph is streamed while it runs, node by node
    assert nodes.index("select") < nodes.index("run_task") < nodes.index("respond"), nodes
    ran = next(data["run_task"] for kind, data in events if kind == "updates" and "run_task" in data)
    assert {row[0] for row in ran["results"]["t1"]["table"]["rows"]} == {EAST}, ran
    values = events[-2][1]
    (metric_task,) = values["tasks"]
    assert metric_task["status"] in ("ok", "changed"), metric_task
    assert {row[0] for row in metric_task["rows"]} == {EAST}
    message = events[-3][1]
    assert message[0]["content"] == values["answer"] and message[1]["langgraph_node"] == "respond"
