"""A model server that misbehaves, served for real by a local HTTP server in each test.

A proxy's HTML page, JSON of another shape, an empty ``choices`` list, a server that accepts connections and never
answers, one that answers ``/v1/models`` but hangs on a generation, and a flaky 503: each ends in one sentence that
names the server's URL, raised from the client every agent uses, after a bounded wait, with progress meanwhile.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agents.metrics import MetricsAgent
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import LLMConfig, ProjectConfig
from kubeai.errors import (
    ModelServerError,
    ModelServerProtocolError,
    ModelServerUnavailableError,
    ModelServerUnresponsiveError,
    ModelTimeoutError,
)
from serving.client import ModelClient
from tests.unit.serving.misbehaving import CHAT, CITY, HTML, MODELS, Reply, completion, serve


class City(BaseModel):
    city: str
    country: str


def client(url: str, progress: Callable[[str], None] | None = None, **llm: Any) -> ModelClient:
    """A client with the default settings (timeouts, two retries) unless the test names one."""
    return ModelClient(LLMConfig(base_url=url, **llm), default_model="base", progress=progress, progress_every_s=0.05)


def assert_one_sentence_naming(error: BaseException, url: str) -> str:
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"The model server at {url} ")
    assert message.endswith(".")
    return message


WRONG_ANSWERS = {
    "html": (HTML, "with an HTML page instead of a chat completion (got '<!DOCTYPE html> <html> <body> <h1>Sign in"),
    "wrong-shape": (Reply('{"result": "ok", "text": "Paris"}'), "JSON that is not a chat completion (no 'choices'"),
    "empty-choices": (
        Reply('{"id": "c1", "object": "chat.completion", "choices": []}'),
        "a chat completion whose 'choices' list is empty",
    ),
    "choice-without-message": (Reply('{"choices": [{"index": 0, "text": "Paris"}]}'), "first choice has no 'message'"),
    "error-with-200": (Reply('{"error": {"message": "quota exceeded"}}'), "an error instead of a chat completion"),
    "plain-text": (Reply("Paris", "text/plain"), "text/plain instead of a JSON chat completion (got 'Paris')"),
}


@pytest.mark.parametrize("case", list(WRONG_ANSWERS))
@pytest.mark.parametrize("call", ["complete", "structured", "structured_json", "choose"])
async def test_an_answer_that_is_not_a_chat_completion_is_one_sentence(case: str, call: str) -> None:
    reply, problem = WRONG_ANSWERS[case]
    with serve(reply) as server:
        model = client(server.url)
        calls = {
            "complete": lambda: model.complete("Capital of France?"),
            "structured": lambda: model.structured("Capital of France?", City),
            "structured_json": lambda: model.structured_json("Plan", {"type": "object"}, name="Plan"),
            "choose": lambda: model.choose("Pick", ["bar", "line"]),
        }
        with pytest.raises(ModelServerProtocolError) as info:
            await calls[call]()
    message = assert_one_sentence_naming(info.value, server.url)
    assert f"answered POST {CHAT} for 'base' with " in message
    assert problem in message
    assert "llm.base_url" in message
    assert (info.value.url, info.value.model, info.value.path, info.value.status) == (server.url, "base", CHAT, 200)
    # No usable server is there: the agents stop on it as on an unreachable one, and nothing is retried.
    assert isinstance(info.value, ModelServerUnavailableError)
    assert server.count(CHAT) == 1


async def test_a_frozen_server_is_reported_after_the_connect_deadline() -> None:
    # Accepts the connection, never answers anything. With llm.timeout_s 120 and two retries this took 367 s.
    with serve(completion("hi"), models=Reply("{}", hang=True)) as server:
        model = client(server.url, connect_timeout_s=0.5)
        assert (model.config.timeout_s, model.config.max_retries) == (120, 2)
        with pytest.raises(ModelServerUnresponsiveError) as info:
            await asyncio.wait_for(model.complete("hi"), 60)
    message = assert_one_sentence_naming(info.value, server.url)
    assert "did not answer GET /models within 0.5 s (llm.connect_timeout_s)" in message
    assert (info.value.deadline_s, info.value.setting) == (0.5, "llm.connect_timeout_s")
    assert isinstance(info.value, ModelServerUnavailableError)
    assert isinstance(info.value, ModelTimeoutError)
    assert server.count(CHAT) == 0  # the prompt was never sent to a server that answers nothing


async def test_the_connect_deadline_is_seconds_and_never_longer_than_a_request() -> None:
    assert (LLMConfig().connect_timeout_s, LLMConfig().timeout_s) == (15, 120)
    with serve(completion("hi"), models=Reply("{}", hang=True)) as server:
        model = client(server.url, timeout_s=0.4)
        with pytest.raises(ModelServerUnresponsiveError) as info:
            await asyncio.wait_for(model.complete("hi"), 60)
    assert info.value.deadline_s == 0.4


async def test_a_frozen_tokenizer_is_reported_after_the_connect_deadline() -> None:
    with serve(completion("hi"), tokenize=Reply("{}", hang=True)) as server:
        model = client(server.url, connect_timeout_s=0.5)
        with pytest.raises(ModelServerUnresponsiveError) as info:
            await asyncio.wait_for(model.count_tokens("hi"), 60)
    assert info.value.deadline_s == 0.5
    assert "did not answer POST /tokenize within 0.5 s" in assert_one_sentence_naming(info.value, server.url)


async def test_a_generation_that_runs_out_of_time_is_not_retried() -> None:
    # The server is alive (it lists its models) but the generation never ends: retrying the same prompt would
    # take as long again, so the caller hears after llm.timeout_s, not three times that.
    with serve(Reply("{}", hang=True)) as server:
        model = client(server.url, timeout_s=0.5, max_retries=2)
        with pytest.raises(ModelTimeoutError) as info:
            await asyncio.wait_for(model.complete("hi"), 60)
    message = assert_one_sentence_naming(info.value, server.url)
    assert "did not answer model 'base' within 0.5 s (llm.timeout_s)" in message
    assert not isinstance(info.value, ModelServerUnavailableError)
    assert server.count(CHAT) == 1


async def test_progress_is_reported_while_a_generation_runs() -> None:
    # The server holds its answer until the client has said it is still waiting, so the line must come during
    # the wait (a client that never reports times out and fails the test).
    with serve(replace(CITY, hang=True)) as server:

        def progress(line: str) -> None:
            lines.append(line)
            server.release.set()

        lines: list[str] = []
        model = client(server.url, progress, timeout_s=30)
        result = await model.structured("Capital of France?", City)
    assert result.value == City(city="Paris", country="France")
    assert re.fullmatch(rf"still waiting for the model server at {server.url} \(\d+ s\)\.\.\.", lines[0])


async def test_concurrent_waits_are_reported_as_one_line_with_the_count() -> None:
    with serve(replace(CITY, hang=True)) as server:

        def progress(line: str) -> None:
            lines.append(line)
            if "2 requests" in line:
                server.release.set()

        lines: list[str] = []
        model = client(server.url, progress, timeout_s=30)
        await asyncio.gather(model.structured("one", City), model.structured("two", City))
    assert re.fullmatch(rf"still waiting for the model server at {server.url} \(\d+ s, 2 requests\)\.\.\.", lines[-1])


async def test_the_server_is_probed_once_then_trusted() -> None:
    with serve(CITY) as server:
        model = client(server.url)
        await model.structured("one", City)
        await model.structured("two", City)
    assert server.seen == [("GET", MODELS), ("POST", CHAT), ("POST", CHAT)]


async def test_a_server_without_a_model_list_is_not_frozen() -> None:
    with serve(CITY, models=Reply("<html>no such page</html>", "text/html", status=404)) as server:
        result = await client(server.url).structured("Capital of France?", City)
    assert result.value.city == "Paris"


async def test_a_passing_server_error_is_retried_with_backoff() -> None:
    unavailable = Reply("<html>\n<h1>503 Service Unavailable</h1>\n</html>", "text/html", status=503)
    with serve([unavailable, CITY]) as server:
        result = await client(server.url, max_retries=1).structured("Capital of France?", City)
    assert result.value.city == "Paris"
    assert server.count(CHAT) == 2
    with serve(unavailable) as server, pytest.raises(ModelServerError) as info:
        await client(server.url, max_retries=1).structured("Capital of France?", City)
    assert server.count(CHAT) == 2
    message = assert_one_sentence_naming(info.value, server.url)
    assert "(HTTP 503): <html> <h1>503 Service Unavailable</h1> </html>." in message


# The metrics agent: a server that answers garbage ends the turn with that sentence; it is not fed back to the
# model as if the model had written a bad query, which would spend every attempt on the same garbage.


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=1_000, seed=7)
    return path


@pytest.mark.parametrize("reply", [HTML, Reply('{"choices": []}')], ids=["html", "empty-choices"])
async def test_the_metrics_agent_stops_on_a_server_that_answers_garbage(
    tmp_path: Path, warehouse: Path, reply: Reply
) -> None:
    with serve(reply) as server:
        config = ProjectConfig.model_validate(
            {
                "data_dir": str(tmp_path),
                "llm": {"base_url": server.url},
                "warehouse": {"url": str(warehouse)},
                "metrics_agent": {"rag": False, "max_attempts": 3},
            }
        )
        async with MetricsAgent.open(config) as agent:
            with pytest.raises(ModelServerProtocolError) as info:
                await agent.ask("What was GMV last month?")
    assert_one_sentence_naming(info.value, server.url)
    assert server.count(CHAT) == 1
