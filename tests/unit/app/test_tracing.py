"""Spans of real metrics-agent runs (scripted model, real graph, real DuckDB) caught by an in-memory exporter.

A run is ``invoke_agent metrics`` holding one span per graph node, which holds one ``chat <model>`` span per model
call with the GenAI semantic conventions' attributes; the thread, the user and the adapter ride on the run.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, BaseMessage
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import kubeai.tracing as names
from agents.metrics import MetricsAgent
from app import tracing
from app.api.tracing import request_span, within
from kubeai.config import LLMConfig, ProjectConfig
from kubeai.errors import ModelTimeoutError
from serving.client import ModelClient
from tests.unit.configs import agent_config
from tests.unit.fakes import ScriptedChat

GMV_SQL = '{"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"}'


def replies(*texts: str, input_tokens: int = 40, output_tokens: int = 7) -> ScriptedChat:
    """Scripted replies that report token usage and a finish reason, as vLLM's answers do."""
    return ScriptedChat(
        messages=iter(
            AIMessage(
                content=text,
                usage_metadata={
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                },
                response_metadata={"finish_reason": "stop", "model_name": "served-fake"},
            )
            for text in texts
        )
    )


def client_for(chat: Any) -> ModelClient:
    return ModelClient(
        LLMConfig(context_length=8192, max_tokens=300), default_model="fake", chat_factory=lambda _: chat
    )


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> ProjectConfig:
    return agent_config(tmp_path, warehouse, observability={"traces_store": False})


class Caught:
    """Spans sent to an in-memory exporter beside the configured ones."""

    def __init__(self, traced: tracing.Tracing, exporter: InMemorySpanExporter) -> None:
        self.traced = traced
        self.exporter = exporter

    def spans(self) -> list[ReadableSpan]:
        assert self.traced.flush()
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def memory(config: ProjectConfig) -> Iterator[Caught]:
    exporter = InMemorySpanExporter()
    traced = tracing.configure(config, also=(exporter,))
    assert traced is not None
    yield Caught(traced, exporter)
    traced.close()


def finished(caught: Caught) -> list[ReadableSpan]:
    return caught.spans()


def parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan | None:
    assert span.parent is not None
    return next((s for s in spans if s.context is not None and s.context.span_id == span.parent.span_id), None)


def test_attribute_names_are_the_semantic_conventions() -> None:
    semconv = importlib.import_module("opentelemetry.semconv._incubating.attributes.gen_ai_attributes")
    for name in dir(names):
        if name.startswith("GEN_AI_"):
            assert getattr(names, name) == getattr(semconv, name), name
    error = importlib.import_module("opentelemetry.semconv.attributes.error_attributes")
    assert names.ERROR_TYPE == error.ERROR_TYPE
    enduser = importlib.import_module("opentelemetry.semconv._incubating.attributes.enduser_attributes")
    assert names.ENDUSER_ID == enduser.ENDUSER_ID


async def test_a_run_nests_its_nodes_and_their_model_calls(config: ProjectConfig, memory: Caught) -> None:
    chat = replies(GMV_SQL)
    async with MetricsAgent.open(config, llm=client_for(chat), tuned_model=None) as agent:
        result = await agent.ask("2025年的GMV是多少？", thread_id="t-trace")
    assert not result.abstained, result.reason
    spans = finished(memory)

    runs = [s for s in spans if s.name == "invoke_agent metrics"]
    assert len(runs) == 1
    run = runs[0]
    assert run.parent is None
    assert run.attributes is not None
    assert run.attributes[names.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert run.attributes[names.GEN_AI_CONVERSATION_ID] == "t-trace"
    assert run.attributes[names.KUBEAI_ENTRY] == "ask"
    assert run.attributes[names.KUBEAI_MODEL] == "fake"
    assert run.attributes[names.KUBEAI_LANGUAGE] == "zh"
    assert names.ENDUSER_ID not in run.attributes  # no application said whom the run was for

    nodes = {s.attributes[names.KUBEAI_NODE]: s for s in spans if s.attributes and names.KUBEAI_NODE in s.attributes}
    assert {"understand", "generate", "gate", "execute", "answer"} <= set(nodes)
    assert all(parent_of(node, spans) is run for node in nodes.values())

    chats = [s for s in spans if s.name == "chat fake"]
    assert len(chats) == 1
    call = chats[0]
    assert parent_of(call, spans) is nodes["generate"]
    assert call.attributes is not None
    assert call.attributes[names.GEN_AI_OPERATION_NAME] == "chat"
    assert call.attributes[names.GEN_AI_PROVIDER_NAME] == "vllm"
    assert call.attributes[names.GEN_AI_REQUEST_MODEL] == "fake"
    assert call.attributes[names.GEN_AI_RESPONSE_MODEL] == "served-fake"
    assert call.attributes[names.GEN_AI_USAGE_INPUT_TOKENS] == 40
    assert call.attributes[names.GEN_AI_USAGE_OUTPUT_TOKENS] == 7
    assert call.attributes[names.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert call.attributes[names.GEN_AI_REQUEST_TEMPERATURE] == 0.0
    assert isinstance(call.attributes[names.GEN_AI_REQUEST_MAX_TOKENS], int)
    assert call.attributes[names.GEN_AI_OUTPUT_TYPE] == "json"
    assert names.ERROR_TYPE not in call.attributes
    # the run's token figures and the spans' agree
    assert result.tokens["generate"] == {"prompt": 40, "completion": 7}


async def test_the_user_and_the_request_span_come_from_the_application(config: ProjectConfig, memory: Caught) -> None:
    async with MetricsAgent.open(config, llm=client_for(replies(GMV_SQL)), tuned_model="metrics-ft") as agent:
        span = request_span("/runs/wait", thread_id="t-user", assistant="metrics", user="ana")
        with within(span, user="ana"):
            await agent.ask("What is the total GMV?", thread_id="t-user")
    spans = finished(memory)
    run = next(s for s in spans if s.name == "invoke_agent metrics")
    assert run.attributes is not None
    assert run.attributes[names.ENDUSER_ID] == "ana"
    assert run.attributes[names.KUBEAI_ADAPTER] == "metrics-ft"
    request = parent_of(run, spans)
    assert request is not None and request.name == "POST /runs/wait" and request.parent is None
    assert request.context is not None and run.context is not None
    assert request.context.trace_id == run.context.trace_id


async def test_approval_pauses_without_an_error_and_the_resume_is_its_own_run(
    config: ProjectConfig, memory: Caught
) -> None:
    async with MetricsAgent.open(config, llm=client_for(replies(GMV_SQL)), tuned_model=None) as agent:
        paused = await agent.scoped({}, require_approval=True).ask("What is the total GMV?", thread_id="t-ok")
        assert paused.pending_sql is not None
        await agent.resume("t-ok", "approve")
    spans = finished(memory)
    runs = [s for s in spans if s.name == "invoke_agent metrics"]
    assert [r.attributes[names.KUBEAI_ENTRY] for r in runs if r.attributes] == ["ask", "resume"]
    assert len({r.context.trace_id for r in runs if r.context}) == 2
    approvals = [s for s in spans if s.name == "node approve"]
    assert approvals[0].attributes is not None and approvals[0].attributes[names.KUBEAI_INTERRUPTED] is True
    assert all(s.status.status_code is not StatusCode.ERROR for s in spans)


class TimingOut(ScriptedChat):
    """A chat model whose server never answers in time."""

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        raise openai.APITimeoutError(request=httpx.Request("POST", "http://127.0.0.1:8000/v1/chat/completions"))


async def test_a_failed_model_call_has_its_error_type(config: ProjectConfig, memory: Caught) -> None:
    chat = TimingOut(messages=iter([]))
    with pytest.raises(ModelTimeoutError):
        await client_for(chat).complete("hello", max_tokens=5, temperature=0.3)
    (call,) = finished(memory)
    assert call.name == "chat fake"
    assert call.attributes is not None
    assert call.attributes[names.ERROR_TYPE] == "ModelTimeoutError"
    assert call.attributes[names.GEN_AI_REQUEST_MAX_TOKENS] == 5
    assert call.attributes[names.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert call.attributes[names.GEN_AI_OUTPUT_TYPE] == "text"
    assert call.status.status_code is StatusCode.ERROR


async def test_nothing_is_recorded_once_tracing_is_closed(config: ProjectConfig) -> None:
    exporter = InMemorySpanExporter()
    traced = tracing.configure(config, also=(exporter,))
    assert traced is not None
    traced.close()
    assert not tracing.active()
    await client_for(replies("hi")).complete("hello")
    assert exporter.get_finished_spans() == ()
