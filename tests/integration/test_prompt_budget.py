"""Prompts fitted into the real vLLM server's context: its /tokenize counts exactly what the agent sends."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agents.metrics import MetricsAgent
from graphs.metrics.nodes import _business, _dimension_knowledge, _metric_knowledge, _periods
from graphs.shared import PROMPT_MARGIN, fit_to_context
from kubeai.config import ProjectConfig
from kubeai.errors import ModelServerError
from kubeai.prompting import Trim, load_prompt
from serving.client import ModelClient, Structured
from tests.integration.support import LiveServer

pytestmark = pytest.mark.integration

QUERY_TOKENS = 512  # the structured path's answer limit
# The base model's structured prompt, which lists the catalog; a routed adapter's prompt lists none.
BASE_PROMPT = {"strategy": "structured", "rag": False, "adapter": "none"}


class RecordingClient(ModelClient):
    """The real client, remembering each structured call's messages and the prompt tokens the server billed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[Any, int]] = []

    async def structured(self, messages: Any, schema: type[Any], **kwargs: Any) -> Structured[Any]:
        result = await super().structured(messages, schema, **kwargs)
        self.sent.append((messages, result.usage.prompt_tokens))
        return result


def recording_client(live_server: LiveServer) -> RecordingClient:
    config = live_server.config
    llm = config.llm.model_copy(update={"base_url": live_server.base_url})
    return RecordingClient(llm, default_model=config.models.base.name)


async def test_the_server_reports_the_auto_context_length(live_server: LiveServer) -> None:
    client = live_server.client()
    context = await client.context_length()
    if live_server.server is not None:  # started from kubeai.yaml's `max_model_len: auto`
        assert context == live_server.server.plan.max_model_len
    assert context >= 4096
    count = await client.count_tokens([SystemMessage(content="Be brief."), HumanMessage(content="Hi")])
    assert count.exact and count.context_length == context
    answer = await client.complete([SystemMessage(content="Be brief."), HumanMessage(content="Hi")], max_tokens=2)
    assert answer.usage.prompt_tokens == count.tokens  # /tokenize renders the same chat template
    assert answer.finish_reason == "length"  # two tokens cut it off, and that is visible


async def test_the_agent_counts_exactly_the_prompt_it_sends_and_the_whole_catalog_fits(
    live_server: LiveServer, agent_config: ProjectConfig
) -> None:
    client = recording_client(live_server)
    config = agent_config.model_copy(
        update={"metrics_agent": agent_config.metrics_agent.model_copy(update=BASE_PROMPT)}
    )
    async with MetricsAgent.open(config, llm=client) as agent:
        catalog = agent.context.catalog
        agent.context.max_metrics = len(catalog.metrics)  # the whole catalog in the prompt
        agent.context.max_dimensions = len(catalog.dimensions)
        result = await agent.ask("What was the GMV by region last month?")
    generated = [f for f in result.prompt_fit if f["node"] == "generate"]
    assert generated and len(client.sent) == len(generated)
    context = await client.context_length()
    for fit, (messages, billed) in zip(generated, client.sent, strict=True):
        assert fit["tokens"] == billed  # /tokenize counted what the chat completion was billed for
        assert fit["tokens"] + QUERY_TOKENS + PROMPT_MARGIN <= context == fit["budget"] + QUERY_TOKENS + PROMPT_MARGIN
        assert not fit["cut_off"]
        assert fit["dropped"] == {}  # every metric fits the 8k context
        assert all(f"- {m.name}:" in str(messages[0].content) for m in catalog.metrics)  # type: ignore[index]
    print(f"\nwhole-catalog structured prompt: {generated[0]['tokens']} tokens of {context}")


async def test_a_catalog_too_big_for_the_context_is_trimmed_to_fit_and_answered(
    live_server: LiveServer, agent_config: ProjectConfig
) -> None:
    from knowledge.catalog import demo_catalog_path, load_catalog

    catalog = load_catalog(agent_config.warehouse.catalog or demo_catalog_path())
    base = _metric_knowledge(catalog, [m.name for m in catalog.metrics])
    metrics = [{**m, "name": f"{m['name']}_{i}"} for i in range(8) for m in base]  # 8 copies of every metric
    dimensions = _dimension_knowledge(catalog, [d.name for d in catalog.dimensions])
    question = "What was the GMV by region last month?"
    values = {
        "question": question,
        "history": [],
        "metrics": metrics,
        "dimensions": dimensions,
        "examples": [],
        "reference_date": catalog.reference_date.isoformat(),
        "business": _business(catalog),
        "periods": _periods(catalog, question),
        "errors": [],
        "chain_of_thought": False,
    }
    client = live_server.client()
    trims = (Trim(variable="examples"), Trim(variable="dimensions"), Trim(variable="metrics", keep=1))
    prompt = load_prompt("graphs.metrics.prompts", "generate_query")
    whole = await client.count_tokens(prompt.render(**values))
    # Room for a long answer leaves ~1,500 prompt tokens: prefilling the full 7.6k-token budget takes minutes on a
    # loaded 2-core CPU, and the budgeting is the same at any size.
    context = await client.context_length()
    answer_tokens = context - 1500 - PROMPT_MARGIN
    fitted = await fit_to_context(client, prompt, values, model=None, max_tokens=answer_tokens, trims=trims)
    assert whole.tokens > context > fitted.budget >= fitted.tokens
    assert fitted.budget == 1500
    assert fitted.dropped.get("metrics", 0) > 0 and "dimensions" in fitted.dropped
    # The fitted prompt is accepted and billed as counted; the whole one overflows the context and is refused.
    # (A short answer here: a structured answer's grammar takes minutes to compile on a loaded CPU.)
    answer = await client.complete(fitted.messages, max_tokens=4)
    assert answer.usage.prompt_tokens == fitted.tokens
    with pytest.raises(ModelServerError, match=r"(?i)maximum (model|context) length"):
        await client.complete(prompt.render(**values), max_tokens=4)
    print(f"\n{len(metrics)} metrics: {whole.tokens} tokens whole, {fitted.tokens} fitted (dropped {fitted.dropped})")
