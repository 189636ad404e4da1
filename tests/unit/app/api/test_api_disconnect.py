"""A client that goes away mid-stream cancels the run; the thread stays consistent and takes the next run.

A real uvicorn server in the test's event loop, a real httpx streaming client that closes after the first event,
the real checkpointer; the model is scripted and holds its first reply until the client has gone.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any

import httpx
import uvicorn
from langchain_core.messages import AIMessage
from pydantic import Field

from agents.metrics import MetricsAgent
from app.api import Agents, create_app
from app.keys import KeyStore
from kubeai.config import LLMConfig, ProjectConfig
from serving.client import ModelClient
from tests.unit.app.api.conftest import GMV_SQL
from tests.unit.fakes import ScriptedChat


class HeldChat(ScriptedChat):
    """Holds the first call until ``release`` is set, so the run cannot finish before the client leaves."""

    entered: threading.Event = Field(default_factory=threading.Event)
    release: threading.Event = Field(default_factory=threading.Event)

    def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(60)
        return super()._generate(messages, *args, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_client_leaving_mid_stream_cancels_the_run_cleanly(config: ProjectConfig, keys: KeyStore) -> None:
    secret = keys.create("ana")[1]
    replies = [json.dumps(GMV_SQL)] * 3
    chat = HeldChat(messages=iter(AIMessage(content=t) for t in replies))
    client = ModelClient(LLMConfig(context_length=8192), default_model="fake", chat_factory=lambda _name: chat)
    port = free_port()
    async with MetricsAgent.open(config, llm=client) as metrics:
        app = create_app(config, agents=Agents(metrics=metrics), keys=keys)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.05)
            headers = {"Authorization": f"Bearer {secret}"}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
                thread = (await http.post("/threads", json={})).json()["thread_id"]
                url = f"/threads/{thread}/runs/stream"
                async with http.stream("POST", url, json={"input": {"question": "GMV?"}}) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("event: updates"):
                            break
                # The client left after the first node's update, before the answer: the run is cancelled.
                for _ in range(200):
                    status = (await http.get(f"/threads/{thread}")).json()["status"]
                    if status != "busy":
                        break
                    await asyncio.sleep(0.05)
                chat.release.set()
                state = (await http.get(f"/threads/{thread}/state")).json()
                after = await http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "GMV now?"}})
        finally:
            chat.release.set()
            server.should_exit = True
            await serving

    assert status == "idle"
    assert "assistant" not in [m["role"] for m in state["values"].get("messages", [])]  # never half-answered
    assert after.status_code == 200, after.text
    assert after.json()["rows"][0][0] > 0
    assert [m["role"] for m in after.json()["messages"]][-2:] == ["user", "assistant"]
