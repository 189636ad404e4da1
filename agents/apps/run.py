"""Run a prompt app: render its four parts and shots into chat messages, decode under its contract, check.

The messages are the layout's system message (instruction, business knowledge, output requirements), then each
example as an earlier user turn (the context part over the example's input) and assistant turn (its answer as the
JSON the contract decodes), then the user's turn. A choice app without chain of thought is answered through
:meth:`~serving.client.ModelClient.choose`; every other app through
:meth:`~serving.client.ModelClient.structured_json` under the contract's schema, and the answer is validated
against the contract before anyone sees it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel

from agents.apps.contracts import ChoiceContract, ModelContract
from agents.apps.spec import AppExample, PromptApp
from kubeai.errors import ModelOutputError
from kubeai.language import detect_language
from kubeai.prompting import load_prompt
from serving.client import ModelClient, Usage

__all__ = ["AppResult", "build_messages", "render", "run_app"]

_PROMPTS = "agents.apps.prompts"
_CHOICE_TOKENS = 64


@dataclass(frozen=True, kw_only=True)
class AppResult:
    """What one run of an app gave.

    Attributes:
        app: The app's name.
        value: The answer: a label for a choice app, a validated model for a named schema, a dict for an inline
            JSON schema.
        reasoning: The model's reasoning (chain of thought on), kept apart from the answer; ``None`` otherwise.
        language: The input's language, ``en`` or ``zh``.
        model: The model or adapter that answered.
        latency_s: Seconds the model took.
        usage: Prompt and completion tokens (zero when the server did not report them).
    """

    app: str
    value: Any
    reasoning: str | None
    language: Literal["en", "zh"]
    model: str
    latency_s: float
    usage: Usage

    def data(self) -> Any:
        """The answer as JSON data: the label, or the object."""
        return self.value.model_dump(mode="json") if isinstance(self.value, BaseModel) else self.value


def build_messages(app: PromptApp, text: str) -> list[BaseMessage]:
    """The chat messages for ``text``: the four-part layout with the app's shots between system and user turn."""
    language = _language(text)
    contract = app.contract
    choices = list(contract.choices) if isinstance(contract, ChoiceContract) else []
    values = {"input": text, "language": language}
    layout = load_prompt(_PROMPTS, "layout")
    system, user = layout.render(
        instruction=app.parts["instruction"].render(values),
        knowledge=app.parts["knowledge"].render(values),
        output_requirements=app.parts["output_requirements"].render(values),
        choices=choices,
        chain_of_thought=app.spec.chain_of_thought,
        context=app.parts["context"].render(values),
    )
    shots: list[BaseMessage] = []
    for example in app.examples:
        shot_values = {"input": example.input, "language": _language(example.input)}
        shots.append(HumanMessage(content=app.parts["context"].render(shot_values).strip()))
        shots.append(AIMessage(content=_shot_answer(app, example)))
    return [system, *shots, user]


async def run_app(app: PromptApp, text: str, llm: ModelClient, *, model: str | None = None) -> AppResult:
    """Answer ``text`` with ``app``.

    Args:
        app: The app.
        text: The user's input.
        llm: The model client.
        model: A model or adapter instead of the app's own (default: the app's ``model``, else the client's).

    Returns:
        The checked answer.

    Raises:
        ModelOutputError: The answer does not fit the app's contract.
        ModelServerError: The server could not be reached or refused the request.
    """
    name = model or app.spec.model or llm.default_model
    messages = build_messages(app, text)
    contract = app.contract
    began = time.perf_counter()
    if isinstance(contract, ChoiceContract) and not app.spec.chain_of_thought:
        label = await llm.choose(messages, contract.choices, model=name)
        return AppResult(
            app=app.name,
            value=label,
            reasoning=None,
            language=_language(text),
            model=name,
            latency_s=time.perf_counter() - began,
            usage=Usage(),
        )
    reasoning = app.spec.chain_of_thought
    answer = await llm.structured_json(
        messages,
        contract.json_schema(reasoning=reasoning),
        name=app.name,
        model=name,
        max_tokens=app.spec.max_tokens,
    )
    try:
        value, thought = contract.parse(answer.value)
    except ValueError as exc:
        raise ModelOutputError(
            f"Model {name!r} answered app {app.name!r} with output that does not fit its contract ({exc}); retry, "
            "add an example to the app, or raise its max_tokens.",
            url=llm.base_url,
            model=name,
            raw=answer.raw,
        ) from None
    return AppResult(
        app=app.name,
        value=value,
        reasoning=thought if reasoning else None,
        language=_language(text),
        model=name,
        latency_s=answer.latency_s,
        usage=answer.usage,
    )


def render(app: PromptApp, result: AppResult) -> str | None:
    """The document the app's contract renders its answer into (a page for ``schema: page``), or ``None``."""
    contract = app.contract
    if isinstance(contract, ModelContract) and contract.renderer is not None:
        return contract.renderer(result.value, result.language)
    return None


def _shot_answer(app: PromptApp, example: AppExample) -> str:
    contract = app.contract
    answer: dict[str, Any] = {"reasoning": example.reasoning} if app.spec.chain_of_thought else {}
    if isinstance(contract, ChoiceContract):
        answer["choice"] = example.output
    else:
        answer.update(example.output)
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))


def _language(text: str) -> Literal["en", "zh"]:
    return "zh" if detect_language(text) == "zh" else "en"
