"""Prompt apps as assistants of the API: every app of the registry is the assistant ``app:<name>``.

An app answers one input under its output contract (:mod:`agents.apps`). A run's values hold the checked answer
(``result``), the model's reasoning apart from it (chain of thought on), and, for a contract with a renderer (the
``prototype`` app), the rendered document in ``page``: rendered by code from the validated spec with autoescaping,
never markup a model wrote. Apps read no warehouse rows, so a key with a row scope may use them (docs/api.md).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agents.apps import AppRegistry, AppResult, ChoiceContract, ModelContract, PromptApp, render, run_app
from kubeai.config import ProjectConfig
from serving.client import ModelClient

__all__ = ["APP_GRAPH", "APP_PREFIX", "ServedApps", "app_values", "assistant_id", "contract_of"]

APP_PREFIX = "app:"
"""An app's assistant id is this prefix and the app's name: ``app:ticket_router``."""

APP_GRAPH = "app"
"""The ``graph_id`` every app assistant shares: one runner, configured by each app's file."""


def assistant_id(app: PromptApp) -> str:
    """The app's assistant id, ``app:<name>``."""
    return f"{APP_PREFIX}{app.name}"


def contract_of(app: PromptApp) -> dict[str, Any]:
    """The app's output contract as an assistant shows it.

    Its kind, the JSON schema answers are decoded under, the labels of a choice list, the named schema and whether
    it renders a page.
    """
    contract = app.contract
    shown: dict[str, Any] = {"kind": contract.kind, "json_schema": contract.json_schema(reasoning=False)}
    if isinstance(contract, ChoiceContract):
        shown["choices"] = list(contract.choices)
    if isinstance(contract, ModelContract):
        shown["schema"] = contract.name
        shown["renders"] = "html" if contract.renderer is not None else None
    return shown


def answer_text(data: Any) -> str:
    """An app's answer as one message: a label as it is, an object as compact JSON."""
    return data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def app_values(app: PromptApp, result: AppResult, text: str) -> dict[str, Any]:
    """A run's values.

    The input, the checked ``result`` and ``reasoning`` apart, the model, and ``page`` where the contract renders
    one (HTML rendered by code from the validated spec).
    """
    data = result.data()
    values: dict[str, Any] = {
        "app": app.name,
        "input": text,
        "output": app.contract.kind,
        "result": data,
        "reasoning": result.reasoning,
        "answer": answer_text(data),
        "model": result.model,
        "language": result.language,
        "latency_s": round(result.latency_s, 3),
        "usage": dataclasses.asdict(result.usage),
    }
    page = render(app, result)
    if page is not None:
        values["page"] = page
    return values


@dataclass(frozen=True, kw_only=True)
class ServedApps:
    """The apps the API serves and the model client they answer with."""

    registry: AppRegistry
    llm: ModelClient

    @classmethod
    def load(cls, config: ProjectConfig, *, llm: ModelClient) -> ServedApps:
        """The bundled apps and those in ``apps.dir``, each validated (an app's model must be registered).

        Raises:
            ConfigError: An app file is invalid (:meth:`AppRegistry.load`).
        """
        return cls(registry=AppRegistry.load(user_dir=config.apps.dir, models=config.models.names()), llm=llm)

    def __iter__(self) -> Iterator[PromptApp]:
        return iter(self.registry)

    def find(self, assistant: str) -> PromptApp | None:
        """The app an assistant id names, or ``None`` when it names none."""
        name = assistant.removeprefix(APP_PREFIX)
        if not assistant.startswith(APP_PREFIX) or name not in self.registry:
            return None
        return self.registry.get(name)

    async def run(self, app: PromptApp, text: str, *, model: str | None = None) -> dict[str, Any]:
        """Answer ``text`` with ``app`` on ``model`` (default: the app's own, else the base model); the values.

        Raises:
            ModelOutputError: The answer does not fit the app's contract.
            ModelServerError: The model server failed.
        """
        result = await run_app(app, text, self.llm, model=model)
        return app_values(app, result, text)


def describe(app: PromptApp) -> dict[str, Any]:
    """What ``GET /assistants`` shows of an app beside its id: name, description and metadata."""
    return {
        "name": app.name,
        "description": app.description("en"),
        "metadata": {
            "kind": "app",
            "description_zh": app.description("zh"),
            "output": contract_of(app),
            "chain_of_thought": app.spec.chain_of_thought,
            "model": app.spec.model,
            "examples": len(app.examples),
            "source": "bundled" if app.bundled else "apps.dir",
        },
    }
