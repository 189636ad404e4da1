"""Prompt apps: every file validated when it loads (one sentence per problem), contracts enforced on the answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agents.apps import AppRegistry, JsonSchemaContract, build_messages, load_app_file, render, run_app
from kubeai.errors import ConfigError, KubeAIError, ModelOutputError
from tests.unit.fakes import scripted_client
from tools.pages import PageSpec

MODELS = ("smollm2-135m", "kubeai-style")

ROUTER: dict[str, Any] = {
    "name": "router",
    "description": {"en": "Routes a ticket.", "zh": "分派工单。"},
    "prompt": {
        "instruction": "Route the ticket.",
        "context": "Ticket: {{ input }}",
        "knowledge": "billing is about money",
        "output_requirements": "One team ({{ language }}).",
    },
    "examples": [{"input": "charged twice", "output": "billing"}],
    "output": {"choices": ["billing", "shipping", "other"]},
}

PAGE = {
    "title": "Rooms",
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


def write_app(folder: Path, data: dict[str, Any], name: str | None = None) -> Path:
    path = folder / f"{name or data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def with_(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(ROUTER))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def test_bundled_apps_load_and_validate() -> None:
    registry = AppRegistry.load(models=MODELS)
    assert {"prototype", "ticket_router"} <= {app.name for app in registry}
    prototype = registry.get("prototype")
    assert prototype.contract.kind == "schema"
    assert len(prototype.examples) >= 2
    router = registry.get("ticket_router")
    assert router.contract.kind == "choice"


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (with_(prompt__instruction=None), "prompt.instruction", "missing"),
        (with_(promt={"x": 1}), "promt", "unknown field"),
        (with_(output={"choices": ["billing"]}), "output.choices", "two distinct"),
        (with_(output={"choices": ["a", "a"]}), "output.choices", "two distinct"),
        (with_(output={"schema": "invoice"}), "output.schema", "no schema 'invoice'"),
        (with_(output={"choices": ["a", "b"], "schema": "page"}), "output", "exactly one"),
        (with_(output={"json_schema": {"type": "array"}}), "output.json_schema", "must describe an object"),
        (with_(output={"json_schema": {"type": "object", "properties": 3}}), "output.json_schema", "not a valid"),
        (with_(examples=[{"input": "x", "output": "refund"}]), "examples.0.output", "does not fit"),
        (with_(chain_of_thought=True), "examples.0.reasoning", "chain_of_thought"),
        (with_(prompt__knowledge="{{ user }}"), "prompt.knowledge", "['user']"),
        (with_(prompt__context="Ticket"), "prompt.context", "{{ input }}"),
        (with_(prompt__instruction="{% if %}"), "prompt.instruction", "line 1"),
        (with_(max_tokens=0), "max_tokens", "greater than or equal to 1"),
        (with_(description={}), "description", "`en` or a `zh`"),
    ],
)
def test_a_bad_app_file_is_one_sentence_naming_file_and_field(
    tmp_path: Path, data: dict[str, Any], field: str, words: str
) -> None:
    path = write_app(tmp_path, data, "router")
    with pytest.raises(ConfigError) as caught:
        load_app_file(path)
    message = str(caught.value)
    assert caught.value.field == field
    assert str(path) in message and f"`{field}`" in message and words in message
    assert "\n" not in message and message.endswith(".")


def test_a_file_named_unlike_its_app_is_refused(tmp_path: Path) -> None:
    path = write_app(tmp_path, ROUTER, "other_name")
    with pytest.raises(ConfigError, match=r"field `name`: the app is called 'router' but the file is other_name\.yaml"):
        load_app_file(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nprompt: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml line \d+ is not valid YAML"):
        load_app_file(path)


def test_user_apps_come_from_a_folder_and_are_checked_against_the_registry(tmp_path: Path) -> None:
    write_app(tmp_path, ROUTER)
    registry = AppRegistry.load(user_dir=tmp_path, models=MODELS)
    assert not registry.get("router").bundled and registry.get("prototype").bundled

    write_app(tmp_path, with_(name="prototype"), "prototype")
    with pytest.raises(ConfigError, match="'prototype' is already the app in"):
        AppRegistry.load(user_dir=tmp_path, models=MODELS)


def test_an_unregistered_model_and_a_missing_folder_are_refused(tmp_path: Path) -> None:
    write_app(tmp_path, with_(model="gpt-9"))
    with pytest.raises(ConfigError, match="field `model`: 'gpt-9' is not registered; use one of smollm2-135m"):
        AppRegistry.load(user_dir=tmp_path, models=MODELS)
    with pytest.raises(ConfigError, match=r"`apps\.dir` names .* not a folder"):
        AppRegistry.load(user_dir=tmp_path / "nope", models=MODELS)
    with pytest.raises(KubeAIError, match="There is no app 'nope'; the apps are: prototype, ticket_router"):
        AppRegistry.load(models=MODELS).get("nope")


def test_messages_are_the_four_parts_with_shots_between(tmp_path: Path) -> None:
    app = load_app_file(write_app(tmp_path, ROUTER))
    messages = build_messages(app, "包裹丢了")
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage, AIMessage, HumanMessage]
    system = str(messages[0].content)
    for heading, text in [
        ("## Instruction", "Route the ticket."),
        ("## Business knowledge", "billing is about money"),
        ("## Output requirements", "One team (zh)."),
    ]:
        assert heading in system and text in system
    assert "billing, shipping, other" in system
    assert messages[1].content == "Ticket: charged twice"
    assert json.loads(str(messages[2].content)) == {"choice": "billing"}
    assert messages[3].content == "Ticket: 包裹丢了"


async def test_the_choice_contract_is_decoded_under_an_enum(tmp_path: Path) -> None:
    app = load_app_file(write_app(tmp_path, ROUTER))
    llm, chat = scripted_client({"choice": "shipping"})
    result = await run_app(app, "my parcel is late", llm)
    assert result.value == "shipping" and result.reasoning is None
    schema = chat.formats[0]["json_schema"]["schema"]
    assert schema["properties"]["choice"]["enum"] == ["billing", "shipping", "other"]


async def test_an_answer_outside_the_choices_is_a_model_output_error(tmp_path: Path) -> None:
    app = load_app_file(write_app(tmp_path, ROUTER))
    llm, _ = scripted_client({"choice": "refunds"})
    with pytest.raises(ModelOutputError, match="did not pick one of"):
        await run_app(app, "money back", llm)


async def test_chain_of_thought_decodes_reasoning_first_and_keeps_it_out_of_the_result(tmp_path: Path) -> None:
    data = with_(chain_of_thought=True, examples=[{"input": "x", "output": "other", "reasoning": "not money"}])
    app = load_app_file(write_app(tmp_path, data))
    llm, chat = scripted_client({"reasoning": "It is about a parcel.", "choice": "shipping"})
    result = await run_app(app, "parcel late", llm)
    assert result.value == "shipping" and result.data() == "shipping"
    assert result.reasoning == "It is about a parcel."
    schema = chat.formats[0]["json_schema"]["schema"]
    assert list(schema["properties"]) == ["reasoning", "choice"] and schema["required"][0] == "reasoning"
    shot = json.loads(str(chat.prompts[0][2].content))
    assert list(shot) == ["reasoning", "choice"]


async def test_the_page_schema_contract_validates_and_renders(tmp_path: Path) -> None:
    app = AppRegistry.load(models=MODELS).get("prototype")
    llm, chat = scripted_client(PAGE)
    result = await run_app(app, "A meeting room booking system", llm)
    assert isinstance(result.value, PageSpec) and result.data() == PAGE
    sent = chat.formats[0]["json_schema"]["schema"]
    assert "reasoning" not in sent["properties"] and set(sent["properties"]) == {"title", "navigation", "sections"}
    page = render(app, result)
    assert page is not None and page.startswith("<!doctype html>") and "Book a room" in page


async def test_a_spec_that_breaks_the_schema_is_one_sentence(tmp_path: Path) -> None:
    app = AppRegistry.load(models=MODELS).get("prototype")
    broken = {**PAGE, "navigation": []}
    llm, _ = scripted_client(broken)
    with pytest.raises(ModelOutputError, match=r"does not fit its contract \(navigation: List should have at least 1"):
        await run_app(app, "A shop", llm)


async def test_an_inline_json_schema_contract_is_enforced(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"sentiment": {"enum": ["positive", "negative"]}, "score": {"type": "integer", "maximum": 5}},
        "required": ["sentiment", "score"],
        "additionalProperties": False,
    }
    data = with_(
        output={"json_schema": schema}, examples=[{"input": "great", "output": {"sentiment": "positive", "score": 5}}]
    )
    app = load_app_file(write_app(tmp_path, data))
    assert isinstance(app.contract, JsonSchemaContract)
    llm, _ = scripted_client({"sentiment": "negative", "score": 1}, {"sentiment": "negative", "score": 9})
    assert (await run_app(app, "awful", llm)).value == {"sentiment": "negative", "score": 1}
    with pytest.raises(ModelOutputError, match=r"score: 9 is greater than the maximum of 5"):
        await run_app(app, "awful", llm)
    assert render(app, await run_app(app, "x", scripted_client({"sentiment": "positive", "score": 2})[0])) is None
