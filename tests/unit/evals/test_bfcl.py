"""BFCL slice: schema conversion, the AST checker on hand-made cases, the bundled dataset, and the runner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from evals import ToolCallingItem, load_dataset
from evals.bfcl import (
    ModelCall,
    accuracy_table,
    check_calls,
    run_case,
    standardize_string,
    to_openai_tool,
    tool_name,
)
from kubeai.config import LLMConfig
from kubeai.errors import DatasetError
from serving.client import ModelClient

DATASETS = Path(__file__).parents[3] / "evals" / "datasets"

TRIANGLE: dict[str, Any] = {
    "name": "geometry.triangle_area",
    "description": "Area of a triangle.",
    "parameters": {
        "type": "dict",
        "properties": {
            "base": {"type": "integer", "description": "Base."},
            "height": {"type": "float", "description": "Height."},
            "unit": {"type": "string", "description": "Unit.", "default": "units", "optional": True},
            "tags": {"type": "tuple", "items": {"type": "string"}},
            "options": {
                "type": "dict",
                "properties": {"round": {"type": "boolean"}, "digits": {"type": "integer"}},
                "required": ["round"],
            },
            "anything": {"type": "any"},
        },
        "required": ["base", "height"],
    },
}
TRUTH: dict[str, dict[str, list[Any]]] = {
    "geometry.triangle_area": {
        "base": [10],
        "height": [5.0],
        "unit": ["units", "cm", ""],
        "tags": [["Right Angle", "small"], ""],
        "options": [{"round": [True], "digits": [2, ""]}, ""],
    }
}
CIRCLE: dict[str, Any] = {
    "name": "circle_area",
    "description": "Area of a circle.",
    "parameters": {"type": "dict", "properties": {"radius": {"type": "float"}}, "required": ["radius"]},
}


def _check(arguments: dict[str, Any], name: str = "geometry_triangle_area") -> tuple[bool, str]:
    verdict = check_calls([TRIANGLE], [ModelCall(name=name, arguments=arguments)], [TRUTH])
    return verdict.valid, verdict.error_type


def test_schema_maps_bfcl_types_to_json_schema() -> None:
    tool = to_openai_tool(TRIANGLE)
    function = tool["function"]
    assert tool["type"] == "function"
    assert function["name"] == "geometry_triangle_area"
    params = function["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["base", "height"]
    props = params["properties"]
    assert props["base"]["type"] == "integer"
    assert props["height"]["type"] == "number"
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["options"]["type"] == "object"
    assert props["options"]["properties"]["round"] == {"type": "boolean"}
    assert props["anything"] == {"type": "string"}
    assert props["unit"] == {"type": "string", "description": "Unit. Default: 'units'."}
    assert "strict" not in function
    assert "additionalProperties" not in params


def test_strict_schema_forbids_extra_properties_at_every_level() -> None:
    function = to_openai_tool(TRIANGLE, strict=True)["function"]
    assert function["strict"] is True
    assert function["parameters"]["additionalProperties"] is False
    assert function["parameters"]["properties"]["options"]["additionalProperties"] is False


def test_unknown_type_is_refused_with_the_function_named() -> None:
    bad = {"name": "f", "parameters": {"type": "dict", "properties": {"x": {"type": "HashSet"}}}}
    with pytest.raises(DatasetError, match=r"'f\.x' uses type 'HashSet'"):
        to_openai_tool(bad)


def test_tool_name_replaces_dots() -> None:
    assert tool_name("math.factorial") == "math_factorial"
    assert tool_name("plain") == "plain"


def test_standardize_string_follows_bfcl() -> None:
    assert standardize_string("April 1, 2024") == standardize_string("april 1,2024") == "april12024"
    assert standardize_string("New-York_City") == "newyorkcity"
    assert standardize_string("it's") == 'it"s'


@pytest.mark.parametrize(
    ("arguments", "valid", "error"),
    [
        ({"base": 10, "height": 5.0}, True, ""),
        ({"base": 10, "height": 5}, True, ""),  # an int is accepted for a float
        ({"base": 10, "height": 5.0, "unit": " CM "}, True, ""),  # strings compared after normalisation
        ({"base": 10, "height": 5.0, "tags": ["right-angle", "Small"]}, True, ""),
        ({"base": 10, "height": 5.0, "options": {"round": True}}, True, ""),
        ({"base": 10, "height": 5.0, "options": {"round": True, "digits": 2}}, True, ""),
        ({"base": 10}, False, "missing_required"),
        ({"base": 10, "height": 5.0, "colour": "red"}, False, "unexpected_param"),
        ({"base": 10, "height": 5.0, "anything": "x"}, False, "unexpected_param"),  # not in the ground truth
        ({"base": 10.0, "height": 5.0}, False, "type_error"),  # a float is not accepted for an int
        ({"base": "10", "height": 5.0}, False, "type_error"),
        ({"base": True, "height": 5.0}, False, "type_error"),  # a bool is not an int
        ({"base": 11, "height": 5.0}, False, "value_error"),
        ({"base": 10, "height": 5.5}, False, "value_error"),
        ({"base": 10, "height": 5.0, "unit": "inch"}, False, "value_error"),
        ({"base": 10, "height": 5.0, "tags": ["small", "right angle"]}, False, "value_error"),  # order counts
        ({"base": 10, "height": 5.0, "tags": ["small", 3]}, False, "type_error"),
        ({"base": 10, "height": 5.0, "options": {"round": False}}, False, "value_error"),
        ({"base": 10, "height": 5.0, "options": {"digits": 2}}, False, "value_error"),  # required key missing
        ({"base": 10, "height": 5.0, "options": {"round": True, "x": 1}}, False, "value_error"),
    ],
)
def test_ast_checker_rules(arguments: dict[str, Any], valid: bool, error: str) -> None:
    assert _check(arguments) == (valid, error)


def test_wrong_function_name_and_call_count() -> None:
    assert _check({"base": 10, "height": 5.0}, name="geometry.triangle_area") == (False, "wrong_func_name")
    none = check_calls([TRIANGLE], [], [TRUTH])
    assert (none.valid, none.error_type) == (False, "wrong_count")
    call = ModelCall(name="geometry_triangle_area", arguments={"base": 10, "height": 5.0})
    two = check_calls([TRIANGLE], [call, call], [TRUTH])
    assert (two.valid, two.error_type) == (False, "wrong_count")


def test_parameter_without_a_default_must_be_given() -> None:
    truth: dict[str, Mapping[str, Sequence[Any]]] = {"circle_area": {"radius": [2.0], "units": ["cm"]}}
    doc = {**CIRCLE, "parameters": {**CIRCLE["parameters"], "properties": {"radius": {"type": "float"}, "units": {}}}}
    verdict = check_calls([doc], [ModelCall(name="circle_area", arguments={"radius": 2})], [truth])
    assert (verdict.valid, verdict.error_type) == (False, "missing_optional")


def test_multiple_picks_the_expected_function_among_several() -> None:
    truth = [{"circle_area": {"radius": [3.0]}}]
    right = check_calls([TRIANGLE, CIRCLE], [ModelCall(name="circle_area", arguments={"radius": 3})], truth)
    wrong = check_calls(
        [TRIANGLE, CIRCLE], [ModelCall(name="geometry_triangle_area", arguments={"base": 3, "height": 1.0})], truth
    )
    assert right.valid
    assert (wrong.valid, wrong.error_type) == (False, "wrong_func_name")


def _given(values: Sequence[Any]) -> Any:
    """The first acceptable value that is not "may be left out" (``""``), or ``""`` when there is none."""
    return next((v for v in values if v != ""), "")


def _first(option: Any) -> Any:
    """A concrete value from a ground-truth option: nested dicts hold lists of acceptable values too."""
    if isinstance(option, dict):
        return {k: _first(_given(v)) for k, v in option.items() if _given(v) != ""}
    if isinstance(option, list) and option and all(isinstance(o, dict) for o in option):
        return [_first(o) for o in option]
    return option


def test_bundled_slice_loads_and_its_ground_truth_passes_the_checker() -> None:
    items = load_dataset(DATASETS / "bfcl").items_of(ToolCallingItem)
    assert len(items) == 80
    assert {i.category for i in items} == {"simple", "multiple"}
    for item in items:
        for function in item.functions:
            json.dumps(to_openai_tool(function, strict=True))
        # The first acceptable value of every parameter, leaving out those that may be left out, must score valid.
        calls = []
        for truth in item.ground_truth:
            name, params = next(iter(truth.items()))
            arguments = {p: _first(_given(values)) for p, values in params.items() if _given(values) != ""}
            calls.append(ModelCall(name=tool_name(name), arguments=arguments))
        verdict = check_calls(item.functions, calls, item.ground_truth)
        assert verdict.valid, (item.id, verdict.message)


def test_loader_rejects_ground_truth_naming_an_unoffered_function(tmp_path: Path) -> None:
    record = {
        "id": "c1",
        "category": "simple",
        "question": [{"role": "user", "content": "Area of a circle of radius 3?"}],
        "functions": [CIRCLE],
        "ground_truth": [{"square_area": {"side": [3]}}],
    }
    (tmp_path / "dataset.yaml").write_text("name: t\nversion: '1'\nkind: tool_calling\nitems: c.jsonl\n")
    (tmp_path / "c.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"line 1 .*'square_area', which is not among the offered functions"):
        load_dataset(tmp_path)


def _client(reply: AIMessage) -> ModelClient:
    return ModelClient(
        LLMConfig(base_url="http://127.0.0.1:9/v1"),
        default_model="m",
        chat_factory=lambda _name: _ToolFake(messages=iter([reply])),
    )


class _ToolFake(GenericFakeChatModel):
    """A scripted chat model that accepts bind_tools, as ChatOpenAI does."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=tools, **kwargs)


def _item() -> ToolCallingItem:
    return ToolCallingItem.model_validate(
        {
            "id": "c1",
            "category": "simple",
            "question": [{"role": "user", "content": "Area of a circle of radius 3?"}],
            "functions": [CIRCLE],
            "ground_truth": [{"circle_area": {"radius": [3.0]}}],
        }
    )


def test_run_case_scores_the_models_tool_call() -> None:
    reply = AIMessage(content="", tool_calls=[{"name": "circle_area", "args": {"radius": 3}, "id": "1"}])
    result = asyncio.run(run_case(_client(reply), _item(), "required"))
    assert result.check.valid
    assert result.calls == (ModelCall(name="circle_area", arguments={"radius": 3}),)
    table = accuracy_table([result])
    assert table[("simple", "required")] == (1, 1)
    assert table[("all", "required")] == (1, 1)


def test_run_case_without_a_call_is_wrong() -> None:
    result = asyncio.run(run_case(_client(AIMessage(content="The area is 28.3.")), _item(), "auto"))
    assert (result.check.valid, result.check.error_type) == (False, "wrong_count")
    assert accuracy_table([result])[("simple", "auto")] == (0, 1)


def test_run_case_cut_off_by_the_token_limit_is_named() -> None:
    reply = AIMessage(
        content='<tool_call>\n{"name": "circle_area", "arguments": {', response_metadata={"finish_reason": "length"}
    )
    result = asyncio.run(run_case(_client(reply), _item(), "required", max_tokens=16))
    assert (result.check.valid, result.check.error_type) == (False, "cut_off")
    assert "16-token limit" in result.check.message


def test_run_case_with_unparsable_arguments_is_wrong() -> None:
    reply = AIMessage(
        content="",
        invalid_tool_calls=[
            {"name": "circle_area", "args": "{radius:", "id": "1", "error": "bad json", "type": "invalid_tool_call"}
        ],
    )
    result = asyncio.run(run_case(_client(reply), _item(), "required"))
    assert (result.check.valid, result.check.error_type) == (False, "unparsable_call")
