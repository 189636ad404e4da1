"""Text tasks on the model the select step chose: summarize, translate, classify and extract.

Each tool fills the ``<resource>-tN`` placeholders in its text with earlier tasks' results
(:meth:`~tools.registry.TaskInputs.fill`), clips the result to a token budget (the served model's whole context is
2048 tokens), renders its prompt from ``tools/prompts/`` and calls ``inputs.model`` through the
:class:`~serving.client.ModelClient`. Classification is constrained to the given labels by a JSON-schema enum and
extraction to the given fields by a pydantic schema, so neither needs its answer fished out of free text.

Model server errors become a :class:`~kubeai.errors.ToolError` with the same sentence, so one task fails and the
executor reports it, except :class:`~kubeai.errors.ModelServerUnavailableError`, which propagates unchanged: when
the server is not there every model-backed task would fail the same way, and the run should stop with that one
sentence instead of reporting it once per task.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import pandas as pd
from langchain_core.messages import BaseMessage
from langchain_core.tools import InjectedToolArg, StructuredTool
from pydantic import BaseModel, ConfigDict, Field, SkipValidation, create_model

from kubeai.errors import ModelServerError, ModelServerUnavailableError, ToolError
from kubeai.prompting import load_prompt
from serving.client import Completion, ModelClient, Usage
from tools.registry import TaskInputs, TaskOutput

__all__ = [
    "PROMPTS",
    "REQUEST_TOKENS",
    "TEXT_TOKENS",
    "classify_tool",
    "clip",
    "complete_text",
    "estimate_tokens",
    "extract_tool",
    "model_errors",
    "summarize_tool",
    "text_tools",
    "translate_tool",
]

PROMPTS = "tools.prompts"
"""The package holding the tools' prompt templates."""

TEXT_TOKENS = 800
"""About how many tokens of (filled) text a text task sends; the rest of the 2048-token context is prompt and answer."""

REQUEST_TOKENS = 120
"""About how many tokens of the user's request a prompt quotes as dialogue context."""

# Token estimate for clipping, measured on the served SmolLM2 tokenizer: about 3.8 Latin characters per token and
# 1.6 tokens per Chinese character. A narrow character costs one unit, a wide (CJK) one six; four units are a token.
_UNITS_PER_TOKEN = 4
_WIDE_UNITS = 6
_TRUNCATED = " (truncated)"

_SUMMARY_TOKENS = 200
_TRANSLATION_TOKENS = 300
_EXTRACTION_TOKENS = 300
_VALUE_CHARS = 120
_FIELD = r"^[a-z][a-z0-9_]{0,30}$"

_Inputs = Annotated[SkipValidation[TaskInputs], InjectedToolArg]
_Text = Annotated[
    str, Field(min_length=1, max_length=2000, description="the text; <resource>-t1 stands for task t1's result")
]
_Label = Annotated[str, Field(min_length=1, max_length=40)]
_FieldName = Annotated[str, Field(pattern=_FIELD)]


class _Args(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    inputs: _Inputs = Field(default_factory=TaskInputs)


class _SummarizeArgs(_Args):
    """Arguments of ``summarize``."""

    text: _Text
    language: Literal["en", "zh"] = Field(description="language of the summary")


class _TranslateArgs(_Args):
    """Arguments of ``translate``."""

    text: _Text
    target_language: Literal["en", "zh"] = Field(description="language to translate into")


class _ClassifyArgs(_Args):
    """Arguments of ``classify``."""

    text: _Text
    labels: list[_Label] = Field(min_length=2, max_length=8, description="the labels to choose from")


class _ExtractArgs(_Args):
    """Arguments of ``extract``."""

    text: _Text
    fields: list[_FieldName] = Field(
        min_length=1, max_length=8, description="names of the fields to extract, lower_snake_case"
    )


def text_tools(llm: ModelClient) -> list[StructuredTool]:
    """The four text tools, in the planner's order: summarize, translate, classify, extract."""
    return [summarize_tool(llm), translate_tool(llm), classify_tool(llm), extract_tool(llm)]


def summarize_tool(llm: ModelClient) -> StructuredTool:
    """``summarize``: two or three sentences about a text, in the language asked for."""

    async def summarize(text: str, language: str, inputs: TaskInputs) -> TaskOutput:
        body, cut = clip(inputs.fill(text), TEXT_TOKENS)
        messages = load_prompt(PROMPTS, "summarize").render(request=_request(inputs), text=body, language=language)
        answer = await complete_text(llm, messages, tool="summarize", model=inputs.model, max_tokens=_SUMMARY_TOKENS)
        return TaskOutput(text=answer.text.strip(), details=_details(answer, truncated=cut))

    return StructuredTool.from_function(
        coroutine=summarize,
        name="summarize",
        description="Summarize a text, such as an earlier task's result, in two or three sentences.",
        args_schema=_SummarizeArgs,
        metadata=_metadata("summarize"),
    )


def translate_tool(llm: ModelClient) -> StructuredTool:
    """``translate``: a text in English or Chinese."""

    async def translate(text: str, target_language: str, inputs: TaskInputs) -> TaskOutput:
        body, cut = clip(inputs.fill(text), TEXT_TOKENS)
        messages = load_prompt(PROMPTS, "translate").render(text=body, target_language=target_language)
        answer = await complete_text(
            llm, messages, tool="translate", model=inputs.model, max_tokens=_TRANSLATION_TOKENS
        )
        return TaskOutput(text=answer.text.strip(), details=_details(answer, truncated=cut))

    return StructuredTool.from_function(
        coroutine=translate,
        name="translate",
        description="Translate a text into English (en) or Chinese (zh).",
        args_schema=_TranslateArgs,
        metadata=_metadata("translate"),
    )


def classify_tool(llm: ModelClient) -> StructuredTool:
    """``classify``: the one label that fits a text, chosen under an enum constraint."""

    async def classify(text: str, labels: list[str], inputs: TaskInputs) -> TaskOutput:
        choices = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
        if len(choices) < 2:
            raise ToolError(f"classify needs at least two different labels, got {labels}.", tool="classify")
        body, cut = clip(inputs.fill(text), TEXT_TOKENS)
        messages = load_prompt(PROMPTS, "classify").render(request=_request(inputs), text=body, labels=choices)
        with model_errors("classify"):
            label = await llm.choose(messages, choices, model=inputs.model)
        details = {"label": label, "model": inputs.model or llm.default_model, "truncated": cut}
        return TaskOutput(text=label, details=details)

    return StructuredTool.from_function(
        coroutine=classify,
        name="classify",
        description="Pick the one label that best fits a text.",
        args_schema=_ClassifyArgs,
        metadata=_metadata("classify"),
    )


def extract_tool(llm: ModelClient) -> StructuredTool:
    """``extract``: named string fields read out of a text, as a one-row table."""

    async def extract(text: str, fields: list[str], inputs: TaskInputs) -> TaskOutput:
        names = list(dict.fromkeys(fields))
        body, cut = clip(inputs.fill(text), TEXT_TOKENS)
        messages = load_prompt(PROMPTS, "extract").render(
            request=_request(inputs), text=body, fields=names, language=inputs.language
        )
        with model_errors("extract"):
            result = await llm.structured(
                messages, _extraction_schema(names), model=inputs.model, max_tokens=_EXTRACTION_TOKENS
            )
        row = {name: str(value).strip() for name, value in result.value.model_dump(by_alias=True).items()}
        summary = "; ".join(f"{name}: {row[name] or '(not found)'}" for name in names)
        details = {"model": result.model, "fields": names, "truncated": cut, **_usage(result.usage)}
        return TaskOutput(text=summary, table=pd.DataFrame([row], columns=names), details=details)

    return StructuredTool.from_function(
        coroutine=extract,
        name="extract",
        description="Pull named fields out of a text into a one-row table.",
        args_schema=_ExtractArgs,
        metadata=_metadata("extract"),
    )


def clip(text: str, tokens: int) -> tuple[str, bool]:
    """``text`` cut to about ``tokens`` tokens (see :func:`estimate_tokens`) and marked, and whether it was cut."""
    budget = tokens * _UNITS_PER_TOKEN
    used = 0
    for position, char in enumerate(text):
        used += _units(char)
        if used > budget:
            return text[:position].rstrip() + _TRUNCATED, True
    return text, False


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` takes: a Chinese character about 1.5, another character about a quarter."""
    return -(-sum(_units(char) for char in text) // _UNITS_PER_TOKEN)


@contextmanager
def model_errors(tool: str) -> Iterator[None]:
    """Reword model server errors raised inside the block as a :class:`~kubeai.errors.ToolError` of ``tool``.

    :class:`~kubeai.errors.ModelServerUnavailableError` passes unchanged: an unreachable server stops the run.
    """
    try:
        yield
    except ModelServerUnavailableError:
        raise
    except ModelServerError as exc:
        raise ToolError(str(exc), tool=tool) from exc


async def complete_text(
    llm: ModelClient, messages: Sequence[BaseMessage], *, tool: str, model: str | None, max_tokens: int
) -> Completion:
    """A free-text answer for ``tool``; server errors handled as :func:`model_errors` says.

    Raises:
        ToolError: The server refused or timed out, or the model's answer is empty.
    """
    with model_errors(tool):
        answer = await llm.complete(messages, model=model, max_tokens=max_tokens)
    if not answer.text.strip():
        raise ToolError(
            f"Model {answer.model!r} returned an empty answer for {tool}; retry, or choose another model.", tool=tool
        )
    return answer


def _extraction_schema(names: Sequence[str]) -> type[BaseModel]:
    # Internal names with the requested names as aliases: a field called `schema` or `model_config` cannot clash
    # with pydantic's own attributes, and the JSON schema and validation both use the requested names.
    definitions: dict[str, Any] = {
        f"field_{i}": (str, Field(alias=name, max_length=_VALUE_CHARS)) for i, name in enumerate(names)
    }
    return create_model("Extraction", __config__=ConfigDict(extra="forbid"), **definitions)


def _units(char: str) -> int:
    return _WIDE_UNITS if unicodedata.east_asian_width(char) in {"W", "F"} else 1


def _request(inputs: TaskInputs) -> str:
    return clip(inputs.request.strip(), REQUEST_TOKENS)[0]


def _metadata(task_type: str) -> dict[str, Any]:
    return {"task_type": task_type, "references": (), "needs_model": True}


def _usage(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}


def _details(answer: Completion, *, truncated: bool) -> Mapping[str, Any]:
    return {"model": answer.model, "truncated": truncated, **_usage(answer.usage)}
