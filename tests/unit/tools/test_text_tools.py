"""The text tools (summarize, translate, classify, extract) on scripted fake chat models.

Every model reply is scripted; the registry, prompts, the client's structured-output checks and the tools run for
real. Server failures come from an httpx mock transport behind the client's real OpenAI path.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kubeai.config import LLMConfig
from kubeai.errors import ModelServerUnavailableError, ToolError
from serving.client import ModelClient
from tests.unit.fakes import ScriptedChat, scripted_client
from tools.registry import TaskInputs, TaskOutput, ToolRegistry
from tools.text_tasks import TEXT_TOKENS, clip, estimate_tokens, text_tools


def scripted(*replies: str | dict[str, Any]) -> tuple[ToolRegistry, ScriptedChat]:
    client, chat = scripted_client(*replies)
    return ToolRegistry(text_tools(client)), chat


def failing(handler: Any) -> ToolRegistry:
    config = LLMConfig(base_url="http://model.test/v1", max_retries=0, timeout_s=5)
    client = ModelClient(config, default_model="base", transport=httpx.MockTransport(handler))
    return ToolRegistry(text_tools(client))


GMV = TaskOutput(text="GMV by region: 华东 1,200,000; 华北 800,000; 华南 650,000.")


def system(chat: ScriptedChat, call: int = 0) -> str:
    return str(chat.prompts[call][0].content)


def user(chat: ScriptedChat, call: int = 0) -> str:
    return str(chat.prompts[call][-1].content)


async def test_summarize_fills_the_placeholder_and_runs_on_the_chosen_model() -> None:
    tools, chat = scripted("  华东最高，华南最低。  ")
    inputs = TaskInputs(task_id="t2", results={"t1": GMV}, model="style", language="zh", request="总结各地区GMV")
    out = await tools.run("summarize", {"text": "<resource>-t1", "language": "zh"}, inputs)
    assert out.text == "华东最高，华南最低。"
    assert chat.models == ["style"]
    assert out.details["model"] == "style" and out.details["truncated"] is False
    assert "华东 1,200,000" in user(chat)  # the placeholder was replaced by t1's text
    assert "总结各地区GMV" in user(chat)  # the request is the dialogue context
    assert "## Instruction" in system(chat) and "## Output requirements" in system(chat)
    assert "Chinese (简体中文)" in system(chat)


async def test_summarize_uses_the_default_model_when_none_was_chosen() -> None:
    tools, chat = scripted("Short.")
    await tools.run("summarize", {"text": "Some long text.", "language": "en"}, TaskInputs())
    assert chat.models == ["base"]
    assert "in English" in system(chat)


async def test_long_text_is_clipped_and_marked_truncated() -> None:
    tools, chat = scripted("Short.")
    long = TaskOutput(text="revenue grew " * 2000)
    out = await tools.run("summarize", {"text": "<resource>-t1", "language": "en"}, TaskInputs(results={"t1": long}))
    assert out.details["truncated"] is True
    assert "(truncated)" in user(chat)
    assert estimate_tokens(user(chat)) < TEXT_TOKENS + 100


def test_clip_counts_chinese_characters_as_more_tokens_than_latin_ones() -> None:
    english, cut_en = clip("a" * 400, 100)
    chinese, cut_zh = clip("汉" * 400, 100)
    assert (english, cut_en) == ("a" * 400, False)
    assert cut_zh and chinese.endswith("(truncated)") and chinese.count("汉") < 100
    assert clip("", 10) == ("", False)
    assert estimate_tokens("a" * 8) == 2 and estimate_tokens("汉" * 2) == 3


async def test_translate_names_the_target_language_and_omits_the_dialogue() -> None:
    tools, chat = scripted("GMV in East China was 1.2 million yuan.")
    inputs = TaskInputs(request="把结果翻译成英文")
    out = await tools.run("translate", {"text": "华东GMV为120万元。", "target_language": "en"}, inputs)
    assert out.text == "GMV in East China was 1.2 million yuan."
    assert "translate a text into English" in system(chat)
    assert "把结果翻译成英文" not in user(chat)
    assert "华东GMV为120万元。" in user(chat)


async def test_classify_constrains_the_answer_to_the_labels() -> None:
    tools, chat = scripted({"choice": "negative"})
    args = {"text": "Refunds doubled last month.", "labels": ["positive", "negative", "positive", " neutral "]}
    out = await tools.run("classify", args, TaskInputs(model="style"))
    assert out.text == "negative"
    assert out.details["label"] == "negative"
    schema = chat.formats[0]["json_schema"]["schema"]
    assert schema["properties"]["choice"]["enum"] == ["positive", "negative", "neutral"]
    assert "- neutral" in system(chat)


async def test_classify_answer_outside_the_labels_is_a_tool_error() -> None:
    tools, _chat = scripted({"choice": "maybe"})
    with pytest.raises(ToolError, match="did not pick one of") as info:
        await tools.run("classify", {"text": "x", "labels": ["yes", "no"]}, TaskInputs())
    assert info.value.tool == "classify"


async def test_classify_needs_two_distinct_labels() -> None:
    tools, _chat = scripted()
    assert tools.check_args("classify", {"text": "x", "labels": ["only"]})
    with pytest.raises(ToolError, match="two different labels"):
        await tools.run("classify", {"text": "x", "labels": ["same", "same "]}, TaskInputs())


async def test_extract_returns_a_one_row_table_of_the_fields() -> None:
    tools, chat = scripted({"city": "Hangzhou", "schema": "", "amount": " 300元 "})
    args = {"text": "A refund of 300元 was paid in Hangzhou.", "fields": ["city", "schema", "amount"]}
    out = await tools.run("extract", args, TaskInputs(language="en"))
    assert out.table is not None
    assert out.table.to_dict("records") == [{"city": "Hangzhou", "schema": "", "amount": "300元"}]
    assert out.text == "city: Hangzhou; schema: (not found); amount: 300元"
    sent = chat.formats[0]["json_schema"]["schema"]
    assert list(sent["properties"]) == ["city", "schema", "amount"]  # requested names, even pydantic's own
    assert "- amount" in system(chat)


async def test_extract_output_that_misses_a_field_is_a_tool_error() -> None:
    tools, _chat = scripted({"city": "Hangzhou"})
    with pytest.raises(ToolError, match="does not match the Extraction schema"):
        await tools.run("extract", {"text": "x", "fields": ["city", "amount"]}, TaskInputs())


@pytest.mark.parametrize(
    "args",
    [
        {"text": "x", "fields": ["City"]},
        {"text": "x", "fields": []},
        {"text": "x", "fields": [f"f{i}" for i in range(9)]},
    ],
)
def test_extract_field_names_are_validated(args: dict[str, Any]) -> None:
    tools, _chat = scripted()
    assert tools.check_args("extract", args)


async def test_an_empty_answer_is_a_tool_error() -> None:
    tools, _chat = scripted("   ")
    with pytest.raises(ToolError, match="empty answer for summarize"):
        await tools.run("summarize", {"text": "x", "language": "en"}, TaskInputs())


async def test_a_server_refusal_becomes_a_tool_error_with_the_same_sentence() -> None:
    tools = failing(lambda _r: httpx.Response(400, json={"error": {"message": "prompt is too long"}}))
    with pytest.raises(ToolError, match=r"rejected the request for 'base' \(HTTP 400\): prompt is too long") as info:
        await tools.run("translate", {"text": "x", "target_language": "zh"}, TaskInputs())
    assert info.value.tool == "translate"


async def test_an_unreachable_server_stops_the_run_unchanged() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ModelServerUnavailableError, match="Cannot reach the model server"):
        await failing(refuse).run("summarize", {"text": "x", "language": "en"}, TaskInputs())


def test_metadata_marks_text_tools_as_model_backed() -> None:
    tools, _chat = scripted()
    assert tools.names() == ("summarize", "translate", "classify", "extract")
    assert all(tools.needs_model(name) for name in tools.names())
    assert [tools.task_type(name) for name in tools.names()] == ["summarize", "translate", "classify", "extract"]
