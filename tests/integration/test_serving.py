"""The real vLLM server: base model and LoRA adapter, runtime adapter management, structured output, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from app import runtime
from kubeai.config import ProjectConfig
from kubeai.errors import ModelNotFoundError, ModelServerUnavailableError
from serving.launcher import free_port
from tests.integration.support import REPO, LiveServer, cli_env

pytestmark = pytest.mark.integration

BASE = "smollm2-135m"
ADAPTER = "kubeai-style"


class MetricQuestion(BaseModel):
    """A question broken into the fields an analyst would fill."""

    metric: str = Field(description="The business metric asked about")
    region: str = Field(description="The region asked about")
    months: int = Field(ge=1, le=24, description="How many months back")


async def test_base_and_adapter_both_answer_and_differ(live_server: LiveServer) -> None:
    client = live_server.client()
    question = "What does GMV mean?"
    base = await client.complete(question, model=BASE, max_tokens=48)
    styled = await client.complete(question, model=ADAPTER, max_tokens=48)
    assert base.text.strip()
    assert styled.text.strip()
    assert base.text != styled.text
    assert base.usage.completion_tokens > 0
    # The adapter was trained to open English answers with "Answer:"; the base model never does.
    assert styled.text.lstrip().startswith("Answer:")
    assert not base.text.lstrip().startswith("Answer:")


async def test_server_lists_base_and_registered_adapter(live_server: LiveServer) -> None:
    served = await live_server.client().models()
    assert BASE in served
    assert ADAPTER in served


async def test_runtime_unload_and_load_of_an_adapter(live_server: LiveServer, project_config: ProjectConfig) -> None:
    client = live_server.client()
    path = project_config.models.adapters[0].path
    await client.load_adapter("style-copy", path)
    try:
        assert "style-copy" in await client.models()
        loaded = await client.complete("What does GMV mean?", model="style-copy", max_tokens=24)
        assert loaded.text.lstrip().startswith("Answer:")
    finally:
        await client.unload_adapter("style-copy")
    assert "style-copy" not in await client.models()
    with pytest.raises(ModelNotFoundError, match="does not serve 'style-copy'"):
        await client.complete("hi", model="style-copy", max_tokens=4)


async def test_structured_output_validates_against_its_schema(live_server: LiveServer) -> None:
    client = live_server.client()
    prompt = "Extract the fields: what was GMV in the East region over the last 3 months?"
    for model in (BASE, ADAPTER):
        result = await client.structured(prompt, MetricQuestion, model=model, max_tokens=96)
        assert isinstance(result.value, MetricQuestion)
        assert 1 <= result.value.months <= 24
        assert json.loads(result.raw) == result.value.model_dump()


async def test_choice_is_one_of_the_options(live_server: LiveServer) -> None:
    options = ["line", "bar", "table"]
    picked = await live_server.client().choose("Monthly GMV over two years: which chart fits?", options)
    assert picked in options


async def test_named_tool_call_fills_the_tool_schema(live_server: LiveServer) -> None:
    from langchain_core.tools import tool

    @tool
    def lookup_metric(metric: str, region: str) -> str:
        """Look up a business metric for a region."""
        return f"{metric}@{region}"

    model = live_server.client().chat_model(BASE, max_completion_tokens=64)
    bound = model.bind_tools([lookup_metric], tool_choice="lookup_metric", strict=True)
    message = await bound.ainvoke("What was the GMV in the East region?")
    assert message.tool_calls, message
    call = message.tool_calls[0]
    assert call["name"] == "lookup_metric"
    assert set(call["args"]) == {"metric", "region"}
    assert all(isinstance(v, str) for v in call["args"].values())


def test_cli_compare_uses_the_running_server(live_server: LiveServer) -> None:
    env = cli_env(KUBEAI_LLM__BASE_URL=live_server.base_url)
    result = subprocess.run(
        [sys.executable, "-m", "app", "compare", "-q", "What does GMV mean?"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "using the running server" in result.stdout
    assert f"[{BASE}]" in result.stdout
    assert f"[{ADAPTER}]" in result.stdout


def test_stopped_server_gives_one_clear_error_and_leaves_no_process(project_config: ProjectConfig) -> None:
    server, plan = runtime.server_for(project_config, port=free_port())
    server.start()
    group = server.pid
    assert group is not None
    server.stop()
    assert _running_in_group(group) == []

    client = runtime.model_client(project_config, base_url=plan.base_url)
    import asyncio

    with pytest.raises(ModelServerUnavailableError, match=f"Cannot reach the model server at {plan.base_url}"):
        asyncio.run(client.complete("hi"))

    env = cli_env(KUBEAI_LLM__BASE_URL=plan.base_url)
    cli = subprocess.run(
        [sys.executable, "-m", "app", "adapters", "unload", ADAPTER],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 1
    assert cli.stderr.startswith("error: Cannot reach the model server")
    assert "Traceback" not in cli.stderr


def _running_in_group(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive
