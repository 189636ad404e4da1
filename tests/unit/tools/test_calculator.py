from __future__ import annotations

import math

import pandas as pd
import pytest

from kubeai.errors import ToolError
from tools.calculator import MAX_DEPTH, MAX_LENGTH, calculate, calculator_tool
from tools.registry import TaskInputs, TaskOutput, ToolRegistry


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-(3 - 5)", 2),
        ("+4", 4),
        ("1.5e3 / 3", 500),
        ("abs(-3.5)", 3.5),
        ("sqrt(16)", 4),
        ("min(4, 2, 9)", 2),
        ("max(4, 2, 9)", 9),
        ("max(3)", 3),
        ("round(2.5)", 3),  # half away from zero, not Python's banker's rounding
        ("round(0.125, 2)", 0.13),
        ("round(1234.5, -2)", 1200),
        ("round((1200 - 800) / 800 * 100, 1)", 50),
        ("  2 + 2  ", 4),
        ("1" + "+1" * 99, 100),
    ],
)
def test_arithmetic(expression: str, expected: float) -> None:
    result = calculate(expression)
    assert isinstance(result, float)
    assert result == pytest.approx(expected)


def test_large_but_finite_results_are_fine() -> None:
    assert calculate("10 ** 100 * 10 ** 100") == pytest.approx(1e200)
    assert math.isfinite(calculate("(10 ** 100) ** 3"))


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("__import__('os')", "the function '__import__'"),
        ("__import__('os').system('true')", "calling anything but"),
        ("().__class__", "attribute access (`().__class__`)"),
        ("().__class__.__bases__[0].__subclasses__()", "calling anything but"),
        ("(1).real", "attribute access"),
        ("x + 1", "the name 'x'"),
        ("pi * 2", "the name 'pi'"),
        ("sqrt", "the name 'sqrt'"),
        ("'a' * 3", "text"),
        ("b'a'", "text"),
        ("[1, 2][0]", "indexing"),
        ("lambda: 1", "lambda"),
        ("[x for x in (1, 2)]", "a comprehension"),
        ("sum(x for x in (1, 2))", "the function 'sum'"),
        ("round(2.5, ndigits=1)", "a keyword argument to round"),
        ("max(*[1, 2])", "Starred"),
        ("1 if 2 else 3", "a conditional"),
        ("1 < 2", "a comparison"),
        ("1 | 2", "the operator BitOr"),
        ("not 1", "the operator Not"),
        ("1 and 2", "the operator And"),
        ("(y := 2)", "assignment"),
        ("True + 1", "the constant True"),
        ("1j * 2", "the constant 1j"),
        ("None", "the constant None"),
        ("eval('1')", "the function 'eval'"),
        ("f(1)(2)", "calling anything but"),
    ],
)
def test_anything_outside_the_whitelist_is_refused_by_name(expression: str, named: str) -> None:
    with pytest.raises(ToolError, match="is not allowed in a calculation") as caught:
        calculate(expression)
    assert named in str(caught.value)
    assert "abs, round, min, max, sqrt" in str(caught.value)  # says what would work
    assert caught.value.tool == "calculate"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("2 ** 10 ** 10", "exponent 1e\\+10 is larger than 100"),
        ("2 ** 101", "exponent 101 is larger than 100"),
        ("10 ** 100 * 10 ** 100 * 10 ** 100 * 10 ** 100", "too large"),
        ("((10 ** 100) ** 3) ** 2", "too large"),
        ("9" * 400, "too large"),
        ("1e999", "too large"),
        ("1 / 0", "division by zero in `1 / 0`"),
        ("1 // (2 - 2)", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("sqrt(-4)", "sqrt of a negative number"),
        ("(-8) ** (1 / 3)", "not a real number"),
        ("round(1.5, 0.5)", "whole number of digits"),
        ("round(1.5, 99)", "whole number of digits"),
        ("sqrt(1, 2)", "sqrt takes 1 arguments, not 2"),
        ("min()", "min takes 1 to 50 arguments, not 0"),
        ("", "empty"),
        ("   ", "empty"),
        ("1 +", "could not read"),
        ("import os", "could not read"),
        ("1; 2", "could not read"),
        ("(" * 300 + "1" + ")" * 300, "could not read"),
        ("-" * 500 + "1", f"nests more than {MAX_DEPTH}"),
        ("1" + "+1" * 200, f"nests more than {MAX_DEPTH}"),
        ("1" * (MAX_LENGTH + 1), f"more than {MAX_LENGTH}"),
    ],
)
def test_bad_expressions_fail_with_a_clear_tool_error(expression: str, message: str) -> None:
    with pytest.raises(ToolError, match=message) as caught:
        calculate(expression)
    assert caught.value.tool == "calculate"


def test_registers_and_validates() -> None:
    registry = ToolRegistry([calculator_tool()])
    assert registry.task_type("calculate") == "calculate"
    assert not registry.needs_model("calculate")
    schema = registry.args_model("calculate").model_json_schema()
    assert list(schema["properties"]) == ["expression"]
    assert schema["properties"]["expression"]["maxLength"] == 200


async def test_runs_through_the_registry() -> None:
    output = await ToolRegistry([calculator_tool()]).run("calculate", {"expression": "round(10 / 4, 1)"}, TaskInputs())
    assert output.value == pytest.approx(2.5)
    assert output.text == "round(10 / 4, 1) = 2.5"


async def test_placeholders_become_earlier_numbers() -> None:
    inputs = TaskInputs(
        task_id="t3",
        results={
            "t1": TaskOutput(text="GMV this month: 1200", value=1200.0),
            "t2": TaskOutput(text="GMV last month", table=pd.DataFrame({"month": ["2024-01"], "gmv": [800.0]})),
        },
    )
    args = {"expression": "(<resource>-t1 - <resource>-t2) / <resource>-t2 * 100"}
    output = await ToolRegistry([calculator_tool()]).run("calculate", args, inputs)
    assert output.value == pytest.approx(50.0)
    assert output.text == "(1200.0 - 800.0) / 800.0 * 100 = 50"
    assert output.details["expression"] == args["expression"]


async def test_placeholder_without_a_single_number_is_a_tool_error() -> None:
    table = pd.DataFrame({"region": ["East", "West"], "gmv": [1.0, 2.0]})
    inputs = TaskInputs(task_id="t2", results={"t1": TaskOutput(text="two rows", table=table)})
    registry = ToolRegistry([calculator_tool()])
    with pytest.raises(ToolError, match="t1 did not produce a single number") as caught:
        await registry.run("calculate", {"expression": "<resource>-t1 * 2"}, inputs)
    assert caught.value.tool == "calculate"
    with pytest.raises(ToolError, match="t5, which is not one of its finished dependencies"):
        await registry.run("calculate", {"expression": "<resource>-t5 * 2"}, inputs)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"expression": ""}, "argument `expression` of calculate: String should have at least 1 character"),
        ({"expression": "1+" * 101}, "at most 200 characters"),
        ({}, "argument `expression` of calculate: Field required"),
    ],
)
async def test_invalid_arguments_are_refused_before_running(args: dict[str, str], problem: str) -> None:
    with pytest.raises(ToolError, match=problem):
        await ToolRegistry([calculator_tool()]).run("calculate", args, TaskInputs())


async def test_hostile_expression_through_the_registry() -> None:
    with pytest.raises(ToolError, match="the function '__import__' is not allowed"):
        await ToolRegistry([calculator_tool()]).run("calculate", {"expression": "__import__('os')"}, TaskInputs())
