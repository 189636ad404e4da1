"""Every error body of the HTTP API in English and Chinese, ``detail`` in the language ``Accept-Language`` prefers;
an agent's error named in Chinese with its English detail; an unexpected error a logged 500 with one sentence."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from fastapi import FastAPI

from agents.metrics import MetricsAgent
from app.api import Agents, create_app
from app.keys import KeyStore
from app.messages import failure, preferred_language
from kubeai.config import LLMConfig, ProjectConfig
from kubeai.errors import (
    KubeAIError,
    ModelServerUnresponsiveError,
    SQLGateError,
    WarehouseUnavailableError,
)
from serving.client import ModelClient
from tests.unit.app.api.conftest import Opener, sse_events

CHINESE = re.compile("[\u4e00-\u9fff]")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh", "zh"),
        ("en-US,zh;q=0.5", "en"),
        ("fr,zh;q=0.7,en;q=0.3", "zh"),
        ("en;q=0.2,zh-TW;q=0.9", "zh"),
        ("zh;q=abc,en", "en"),
        ("*", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_accept_language_picks_chinese_only_when_it_is_preferred(header: str | None, language: str) -> None:
    assert preferred_language(header) == language


@pytest.mark.parametrize(
    ("error", "lead"),
    [
        (
            ModelServerUnresponsiveError("No answer in 5 s.", deadline_s=5, setting="llm.connect_timeout"),
            "模型服务器无响应",
        ),
        (WarehouseUnavailableError("The warehouse file is missing."), "数据仓库无法连接"),
        (SQLGateError("Only SELECT statements may run.", rule="read_only"), "SQL 未通过安全检查"),
        (KubeAIError("Something else went wrong."), "请求失败"),
    ],
)
def test_an_agent_error_is_a_chinese_lead_naming_its_kind_then_the_english_detail(
    error: KubeAIError, lead: str
) -> None:
    sentence = failure(error)
    assert sentence.en == str(error)
    assert sentence.zh.startswith(lead) and sentence.zh.endswith(str(error))


async def test_refusals_answer_in_both_languages_and_detail_follows_accept_language(
    api: Opener, keys: KeyStore, secret: str
) -> None:
    key, revoked = keys.create("cy")
    keys.revoke(key.id)
    async with api(secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        url = f"/threads/{thread}/runs/wait"
        english = await http.post(url, json={"metadata": {}})
        chinese = [
            await http.post(url, json={"metadata": {}}, headers=ZH),
            await http.post(url, content=b"{", headers={**ZH, "Content-Type": "application/json"}),
            await http.post(url, json={"input": {"question": " "}}, headers=ZH),
            await http.get("/threads/nope", headers=ZH),
            await http.get("/nowhere", headers=ZH),
            await http.delete("/health", headers=ZH),
            await http.post(url, json={"input": {"question": "x" * 9_000}}, headers=ZH),
            await http.post("/threads", json={}, headers={**ZH, "Authorization": ""}),
            await http.get("/assistants", headers={**ZH, "Authorization": f"Bearer {revoked}"}),
        ]

    assert english.status_code == 422
    body = english.json()
    assert body["detail"] == body["detail_en"] and "give `input`" in body["detail"]
    assert "`input`" in body["detail_zh"] and CHINESE.search(body["detail_zh"])
    statuses = [response.status_code for response in chinese]
    assert statuses == [422, 422, 422, 404, 404, 405, 413, 401, 403], [r.text for r in chinese]
    for response in chinese:
        body = response.json()
        assert set(body) == {"detail", "detail_en", "detail_zh"}, body
        assert body["detail"] == body["detail_zh"] != body["detail_en"], body
        assert CHINESE.search(body["detail_zh"]) and not CHINESE.search(body["detail_en"].replace("华东", "")), body
    assert chinese[1].json()["detail_zh"] == "请求体不是有效的 JSON。"
    assert "已被吊销" in chinese[-1].json()["detail_zh"] and key.id in chinese[-1].json()["detail_zh"]


async def test_an_agent_error_answers_its_status_with_a_chinese_lead(config: ProjectConfig, keys: KeyStore) -> None:
    _, secret = keys.create("ana")
    dead = ModelClient(  # nothing listens on port 9: the model server is unavailable
        LLMConfig(base_url="http://127.0.0.1:9/v1", connect_timeout_s=2, max_retries=0), default_model="fake"
    )
    async with MetricsAgent.open(config, llm=dead) as metrics:
        app = create_app(config, agents=Agents(metrics=metrics), keys=keys)
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a", headers=headers) as h:
            response = await h.post("/runs/wait", json={"input": {"question": "GMV?"}})
            thread = (await h.post("/threads", json={})).json()["thread_id"]
            streamed = await h.post(f"/threads/{thread}/runs/stream", json={"input": {"question": "GMV?"}})

    body = response.json()
    assert response.status_code == 503, body
    assert body["detail"] == body["detail_en"] and "127.0.0.1:9" in body["detail_en"]
    assert body["detail_zh"].startswith("模型服务器") and body["detail_zh"].endswith(body["detail_en"])
    kind, error = sse_events(streamed.text)[-1]
    assert kind == "error" and error["status"] == 503 and error["message"] == body["detail_en"]
    assert error["message_zh"] == body["detail_zh"]


async def test_an_unexpected_error_is_a_logged_500_with_one_sentence_and_no_traceback(
    config: ProjectConfig, keys: KeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    async with MetricsAgent.open(config) as metrics:
        app: FastAPI = create_app(config, agents=Agents(metrics=metrics), keys=keys)

        @app.get("/boom")
        def boom() -> None:
            raise RuntimeError("internal state: password=hunter2")

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as http:
            with caplog.at_level(logging.ERROR, logger="kubeai.api"):
                english = await http.get("/boom")
                chinese = await http.get("/boom", headers=ZH)

    assert english.status_code == chinese.status_code == 500
    body = english.json()
    assert body["detail"] == "The server failed to handle this request; the error is in its log."
    assert chinese.json()["detail"] == body["detail_zh"] and CHINESE.search(body["detail_zh"])
    for text in (english.text, chinese.text):
        assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    logged = [r for r in caplog.records if r.name == "kubeai.api" and r.exc_info]
    assert len(logged) == 2 and "GET /boom" in logged[0].getMessage()
    assert logged[0].exc_info is not None and isinstance(logged[0].exc_info[1], RuntimeError)
