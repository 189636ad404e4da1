"""Berkeley Function-Calling Leaderboard (BFCL) cases: OpenAI tool schemas, the AST checker, and a runner.

Three parts, each usable alone:

- :func:`to_openai_tool` turns a BFCL function document (types ``dict``, ``float``, ``tuple``, ``any``, ...) into
  an OpenAI tool schema; OpenAI tool names cannot hold ``.``, so it becomes ``_`` as BFCL itself does.
- :func:`check_calls` scores a model's calls with BFCL's AST-checker rules for Python ("simple" and "multiple"
  categories): right number of calls, function name, required parameters present, no unexpected parameters,
  types (an int is accepted for a float; a tuple is a list), each value among the ground truth's acceptable values
  (strings compared after BFCL's normalisation: spaces and ``,./-_*^`` removed, lower case), and every parameter
  left out allowed to be left out (``""`` among its acceptable values).
- :func:`run_cases` asks a served model through :class:`serving.client.ModelClient` in ``auto`` mode (the model
  decides whether and which tool to call) or ``required`` mode (a call is forced: the tool is named when only one
  is offered; schemas are strict) and scores every answer.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from evals.items import ToolCallingItem
from kubeai.errors import DatasetError, ModelServerUnavailableError

if TYPE_CHECKING:
    from serving.client import ModelClient

__all__ = [
    "CallCheck",
    "CaseResult",
    "Mode",
    "ModelCall",
    "accuracy_table",
    "check_calls",
    "run_case",
    "run_cases",
    "standardize_string",
    "to_openai_tool",
    "tool_name",
]

Mode = Literal["auto", "required"]

# BFCL type names (Python flavour) -> JSON-schema types, as BFCL's own GORILLA_TO_OPENAPI mapping does.
_JSON_TYPES: dict[str, str] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "float": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "dict": "object",
    "object": "object",
    "any": "string",
}

# BFCL type names -> the Python type a parsed argument must have (BFCL's PYTHON_TYPE_MAPPING).
_PY_TYPES: dict[str, type[Any]] = {
    "string": str,
    "integer": int,
    "float": float,
    "number": float,
    "boolean": bool,
    "bool": bool,
    "array": list,
    "list": list,
    "tuple": list,
    "dict": dict,
    "object": dict,
    "any": str,
}

_NESTED = frozenset({"array", "list", "tuple"})
_PUNCTUATION = re.compile(r"[ ,./\-_*^]")


def tool_name(name: str) -> str:
    """The OpenAI tool name of a BFCL function (``math.factorial`` -> ``math_factorial``)."""
    return name.replace(".", "_")


def to_openai_tool(function: Mapping[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """Convert a BFCL function document into an OpenAI ``{"type": "function", ...}`` tool.

    A parameter's ``default`` moves into its description (BFCL does the same), ``optional`` flags are dropped
    (``required`` already says it), and with ``strict`` every object forbids additional properties and the tool
    carries ``"strict": true`` so the server constrains the arguments to the schema.

    Args:
        function: ``name``, ``description`` and ``parameters`` as in BFCL's data files.
        strict: Ask the server to constrain arguments to the schema.

    Returns:
        The tool, ready for ``bind_tools`` or the OpenAI API.

    Raises:
        DatasetError: The document has no name or uses a type this converter does not know.
    """
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise DatasetError("A BFCL function has no name; give every function a non-empty name.")
    parameters = function.get("parameters") or {"type": "dict", "properties": {}}
    body: dict[str, Any] = {
        "name": tool_name(name),
        "description": str(function.get("description", "")),
        "parameters": _schema(parameters, strict=strict, where=name),
    }
    if strict:
        body["strict"] = True
    return {"type": "function", "function": body}


def _schema(node: Mapping[str, Any], *, strict: bool, where: str) -> dict[str, Any]:
    kind = node.get("type", "string")
    if not isinstance(kind, str) or kind not in _JSON_TYPES:
        raise DatasetError(
            f"Function {where!r} uses type {kind!r}, which has no JSON-schema equivalent here; use one of "
            f"{', '.join(sorted(_JSON_TYPES))}."
        )
    out: dict[str, Any] = {"type": _JSON_TYPES[kind]}
    description = str(node.get("description", "")).strip()
    if "default" in node:
        description = f"{description} Default: {node['default']!r}.".strip()
    if description:
        out["description"] = description
    if isinstance(node.get("enum"), list):
        out["enum"] = list(node["enum"])
    if out["type"] == "array":
        items = node.get("items")
        out["items"] = _schema(items, strict=strict, where=where) if isinstance(items, Mapping) else {}
    if out["type"] == "object":
        properties = node.get("properties")
        if isinstance(properties, Mapping):
            out["properties"] = {
                key: _schema(value, strict=strict, where=f"{where}.{key}") for key, value in properties.items()
            }
            required = [key for key in node.get("required", []) if key in properties]
            if required:
                out["required"] = required
            if strict:
                out["additionalProperties"] = False
    return out


@dataclass(frozen=True, kw_only=True)
class ModelCall:
    """One function call a model made.

    Attributes:
        name: The called tool's name as the model wrote it (OpenAI form, ``.`` replaced by ``_``).
        arguments: The parsed arguments.
    """

    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class CallCheck:
    """The verdict of the AST checker on one case.

    Attributes:
        valid: The calls match the ground truth.
        error_type: ``""`` when valid, else BFCL's error family (``wrong_count``, ``wrong_func_name``,
            ``missing_required``, ``unexpected_param``, ``type_error``, ``value_error``, ``missing_optional``).
        message: One sentence saying what was wrong.
    """

    valid: bool
    error_type: str = ""
    message: str = ""


_OK = CallCheck(valid=True)


def standardize_string(text: str) -> str:
    """BFCL's string normalisation: drop spaces and ``,./-_*^``, lower-case, and turn ``'`` into ``"``."""
    return _PUNCTUATION.sub("", text).lower().replace("'", '"')


def check_calls(
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[ModelCall],
    ground_truth: Sequence[Mapping[str, Mapping[str, Sequence[Any]]]],
) -> CallCheck:
    """Score a model's calls on a "simple" or "multiple" case with BFCL's AST-checker rules.

    Args:
        functions: The BFCL function documents the model was offered.
        calls: What the model called.
        ground_truth: The expected calls, ``{function_name: {param: [acceptable values]}}`` each.

    Returns:
        The verdict; an invalid one names the first rule broken.
    """
    if len(calls) != len(ground_truth):
        return CallCheck(
            valid=False,
            error_type="wrong_count",
            message=f"Expected {len(ground_truth)} call(s), got {len(calls)}.",
        )
    for call, truth in zip(calls, ground_truth, strict=True):
        expected = next(iter(truth))
        doc = next((f for f in functions if f.get("name") == expected), None)
        if doc is None:
            return CallCheck(
                valid=False, error_type="wrong_func_name", message=f"{expected!r} is not among the functions."
            )
        verdict = _check_one(doc, call, truth[expected])
        if not verdict.valid:
            return verdict
    return _OK


def _check_one(doc: Mapping[str, Any], call: ModelCall, truth: Mapping[str, Sequence[Any]]) -> CallCheck:
    expected = tool_name(str(doc["name"]))
    if call.name != expected:
        return CallCheck(
            valid=False, error_type="wrong_func_name", message=f"Expected {expected!r}, got {call.name!r}."
        )
    parameters = doc.get("parameters") or {}
    details: Mapping[str, Any] = parameters.get("properties") or {}
    for param in parameters.get("required") or []:
        if param not in call.arguments:
            return CallCheck(
                valid=False, error_type="missing_required", message=f"Missing required parameter {param!r}."
            )
    for param, raw in call.arguments.items():
        if param not in details or param not in truth:
            return CallCheck(valid=False, error_type="unexpected_param", message=f"Unexpected parameter {param!r}.")
        verdict = _check_value(param, raw, details[param], list(truth[param]))
        if not verdict.valid:
            return verdict
    for param, acceptable in truth.items():
        if param not in call.arguments and "" not in acceptable:
            return CallCheck(
                valid=False,
                error_type="missing_optional",
                message=f"Parameter {param!r} was left out but has no default among its acceptable values.",
            )
    return _OK


def _check_value(param: str, value: Any, detail: Mapping[str, Any], acceptable: list[Any]) -> CallCheck:
    kind = str(detail.get("type", "string"))
    want = _PY_TYPES.get(kind, str)
    if kind == "tuple" and isinstance(value, tuple):
        value = list(value)
    if want is float and type(value) is int:
        value = float(value)
    items = detail.get("items") if isinstance(detail.get("items"), Mapping) else None
    problem = _type_problem(value, want, items if kind in _NESTED else None)
    if problem:
        return CallCheck(
            valid=False, error_type="type_error", message=f"Parameter {param!r} should be {kind}: {problem}."
        )
    if not _value_accepted(value, want, items, acceptable):
        return CallCheck(
            valid=False,
            error_type="value_error",
            message=f"Parameter {param!r} is {value!r}, not one of {acceptable!r}.",
        )
    return _OK


def _type_problem(value: Any, want: type[Any], items: Mapping[str, Any] | None) -> str:
    if type(value) is not want:
        return f"got {type(value).__name__} {value!r}"
    inner = _PY_TYPES.get(str(items.get("type", "string")), str) if items is not None else None
    if inner is None or inner is dict:
        return ""
    for element in value:
        checked = float(element) if inner is float and type(element) is int else element
        if type(checked) is not inner:
            return f"item {element!r} is not {items.get('type') if items else ''}"
    return ""


def _value_accepted(value: Any, want: type[Any], items: Mapping[str, Any] | None, acceptable: list[Any]) -> bool:
    if want is dict:
        return any(_dict_matches(value, option) for option in acceptable if isinstance(option, Mapping))
    if want is list and items is not None and items.get("type") == "dict":
        return any(
            isinstance(option, list)
            and len(option) == len(value)
            and all(_dict_matches(v, o) for v, o in zip(value, option, strict=True))
            for option in acceptable
        )
    if want is str:
        return standardize_string(value) in [standardize_string(o) for o in acceptable if isinstance(o, str)]
    if want is list:
        return _standard(value) in [_standard(o) for o in acceptable if isinstance(o, list)]
    return any(type(o) is type(value) and o == value for o in acceptable) or (
        want is float and any(type(o) is int and float(o) == value for o in acceptable)
    )


def _standard(values: list[Any]) -> list[Any]:
    return [standardize_string(v) if isinstance(v, str) else v for v in values]


def _dict_matches(value: Any, option: Mapping[str, Any]) -> bool:
    if not isinstance(value, Mapping):
        return False
    for key, given in value.items():
        if key not in option:
            return False
        normal = standardize_string(given) if isinstance(given, str) else given
        allowed = [standardize_string(a) if isinstance(a, str) else a for a in option[key]]
        if normal not in allowed:
            return False
    return all(key in value or "" in values for key, values in option.items())


@dataclass(frozen=True, kw_only=True)
class CaseResult:
    """One case run in one mode.

    Attributes:
        id: The case id.
        category: ``simple`` or ``multiple``.
        mode: ``auto`` or ``required``.
        check: The AST checker's verdict; besides the checker's error types, ``request_error`` (the server refused
            the request), ``unparsable_call`` (arguments that are not JSON) and ``cut_off`` (the token limit came
            before any complete call).
        calls: The calls the model made.
        latency_s: Seconds the request took.
    """

    id: str
    category: str
    mode: Mode
    check: CallCheck
    calls: tuple[ModelCall, ...]
    latency_s: float


async def run_case(
    client: ModelClient, item: ToolCallingItem, mode: Mode, *, model: str | None = None, max_tokens: int = 256
) -> CaseResult:
    """Ask the served model one case and score its calls.

    Args:
        client: The endpoint.
        item: The case.
        mode: ``auto`` lets the model decide; ``required`` forces a call (naming the tool when only one is
            offered) with strict schemas.
        model: The served model name; ``None`` uses the client's default.
        max_tokens: Cap on generated tokens.

    Returns:
        The scored result.

    Raises:
        ModelServerUnavailableError: The server cannot be reached.
    """
    import openai
    from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

    strict = mode == "required"
    tools = [to_openai_tool(function, strict=strict) for function in item.functions]
    choice: str = "auto"
    if mode == "required":
        choice = tools[0]["function"]["name"] if len(tools) == 1 else "required"
    llm = client.chat_model(model, temperature=0.0, max_completion_tokens=max_tokens)
    bound = llm.bind_tools(tools, tool_choice=choice, strict=strict)
    messages: list[BaseMessage] = [
        SystemMessage(content=m.content) if m.role == "system" else HumanMessage(content=m.content)
        for m in item.question
    ]
    began = time.perf_counter()
    try:
        reply = await bound.ainvoke(messages)
    except openai.APIConnectionError:
        raise ModelServerUnavailableError(
            f"Cannot reach the model server at {client.base_url}; start it with `kubeai serve` or pass --url.",
            url=client.base_url,
        ) from None
    except openai.APIStatusError as exc:
        check = CallCheck(valid=False, error_type="request_error", message=f"HTTP {exc.status_code}: {exc.message}")
        return CaseResult(
            id=item.id, category=item.category, mode=mode, check=check, calls=(), latency_s=time.perf_counter() - began
        )
    latency = time.perf_counter() - began
    calls = tuple(ModelCall(name=c["name"], arguments=dict(c["args"])) for c in getattr(reply, "tool_calls", []))
    invalid = getattr(reply, "invalid_tool_calls", [])
    if invalid:
        check = CallCheck(
            valid=False,
            error_type="unparsable_call",
            message=f"{len(invalid)} call(s) had arguments that are not a JSON object.",
        )
    elif not calls and getattr(reply, "response_metadata", {}).get("finish_reason") == "length":
        check = CallCheck(
            valid=False,
            error_type="cut_off",
            message=f"The reply hit the {max_tokens}-token limit before any complete call.",
        )
    else:
        check = check_calls(item.functions, calls, item.ground_truth)
    return CaseResult(id=item.id, category=item.category, mode=mode, check=check, calls=calls, latency_s=latency)


async def run_cases(
    client: ModelClient,
    items: Sequence[ToolCallingItem],
    modes: Sequence[Mode] = ("auto", "required"),
    *,
    model: str | None = None,
    concurrency: int = 4,
) -> list[CaseResult]:
    """Run every case in every mode, ``concurrency`` requests at a time, in item order within each mode."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(item: ToolCallingItem, mode: Mode) -> CaseResult:
        async with gate:
            return await run_case(client, item, mode, model=model)

    return list(await asyncio.gather(*(one(item, mode) for mode in modes for item in items)))


def accuracy_table(results: Sequence[CaseResult]) -> dict[tuple[str, str], tuple[int, int]]:
    """``(category, mode) -> (correct, total)``, plus ``("all", mode)`` rows."""
    table: dict[tuple[str, str], tuple[int, int]] = {}
    for result in results:
        for key in ((result.category, result.mode), ("all", result.mode)):
            correct, total = table.get(key, (0, 0))
            table[key] = (correct + int(result.check.valid), total + 1)
    return table
