"""Output contracts of prompt apps: what a model's answer must be, as the JSON schema it is decoded under.

An app's ``output`` names one of three forms:

* ``choices: [a, b, c]``: one label, decoded under a JSON-schema enum (:class:`ChoiceContract`);
* ``schema: page``: a structured output the project defines in code, with its renderer (:data:`NAMED_SCHEMAS`;
  an app file names one, it never imports code);
* ``json_schema: {...}``: an inline JSON schema of an object, checked with ``jsonschema`` when the app loads and
  every answer validated against it (:class:`JsonSchemaContract`).

With chain of thought on, a ``reasoning`` string comes first in the decoded object, so the model writes it before
its answer; :meth:`Contract.parse` takes it out, and it is never part of the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import jsonschema  # type: ignore[import-untyped]  # no stubs or py.typed; not in the pyproject overrides
from pydantic import BaseModel, ValidationError

from tools.pages import PageSpec, render_page

__all__ = [
    "NAMED_SCHEMAS",
    "REASONING_CHARS",
    "ChoiceContract",
    "Contract",
    "JsonSchemaContract",
    "ModelContract",
    "Renderer",
    "choice_contract",
]

REASONING_CHARS = 600
"""The longest reasoning a model may write before its answer when chain of thought is on."""

Renderer = Callable[[Any, Literal["en", "zh"]], str]
"""Turns a validated answer into a document (e.g. an HTML page), in the input's language."""


class Contract(Protocol):
    """The shape a prompt app's answer must have."""

    @property
    def kind(self) -> Literal["choice", "schema", "json_schema"]:
        """Which of the three forms this is."""
        ...

    def json_schema(self, *, reasoning: bool) -> dict[str, Any]:
        """The JSON schema the answer is decoded under; with ``reasoning`` a ``reasoning`` string comes first."""
        ...

    def check(self, value: Any) -> Any:
        """``value`` (the answer without reasoning) validated, in the form callers get it.

        Raises:
            ValueError: It does not fit; the message says how, in one phrase.
        """
        ...

    def parse(self, decoded: Mapping[str, Any]) -> tuple[Any, str | None]:
        """The checked answer and the reasoning (``None`` without one) from a decoded JSON object.

        Raises:
            ValueError: The answer does not fit.
        """
        ...


def _with_reasoning(schema: Mapping[str, Any]) -> dict[str, Any]:
    widened = dict(schema)
    widened["properties"] = {
        "reasoning": {"type": "string", "maxLength": REASONING_CHARS, "description": "brief reasoning, written first"},
        **dict(schema.get("properties", {})),
    }
    widened["required"] = ["reasoning", *[name for name in schema.get("required", ()) if name != "reasoning"]]
    return widened


def _split(decoded: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    rest = {key: value for key, value in decoded.items() if key != "reasoning"}
    reasoning = decoded.get("reasoning")
    return rest, (str(reasoning).strip() if reasoning is not None else None)


@dataclass(frozen=True)
class ChoiceContract:
    """Exactly one of ``choices``, as ``{"choice": label}`` under an enum constraint."""

    choices: tuple[str, ...]
    kind: Literal["choice"] = field(default="choice", init=False)

    def json_schema(self, *, reasoning: bool) -> dict[str, Any]:
        """``{"choice": enum}``, with ``reasoning`` first when asked."""
        schema = {
            "title": "Choice",
            "type": "object",
            "properties": {"choice": {"type": "string", "enum": list(self.choices)}},
            "required": ["choice"],
            "additionalProperties": False,
        }
        return _with_reasoning(schema) if reasoning else schema

    def check(self, value: Any) -> str:
        """``value`` when it is one of the choices."""
        if value not in self.choices:
            raise ValueError(f"{value!r} is not one of {list(self.choices)}")
        return str(value)

    def parse(self, decoded: Mapping[str, Any]) -> tuple[str, str | None]:
        """The chosen label and the reasoning."""
        rest, reasoning = _split(decoded)
        return self.check(rest.get("choice")), reasoning


@dataclass(frozen=True)
class ModelContract:
    """A structured output defined in code (a pydantic model), optionally with a renderer."""

    name: str
    model: type[BaseModel]
    renderer: Renderer | None = None
    kind: Literal["schema"] = field(default="schema", init=False)

    def json_schema(self, *, reasoning: bool) -> dict[str, Any]:
        """The model's JSON schema, with ``reasoning`` first when asked."""
        schema = self.model.model_json_schema()
        return _with_reasoning(schema) if reasoning else schema

    def check(self, value: Any) -> BaseModel:
        """``value`` validated by the model."""
        try:
            return self.model.model_validate(value)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            raise ValueError(f"{where}: {error['msg']}") from None

    def parse(self, decoded: Mapping[str, Any]) -> tuple[BaseModel, str | None]:
        """The validated model instance and the reasoning."""
        rest, reasoning = _split(decoded)
        return self.check(rest), reasoning


@dataclass(frozen=True)
class JsonSchemaContract:
    """An object validated against an inline JSON schema."""

    schema: Mapping[str, Any]
    kind: Literal["json_schema"] = field(default="json_schema", init=False)

    def __post_init__(self) -> None:
        """Check the schema itself, and that it describes an object (reasoning is added as a property)."""
        try:
            jsonschema.Draft202012Validator.check_schema(dict(self.schema))
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON schema ({exc.message})") from None
        if self.schema.get("type") != "object" or not isinstance(self.schema.get("properties"), Mapping):
            raise ValueError("must describe an object: `type: object` with `properties`")

    def json_schema(self, *, reasoning: bool) -> dict[str, Any]:
        """The schema, with ``reasoning`` first when asked."""
        return _with_reasoning(self.schema) if reasoning else dict(self.schema)

    def check(self, value: Any) -> dict[str, Any]:
        """``value`` when the schema accepts it."""
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(dict(self.schema)).iter_errors(value))
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
            raise ValueError(f"{where}: {error.message}")
        return dict(value)

    def parse(self, decoded: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The validated object and the reasoning."""
        rest, reasoning = _split(decoded)
        return self.check(rest), reasoning


def _render_page(value: Any, language: Literal["en", "zh"]) -> str:
    return render_page(PageSpec.model_validate(value), language=language)


NAMED_SCHEMAS: Mapping[str, ModelContract] = {
    "page": ModelContract(name="page", model=PageSpec, renderer=_render_page),
}
"""Structured outputs an app may name as ``output.schema``, each with its renderer if it has one."""


def choice_contract(choices: Sequence[str]) -> ChoiceContract:
    """A choice contract over distinct, non-empty labels.

    Raises:
        ValueError: Fewer than two labels, an empty one, or a repeated one.
    """
    labels = tuple(str(label).strip() for label in choices)
    if len(labels) < 2 or not all(labels) or len(set(labels)) != len(labels):
        raise ValueError("needs at least two distinct, non-empty labels")
    return ChoiceContract(labels)
