"""The ``calculate`` tool: arithmetic over numbers, evaluated by walking a whitelisted syntax tree.

A model's expression is never handed to ``eval``. It is parsed with :func:`ast.parse` and walked node by node;
only number literals, ``+ - * / // % **``, unary ``+``/``-``, parentheses and calls of ``abs``, ``round``,
``min``, ``max`` and ``sqrt`` with positional arguments are allowed. Everything is computed in floating point,
exponents are bounded (``|exponent| <= 100``) and every intermediate result must be finite, so no expression
can allocate huge integers or run for long.

A ``<resource>-tN`` placeholder stands for the single number task ``tN`` produced; the tool fills it in
(:meth:`tools.registry.TaskInputs.fill` with ``numbers=True``) before parsing.
"""

from __future__ import annotations

import ast
import decimal
import math
import operator
from collections.abc import Callable, Mapping
from typing import Annotated, Final

from langchain_core.tools import InjectedToolArg, StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from kubeai.errors import ToolError
from tools.registry import TaskInputs, TaskOutput

__all__ = ["MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "MAX_ROUND_DIGITS", "calculate", "calculator_tool"]

_NAME: Final = "calculate"

MAX_LENGTH: Final = 1000
"""Longest expression evaluated, after placeholders are filled in (a model writes at most 200 characters)."""

MAX_EXPONENT: Final = 100
"""Largest exponent magnitude allowed in ``**``."""

MAX_ROUND_DIGITS: Final = 15
"""Most digits ``round`` keeps (or, negative, clears)."""

MAX_DEPTH: Final = 100
"""Deepest nesting of operations evaluated (``1+1+...`` with 100 terms nests 100 deep)."""

_ALLOWED: Final = "use numbers, + - * / // % ** and parentheses, and the functions abs, round, min, max, sqrt"

_BINARY: Final[Mapping[type[ast.operator], Callable[[float, float], float]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}

_UNARY: Final[Mapping[type[ast.unaryop], Callable[[float], float]]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _round(number: float, digits: float = 0) -> float:
    """Round half away from zero on the number as written (``round(2.5) == 3``, ``round(0.125, 2) == 0.13``)."""
    if digits != int(digits) or abs(digits) > MAX_ROUND_DIGITS:
        raise ToolError(
            f"round takes a whole number of digits from -{MAX_ROUND_DIGITS} to {MAX_ROUND_DIGITS}, not {digits:g}",
            tool=_NAME,
        )
    step = decimal.Decimal(1).scaleb(-int(digits))
    try:
        return float(decimal.Decimal(repr(number)).quantize(step, rounding=decimal.ROUND_HALF_UP))
    except decimal.InvalidOperation:  # more digits than a Decimal holds: nothing left to round
        return number


_FUNCTIONS: Final[Mapping[str, tuple[Callable[..., float], int, int]]] = {
    # name: (function, fewest arguments, most arguments)
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (lambda *numbers: min(numbers), 1, 50),
    "max": (lambda *numbers: max(numbers), 1, 50),
    "sqrt": (math.sqrt, 1, 1),
}


_FORBIDDEN: Final[Mapping[type[ast.expr], str]] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Compare: "a comparison",
    ast.IfExp: "a conditional",
    ast.NamedExpr: "assignment",
}


def calculate(expression: str) -> float:
    """Evaluate an arithmetic expression safely.

    Args:
        expression: Numbers combined with ``+ - * / // % **``, parentheses and the functions ``abs``,
            ``round``, ``min``, ``max`` and ``sqrt``, e.g. ``"round((1200 - 800) / 800 * 100, 1)"``.

    Returns:
        The value, as a finite float.

    Raises:
        ToolError: The expression is empty, too long, not valid syntax, uses anything outside the whitelist
            (names, attributes, strings, subscripts, keyword arguments, ...), divides by zero, takes the
            square root of a negative number, raises to an exponent beyond :data:`MAX_EXPONENT`, or overflows.
    """
    text = expression.strip()
    if not text:
        raise ToolError(f"the expression is empty; {_ALLOWED}", tool=_NAME)
    if len(text) > MAX_LENGTH:
        raise ToolError(f"the expression has {len(text)} characters, more than {MAX_LENGTH}; shorten it", tool=_NAME)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"could not read {text!r} as arithmetic ({exc.msg}); {_ALLOWED}", tool=_NAME) from None
    return _evaluate(tree.body, 0)


def _evaluate(node: ast.expr, depth: int) -> float:
    if depth > MAX_DEPTH:
        raise ToolError(f"the expression nests more than {MAX_DEPTH} operations deep; simplify it", tool=_NAME)
    match node:
        case ast.Constant(value=bool()):
            pass  # True and False are ints to Python, not numbers to a reader
        case ast.Constant(value=int() | float() as number):
            try:
                return _finite(float(number))
            except OverflowError:  # an integer literal beyond the float range
                raise _too_large() from None
        case ast.BinOp(left=left, op=ast.Pow(), right=right):
            return _power(_evaluate(left, depth + 1), _evaluate(right, depth + 1))
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            a, b = _evaluate(left, depth + 1), _evaluate(right, depth + 1)
            try:
                return _finite(_BINARY[type(op)](a, b))
            except ZeroDivisionError:
                raise ToolError(f"division by zero in `{_snippet(node)}`", tool=_NAME) from None
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            return _UNARY[type(op)](_evaluate(operand, depth + 1))
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in _FUNCTIONS:
            return _call(name, [_evaluate(arg, depth + 1) for arg in args])
    raise ToolError(f"{_describe(node)} is not allowed in a calculation; {_ALLOWED}", tool=_NAME)


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolError(f"the exponent {exponent:g} is larger than {MAX_EXPONENT} in magnitude", tool=_NAME)
    if base == 0 and exponent < 0:
        raise ToolError("division by zero: 0 raised to a negative power", tool=_NAME)
    try:
        return _finite(math.pow(base, exponent))
    except ValueError:
        raise ToolError(
            f"({base:g}) ** {exponent:g} is not a real number (a negative number to a fractional power)", tool=_NAME
        ) from None
    except OverflowError:
        raise _too_large() from None


def _call(name: str, args: list[float]) -> float:
    function, fewest, most = _FUNCTIONS[name]
    if not fewest <= len(args) <= most:
        expected = str(fewest) if fewest == most else f"{fewest} to {most}"
        raise ToolError(f"{name} takes {expected} arguments, not {len(args)}", tool=_NAME)
    if name == "sqrt" and args[0] < 0:
        raise ToolError(f"sqrt of a negative number ({args[0]:g}) is not a real number", tool=_NAME)
    return _finite(float(function(*args)))


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise _too_large()
    return value


def _too_large() -> ToolError:
    return ToolError("a number in the calculation is too large (beyond 1e308); check the expression", tool=_NAME)


def _describe(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}"
    if isinstance(node, ast.Call):
        return _describe_call(node)
    if isinstance(node, ast.Constant):
        return "text" if isinstance(node.value, str | bytes) else f"the constant {node.value!r}"
    if isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp):
        what = f"the operator {type(node.op).__name__}"
    else:
        what = _FORBIDDEN.get(type(node), type(node).__name__)
    return f"{what} (`{_snippet(node)}`)"


def _describe_call(node: ast.Call) -> str:
    if not isinstance(node.func, ast.Name):
        return f"calling anything but abs, round, min, max or sqrt (`{_snippet(node)}`)"
    if node.func.id in _FUNCTIONS:
        return f"a keyword argument to {node.func.id}"
    return f"the function {node.func.id!r}"


def _snippet(node: ast.expr, width: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= width else text[: width - 3] + "..."


def _format(value: float) -> str:
    return f"{value:.12g}"


class _CalculateArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    expression: str = Field(
        min_length=1,
        max_length=200,
        description="arithmetic with numbers, + - * / // % ** ( ) abs round min max sqrt; "
        "<resource>-tN is task tN's number",
    )
    inputs: Annotated[TaskInputs, InjectedToolArg] = Field(default_factory=TaskInputs)


async def _run(*, expression: str, inputs: TaskInputs) -> TaskOutput:
    try:
        filled = inputs.fill(expression, numbers=True)
    except ToolError as exc:
        raise ToolError(str(exc), tool=_NAME) from None
    value = calculate(filled)
    return TaskOutput(
        text=f"{filled.strip()} = {_format(value)}",
        value=value,
        details={"expression": expression, "evaluated": filled},
    )


def calculator_tool() -> StructuredTool:
    """The ``calculate`` tool: evaluate arithmetic over numbers and earlier tasks' numbers.

    Returns:
        A tool whose output has ``value`` (the result) and ``text`` (``"<expression> = <result>"``).
    """
    return StructuredTool.from_function(
        coroutine=_run,
        name=_NAME,
        description="Calculate an arithmetic expression, e.g. growth in percent: "
        "(<resource>-t2 - <resource>-t1) / <resource>-t1 * 100",
        args_schema=_CalculateArgs,
        metadata={"task_type": "calculate", "references": (), "needs_model": False},
    )
