"""Prompt apps as assistants of the API (``app:<name>``) and the per-run model choice, with a scripted model."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from agents.metrics import MetricsAgent
from app.api import Agents, create_app
from app.api.apps import ServedApps
from app.api.errors import ApiError
from app.api.schemas import RunCreate
from app.api.service import Service
from app.keys import KeyStore
from kubeai.config import ProjectConfig
from tests.unit.app.api.conftest import GMV_SQL, sse_events
from tests.unit.configs import agent_config
from tests.unit.fakes import ScriptedChat, scripted_client

Opened = tuple[httpx.AsyncClient, ScriptedChat, Service]
AppsOpener = Callable[..., contextlib.AbstractAsyncContextManager[Opened]]

ADAPTER = "kubeai-style"

PAGE = {
    "title": "<script>alert(1)</script> Rooms",
    "navigation": ["Home"],
    "sections": [
        {
            "heading": "Book",
            "components": [
                {
                    "type": "form",
                    "title": "Book a room",
                    "fields": [{"label": "Date", "type": "date"}],
                    "columns": [],
                    "items": [],
                    "text": "Book",
                }
            ],
        }
    ],
}

TRIAGE = {  # a user's app in apps.dir, with chain of thought
    "name": "triage",
    "description": {"en": "Says how urgent a ticket is.", "zh": "判断工单的紧急程度。"},
    "chain_of_thought": True,
    "prompt": {"instruction": "Rate the urgency.", "context": "Ticket: {{ input }}", "output_requirements": "One."},
    "examples": [{"input": "site down", "output": "high", "reasoning": "Nobody can work."}],
    "output": {"choices": ["high", "low"]},
}


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> ProjectConfig:
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "triage.yaml").write_text(yaml.safe_dump(TRIAGE, allow_unicode=True), encoding="utf-8")
    adapter = tmp_path / "style"
    adapter.mkdir()
    registered = {"name": ADAPTER, "base": "smollm2-135m", "path": str(adapter), "card": {"description": "Style."}}
    return agent_config(tmp_path, warehouse, apps={"dir": str(apps)}, models={"adapters": [registered]})


@pytest.fixture
def open_api(config: ProjectConfig, keys: KeyStore) -> AppsOpener:
    """The API over the metrics agent and the prompt apps, one scripted client for both."""

    @contextlib.asynccontextmanager
    async def opener(*replies: str | dict[str, Any], secret: str | None = None) -> AsyncIterator[Opened]:
        client, chat = scripted_client(*replies, default_model="fake")
        async with MetricsAgent.open(config, llm=client) as metrics:
            agents = Agents(metrics=metrics, apps=ServedApps.load(config, llm=client))
            app = create_app(config, agents=agents, keys=keys)
            headers = {"Authorization": f"Bearer {secret}"} if secret else {}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as http:
                yield http, chat, app.state.service

    return opener


def assert_bilingual(response: httpx.Response, status: int, words: str) -> None:
    body = response.json()
    assert response.status_code == status, response.text
    assert list(body) == ["detail", "detail_en", "detail_zh"] and words in body["detail_en"], body
    assert re.search("[\u4e00-\u9fff]", body["detail_zh"]) and "\n" not in body["detail_en"], body


# -- apps as assistants -------------------------------------------------------------------------------------------


async def test_every_app_is_an_assistant_with_its_description_and_contract(open_api: AppsOpener, secret: str) -> None:
    async with open_api(secret=secret) as (http, _, _):
        listed = (await http.get("/assistants")).json()
        one = (await http.get("/assistants/app:ticket_router")).json()
        apps = (await http.post("/assistants/search", json={"graph_id": "app", "limit": 100})).json()
        missing = await http.get("/assistants/app:nothing", headers={"Accept-Language": "zh-CN"})

    ids = [a["assistant_id"] for a in listed]
    assert ids[0] == "metrics" and {"app:ticket_router", "app:prototype", "app:triage"} <= set(ids)
    assert {a["assistant_id"] for a in apps} == {i for i in ids if i.startswith("app:")}
    assert one["graph_id"] == "app" and one["description"].startswith("Routes a customer-support ticket")
    meta = one["metadata"]
    assert meta["kind"] == "app" and meta["source"] == "bundled" and "客服工单" in meta["description_zh"]
    assert meta["output"]["kind"] == "choice" and meta["output"]["choices"][0] == "billing"
    assert meta["output"]["json_schema"]["properties"]["choice"]["enum"] == meta["output"]["choices"]
    prototype = next(a for a in listed if a["assistant_id"] == "app:prototype")["metadata"]["output"]
    assert prototype["schema"] == "page" and prototype["renders"] == "html" and "sections" in str(prototype)
    triage = next(a for a in listed if a["assistant_id"] == "app:triage")["metadata"]
    assert triage["source"] == "apps.dir" and triage["chain_of_thought"] is True
    assert missing.status_code == 404 and "没有助手" in missing.json()["detail"]


async def test_an_app_answers_on_a_thread_which_keeps_its_turns(open_api: AppsOpener, secret: str) -> None:
    replies = ({"choice": "shipping"}, {"choice": "billing"})
    async with open_api(*replies, secret=secret) as (http, chat, _):
        created = await http.post("/threads", json={"assistant_id": "app:ticket_router"})
        thread = created.json()["thread_id"]
        first = await http.post(f"/threads/{thread}/runs/wait", json={"input": {"input": "我的快递一周没动了"}})
        url = f"/threads/{thread}/runs/wait"
        second = await http.post(url, json={"input": {"messages": [{"role": "user", "content": "charged twice"}]}})
        state = (await http.get(f"/threads/{thread}/state")).json()
        listed = (await http.post("/threads/search", json={})).json()

    assert created.json()["assistant_id"] == "app:ticket_router"
    assert first.status_code == 200, first.text
    values = first.json()
    assert values["result"] == "shipping" and values["answer"] == "shipping" and values["reasoning"] is None
    assert values["app"] == "ticket_router" and values["output"] == "choice" and values["language"] == "zh"
    assert "page" not in values and values["model"] == "fake"
    assert "我的快递一周没动了" in chat.prompts[0][-1].content  # the input reached the model in the context part
    assert second.json()["result"] == "billing"
    assert state["values"]["result"] == "billing"
    assert [m["content"] for m in state["values"]["messages"]] == [
        "我的快递一周没动了",
        "shipping",
        "charged twice",
        "billing",
    ]
    assert listed[0]["status"] == "idle"


async def test_a_stateless_app_run_and_a_scoped_key(open_api: AppsOpener, keys: KeyStore) -> None:
    _, scoped = keys.create("east", {"region": ["华东"]})
    async with open_api({"choice": "account"}, secret=scoped) as (http, _, _):
        response = await http.post(
            "/runs/wait", json={"assistant_id": "app:ticket_router", "input": {"question": "I cannot log in"}}
        )
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "account"  # an app reads no warehouse rows, so a scoped key may use it


async def test_an_app_run_streams_its_answer_update_and_values(open_api: AppsOpener, secret: str) -> None:
    async with open_api({"choice": "technical"}, secret=secret) as (http, _, _):
        thread = (await http.post("/threads", json={"assistant_id": "app:ticket_router"})).json()["thread_id"]
        response = await http.post(f"/threads/{thread}/runs/stream", json={"input": {"input": "The app crashes"}})

    events = sse_events(response.text)
    assert [kind for kind, _ in events] == ["metadata", "messages", "updates", "values", "end"]
    assert events[0][1]["assistant_id"] == "app:ticket_router"
    message, meta = events[1][1]
    assert message["content"] == "technical" and meta["langgraph_node"] == "app"
    assert events[2][1]["app"]["result"] == "technical" and events[3][1]["result"] == "technical"


async def test_chain_of_thought_is_kept_apart_from_the_result(open_api: AppsOpener, secret: str) -> None:
    async with open_api({"reasoning": "Checkout fails for all.", "choice": "high"}, secret=secret) as (http, _, _):
        response = await http.post(
            "/runs/wait", json={"assistant_id": "app:triage", "input": {"input": "checkout 500"}}
        )
    values = response.json()
    assert values["result"] == "high" and values["answer"] == "high"
    assert values["reasoning"] == "Checkout fails for all."


async def test_the_prototype_answers_with_its_spec_and_the_page_code_rendered_from_it(
    open_api: AppsOpener, secret: str
) -> None:
    async with open_api(PAGE, secret=secret) as (http, _, _):
        thread = (await http.post("/threads", json={"assistant_id": "app:prototype"})).json()["thread_id"]
        run = await http.post(f"/threads/{thread}/runs/wait", json={"input": {"input": "A meeting-room booking app"}})
        page = await http.get(f"/threads/{thread}/page")
        router = (await http.post("/threads", json={"assistant_id": "app:ticket_router"})).json()["thread_id"]
        none = await http.get(f"/threads/{router}/page")

    values = run.json()
    assert values["result"]["title"] == PAGE["title"] and values["result"]["sections"][0]["heading"] == "Book"
    html = values["page"]
    assert html.lstrip().lower().startswith("<!doctype html>") and "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Rooms" in html  # the model's words are text, never markup
    assert page.status_code == 200 and page.text == html and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and policy.endswith("sandbox") and "script-src" not in policy
    assert_bilingual(none, 404, "has no rendered page")


async def test_bad_app_input_and_bad_answers_are_one_sentence(open_api: AppsOpener, secret: str) -> None:
    async with open_api({"choice": "refunds"}, {"choice": "refunds"}, secret=secret) as (http, _, _):
        thread = (await http.post("/threads", json={"assistant_id": "app:ticket_router"})).json()["thread_id"]
        url = f"/threads/{thread}/runs/wait"
        empty = await http.post(url, json={"input": {"input": "  "}})
        long = await http.post("/runs/wait", json={"assistant_id": "app:ticket_router", "input": {"input": "x" * 4001}})
        unknown = await http.post("/threads", json={"assistant_id": "app:nothing"})
        malformed = await http.post("/threads", json={"assistant_id": "app:Not A Name"})
        command = await http.post(url, json={"command": {"resume": "approve"}})
        outside = await http.post(url, json={"input": {"input": "refund me"}})
        streamed = await http.post(f"/threads/{thread}/runs/stream", json={"input": {"input": "refund me"}})

    assert_bilingual(empty, 422, "question is empty")
    assert_bilingual(unknown, 404, "No assistant 'app:nothing'")
    assert_bilingual(malformed, 422, "`app:<name>`")
    assert_bilingual(command, 409, "an app does not pause")
    assert_bilingual(outside, 502, "did not pick one of")
    assert long.status_code in (413, 422)  # over the body limit or the question limit, either way one sentence
    error = next(data for kind, data in sse_events(streamed.text) if kind == "error")
    assert "did not pick one of" in error["message"] and re.search("[\u4e00-\u9fff]", error["message_zh"])


# -- the per-run model --------------------------------------------------------------------------------------------


def with_model(model: Any, **body: Any) -> dict[str, Any]:
    return {**body, "config": {"configurable": {"model": model}}}


async def test_the_metrics_agent_runs_on_the_model_a_run_picks(open_api: AppsOpener, secret: str) -> None:
    async with open_api(GMV_SQL, GMV_SQL, GMV_SQL, secret=secret) as (http, chat, _):
        ask = {"input": {"question": "GMV?"}}
        configured = await http.post("/runs/wait", json=ask)
        used_by_default = list(chat.models)
        chat.models.clear()
        picked = await http.post("/runs/wait", json=with_model(ADAPTER, **ask))
        used_when_picked = list(chat.models)
        chat.models.clear()
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        streamed = await http.post(f"/threads/{thread}/runs/stream", json=with_model(ADAPTER, **ask))

    assert configured.status_code == 200 and picked.status_code == 200, picked.text
    assert used_by_default and set(used_by_default) == {"fake"}
    assert used_when_picked and set(used_when_picked) == {ADAPTER}
    assert set(chat.models) == {ADAPTER} and sse_events(streamed.text)[-1][0] == "end"
    assert picked.json()["rows"] == configured.json()["rows"]


async def test_an_app_runs_on_the_model_a_run_picks(open_api: AppsOpener, secret: str) -> None:
    async with open_api({"choice": "billing"}, secret=secret) as (http, chat, _):
        body = with_model(ADAPTER, assistant_id="app:ticket_router", input={"input": "refund"})
        response = await http.post("/runs/wait", json=body)
    assert response.json()["model"] == ADAPTER and chat.models == [ADAPTER]


async def test_an_unknown_or_unservable_model_is_refused_before_the_run(
    open_api: AppsOpener, secret: str, config: ProjectConfig
) -> None:
    trained = config.data_dir / "adapters"
    for name in ("metrics-v1", "metrics-v2"):
        (trained / name).mkdir(parents=True)
        (trained / name / "adapter_config.json").write_text(json.dumps({"r": 8, "peft_type": "LORA"}))
        (trained / name / "kubeai_card.json").write_text(json.dumps({"role": "support:faq"}))
    (trained / "routes.json").write_text(json.dumps({"support:faq": {"current": "metrics-v2", "previous": []}}))
    async with open_api(GMV_SQL, secret=secret) as (http, chat, service):
        ask = {"input": {"question": "GMV?"}}
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        unknown = await http.post(f"/threads/{thread}/runs/wait", json=with_model("gpt-9", **ask))
        stream = await http.post(f"/threads/{thread}/runs/stream", json=with_model("gpt-9", **ask))
        app = await http.post(
            "/runs/wait", json=with_model("gpt-9", assistant_id="app:prototype", input={"input": "x"})
        )
        not_text = await http.post("/runs/wait", json=with_model(["a"], **ask))
        idle = await http.post("/runs/wait", json=with_model("metrics-v1", **ask))
        routed = await http.post("/runs/wait", json=with_model("metrics-v2", **ask))

    for refused in (unknown, stream, app):
        assert_bilingual(refused, 422, "Model 'gpt-9' is not served; GET /adapters lists")
    assert_bilingual(not_text, 422, "must be a model name")
    assert_bilingual(idle, 422, "Adapter 'metrics-v1' is trained but serves no role")
    assert routed.status_code == 200 and set(chat.models) == {"metrics-v2"}  # only the served one ran
    planner = RunCreate.model_validate(with_model(ADAPTER, **ask))
    with pytest.raises(ApiError, match="The planner picks a model for each task") as refused_planner:
        service.run_model("planner", planner)
    assert refused_planner.value.status_code == 422


async def test_a_picked_model_replaces_the_tuned_adapter_unless_it_is_that_adapter(
    config: ProjectConfig,
) -> None:
    client, _ = scripted_client()
    async with MetricsAgent.open(config, llm=client) as opened:
        agent = opened.scoped({})
        agent.context = dataclasses.replace(agent.context, tuned_model="metrics-v2")
        other = agent.scoped({}, model=ADAPTER).context
        same = agent.scoped({}, model="metrics-v2").context
    assert (other.model, other.tuned_model) == (ADAPTER, None)
    assert (same.model, same.tuned_model) == ("metrics-v2", "metrics-v2")
    assert agent.scoped({}) is agent and agent.context.model is None
