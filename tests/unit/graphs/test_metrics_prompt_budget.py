"""The metrics graph fits every prompt into the served context, with a fake server-side token counter.

The fake server's ``/tokenize`` counts one token a word plus the chat template's five a message (and three for
the generation prompt), so each test can check the count against the prompt the scripted chat model received.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, BaseMessage

from agents.metrics import MetricsAgent
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import LLMConfig, ProjectConfig
from kubeai.prompting import load_prompt
from serving.client import ModelClient
from tests.unit.fakes import ScriptedChat

GMV_BY_REGION = {"metrics": ["gmv"], "dimensions": ["region"], "time_range": "last_month"}
QUESTION = "What was the GMV by region last month?"
ANSWER_TOKENS = 512  # what the structured path asks for
MARGIN = 16


def words(messages: list[BaseMessage]) -> int:
    return sum(5 + len(str(m.content).split()) for m in messages) + 3


class FakeServer:
    """A scripted chat model behind a fake vLLM that counts tokens and reports its context length."""

    def __init__(self, *replies: dict[str, Any] | AIMessage, context_length: int) -> None:
        messages = (r if isinstance(r, AIMessage) else AIMessage(content=json.dumps(r)) for r in replies)
        self.chat = ScriptedChat(messages=iter(messages))
        self.context_length = context_length
        self.counted: list[int] = []
        self.client = ModelClient(
            LLMConfig(), default_model="fake", chat_factory=lambda _name: self.chat, transport=httpx.MockTransport(self)
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/tokenize":
            body = json.loads(request.content)
            count = sum(5 + len(m["content"].split()) for m in body["messages"]) + 3
            self.counted.append(count)
            return httpx.Response(200, json={"count": count, "max_model_len": self.context_length, "tokens": []})
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "fake", "max_model_len": self.context_length}]})
        return httpx.Response(404, json={"detail": "Not Found"})


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=2_000, seed=7)
    return path


@pytest.fixture
def open_agent(tmp_path: Path, warehouse: Path) -> Any:
    def make(server: FakeServer, **agent: Any) -> Any:
        config = ProjectConfig.model_validate(
            {
                "data_dir": str(tmp_path),
                "warehouse": {"url": str(warehouse), "max_rows": 200},
                "metrics_agent": {"rag": False, "strategy": "structured", **agent},
            }
        )
        return MetricsAgent.open(config, llm=server.client)

    return make


def schema_enum(response_format: dict[str, Any], field: str) -> list[str]:
    """The names a structured-output schema admits for ``metrics`` or ``dimensions``."""
    schema = response_format["json_schema"]["schema"]
    items = schema["properties"][field]["items"]
    target = schema["$defs"][items["$ref"].split("/")[-1]] if "$ref" in items else items
    return list(target.get("enum", [target.get("const")] if "const" in target else []))


async def test_a_prompt_that_fits_is_sent_whole_and_its_size_recorded(open_agent: Any) -> None:
    server = FakeServer(GMV_BY_REGION, context_length=8192)
    async with open_agent(server) as agent:
        result = await agent.ask(QUESTION)
    assert not result.abstained, result.reason
    sent = server.chat.prompts[0]
    assert result.prompt_fit == (
        {
            "node": "generate",
            "tokens": words(sent),
            "budget": 8192 - ANSWER_TOKENS - MARGIN,
            "dropped": {},
            "too_long": False,
            "cut_off": False,
        },
    )
    assert server.counted[-1] == words(sent)  # counted exactly what was sent


async def test_a_small_context_leaves_out_examples_then_the_least_relevant_dimensions(open_agent: Any) -> None:
    whole = FakeServer(GMV_BY_REGION, context_length=8192)
    async with open_agent(whole) as agent:
        await agent.ask(QUESTION)
    whole_tokens = words(whole.chat.prompts[0])
    offered = schema_enum(whole.chat.formats[0], "dimensions")
    system = str(whole.chat.prompts[0][0].content)
    assert "## Examples" in system  # the catalog's structured examples reach the structured prompt
    examples = system.split("## Examples", 1)[1].split("## Output requirements", 1)[0]

    short = FakeServer(GMV_BY_REGION, context_length=whole_tokens + ANSWER_TOKENS + MARGIN - 5)
    async with open_agent(short) as agent:
        result = await agent.ask(QUESTION)
    assert set(result.prompt_fit[0]["dropped"]) == {"examples"}

    tight_length = whole_tokens - len(examples.split()) + ANSWER_TOKENS + MARGIN - 20
    tight = FakeServer(GMV_BY_REGION, context_length=tight_length)
    async with open_agent(tight) as agent:
        result = await agent.ask(QUESTION)
    assert not result.abstained, result.reason
    fit = result.prompt_fit[0]
    sent = tight.chat.prompts[0]
    assert words(sent) == fit["tokens"] <= fit["budget"] == tight.context_length - ANSWER_TOKENS - MARGIN
    assert set(fit["dropped"]) == {"examples", "dimensions"}
    # The model may only choose what its prompt describes: the schema loses the dimensions the prompt lost.
    kept = schema_enum(tight.chat.formats[0], "dimensions")
    assert kept == offered[: len(offered) - fit["dropped"]["dimensions"]]
    assert "region" in kept  # named by the question, so ranked first
    assert all(f"- {name}:" not in str(sent[0].content) for name in offered[len(kept) :])


async def test_a_context_too_small_for_any_prompt_sends_nothing_and_abstains(open_agent: Any) -> None:
    server = FakeServer(context_length=600)
    async with open_agent(server, strategy="auto", max_attempts=2) as agent:
        result = await agent.ask(QUESTION)
    assert result.abstained
    assert server.chat.prompts == []  # no doomed request
    assert "even at its smallest" in result.reason and "serving.max_model_len" in result.reason
    assert [(f["node"], f["too_long"], f["budget"]) for f in result.prompt_fit] == [
        ("generate", True, 600 - ANSWER_TOKENS - MARGIN),
        ("generate", True, 600 - 400 - MARGIN),  # the SQL path's answer is shorter, its prompt longer
    ]


async def test_an_answer_cut_off_by_its_token_limit_is_recorded(open_agent: Any) -> None:
    cut = AIMessage(content='{"metrics": ["gm', response_metadata={"finish_reason": "length"})
    server = FakeServer(cut, GMV_BY_REGION, context_length=8192)
    async with open_agent(server) as agent:
        result = await agent.ask(QUESTION)
    assert not result.abstained, result.reason
    assert [f["cut_off"] for f in result.prompt_fit] == [True, False]


async def test_a_long_conversation_loses_its_oldest_turns_before_the_rewrite(open_agent: Any) -> None:
    first_server = FakeServer(GMV_BY_REGION, context_length=8192)
    async with open_agent(first_server) as agent:
        first = await agent.ask(QUESTION)
    follow_up = "And the order count?"
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first.answer}]
    prompt = load_prompt("graphs.metrics.prompts", "understand")
    without_oldest = words(prompt.render(history=history[1:], question=follow_up))
    assert words(prompt.render(history=history, question=follow_up)) > without_oldest

    rewrite = {"standalone_question": "What was the order count by region last month?"}
    server = FakeServer(rewrite, context_length=without_oldest + 160 + MARGIN)  # room for all but the oldest turn
    async with open_agent(server) as agent:  # the same checkpointed thread, on a server with a shorter context
        second = await agent.ask(follow_up, thread_id=first.thread_id)
    understand = second.prompt_fit[0]
    assert understand["node"] == "understand"
    assert understand["tokens"] == without_oldest == understand["budget"]
    assert understand["dropped"] == {"history": 1}
    assert second.standalone_question == rewrite["standalone_question"]
    assert QUESTION not in str(server.chat.prompts[0][-1].content)
