"""A prompt app as one declarative YAML file, validated whole when it loads.

An app file holds everything a prompt-only application is::

    name: ticket_router                 # the file's name without .yaml
    description: {en: Routes a support ticket., zh: 把客服工单分到对应的处理组。}
    model: smollm2-135m                 # a registered model or adapter; omitted: the base model
    chain_of_thought: false             # true: a `reasoning` field is decoded first, never shown as the result
    max_tokens: 64
    prompt:                             # the four parts, Jinja templates over {{ input }} and {{ language }}
      instruction: ...                  # the task
      context: "Ticket: {{ input }}"    # the dialogue context: what the user sent (default: {{ input }})
      knowledge: ...                    # business knowledge the model needs
      output_requirements: ...          # how to answer
    examples:                           # zero, one or a few shots, each output checked against the contract
      - {input: "I was charged twice", output: billing}
    output:                             # exactly one of: choices, schema (a named one), json_schema
      choices: [billing, technical, account, other]
    eval: {dataset: ticket_router}      # optional: a dataset under evals/datasets, or a folder relative to this file

Every problem raises :class:`~kubeai.errors.ConfigError` with one sentence naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
import jinja2.meta
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents.apps.contracts import NAMED_SCHEMAS, Contract, JsonSchemaContract, choice_contract
from kubeai.errors import ConfigError

__all__ = ["APP_VARIABLES", "AppExample", "AppSpec", "PromptApp", "load_app_file"]

APP_VARIABLES = frozenset({"input", "language"})
"""The variables an app's prompt parts may use: the user's input and its language (``en`` or ``zh``)."""

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
_NAME = r"^[a-z][a-z0-9_-]{0,47}$"
_MAX_BYTES = 256 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Description(_Model):
    en: str = Field(default="", max_length=300)
    zh: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _one(self) -> _Description:
        if not (self.en or self.zh):
            raise ValueError("give an `en` or a `zh` description")
        return self


class _Parts(_Model):
    instruction: str = Field(min_length=1, max_length=8000)
    context: str = Field(default="{{ input }}", min_length=1, max_length=8000)
    knowledge: str = Field(default="", max_length=8000)
    output_requirements: str = Field(min_length=1, max_length=8000)


class AppExample(_Model):
    """One shot: an input, the answer the model should give, and (with chain of thought) the reasoning before it."""

    input: str = Field(min_length=1, max_length=4000)
    output: Any
    reasoning: str = Field(default="", max_length=600)


class _Output(_Model):
    choices: tuple[str, ...] | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    json_schema: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _Output:
        given = [self.choices is not None, self.schema_name is not None, self.json_schema is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of `choices`, `schema` or `json_schema`")
        return self


class _Eval(_Model):
    dataset: str = Field(min_length=1)


class AppSpec(_Model):
    """The file's fields, as written (see the module docstring)."""

    name: str = Field(pattern=_NAME)
    description: _Description
    model: str | None = Field(default=None, min_length=1)
    chain_of_thought: bool = False
    max_tokens: int = Field(default=512, ge=1, le=4096)
    prompt: _Parts
    examples: tuple[AppExample, ...] = Field(default=(), max_length=8)
    output: _Output
    eval: _Eval | None = None


@dataclass(frozen=True, kw_only=True)
class PromptApp:
    """A loaded, validated app: its spec, compiled prompt parts and output contract.

    Attributes:
        spec: The file's fields.
        path: The file it came from.
        bundled: Shipped with the project (else a user's app from ``apps.dir``).
        parts: The four prompt parts, compiled (``instruction``, ``context``, ``knowledge``,
            ``output_requirements``).
        contract: What an answer must be.
        examples: The shots, their outputs already checked against the contract.
    """

    spec: AppSpec
    path: Path
    bundled: bool
    parts: Mapping[str, jinja2.Template]
    contract: Contract
    examples: tuple[AppExample, ...]

    @property
    def name(self) -> str:
        """The app's name."""
        return self.spec.name

    def description(self, language: Literal["en", "zh"] = "en") -> str:
        """The description in ``language``, else in the other one."""
        own = self.spec.description.zh if language == "zh" else self.spec.description.en
        return own or self.spec.description.en or self.spec.description.zh

    def eval_dataset(self, bundled_root: Path) -> Path | None:
        """The app's eval dataset folder: a name under ``bundled_root``, else a folder relative to the app file."""
        if self.spec.eval is None:
            return None
        named = bundled_root / self.spec.eval.dataset
        if "/" not in self.spec.eval.dataset and named.is_dir():
            return named
        return (self.path.parent / self.spec.eval.dataset).resolve()


def load_app_file(path: Path, *, bundled: bool = False) -> PromptApp:
    """Read and validate one app file.

    Args:
        path: The YAML file; its name (without ``.yaml``) must be the app's ``name``.
        bundled: Whether the file ships with the project.

    Returns:
        The app, every template compiled and every example checked against the output contract.

    Raises:
        ConfigError: The file is unreadable, not YAML, or a field is wrong; the sentence names the file and field.
    """
    data = _read(path)
    try:
        spec = AppSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field; see docs/apps.md for the fields an app has"
        elif error["type"] == "missing":
            message = "missing; every app needs it"
        raise _error(path, where, message) from None
    if spec.name != path.stem:
        raise _error(
            path, "name", f"the app is called {spec.name!r} but the file is {path.name}; name the file {spec.name}.yaml"
        )
    parts = _compile(path, spec)
    contract = _contract(path, spec)
    examples = tuple(_check_example(path, spec, contract, index, ex) for index, ex in enumerate(spec.examples))
    return PromptApp(spec=spec, path=path, bundled=bundled, parts=parts, contract=contract, examples=examples)


def _read(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"App file {path} cannot be read ({exc.strerror or exc}).", field=None, source=str(path)
        ) from None
    if len(raw) > _MAX_BYTES:
        raise _error(path, "(file)", f"the file is larger than {_MAX_BYTES // 1024} KiB; keep an app file small")
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _error(path, "(file)", "the file is not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"App file {path}{where} is not valid YAML; fix its syntax.", source=str(path)) from None
    if not isinstance(data, dict):
        raise _error(path, "(top level)", "an app file is a mapping with name, description, prompt and output")
    return data


def _compile(path: Path, spec: AppSpec) -> dict[str, jinja2.Template]:
    compiled: dict[str, jinja2.Template] = {}
    uses_input = False
    for part, source in spec.prompt.model_dump().items():
        where = f"prompt.{part}"
        try:
            used = jinja2.meta.find_undeclared_variables(_ENV.parse(source))
            compiled[part] = _ENV.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise _error(path, where, f"line {exc.lineno}: {exc.message}") from None
        unknown = used - APP_VARIABLES
        if unknown:
            raise _error(
                path, where, f"uses {sorted(unknown)}, but a part may use only {{{{ input }}}} and {{{{ language }}}}"
            )
        uses_input = uses_input or "input" in used
    if not uses_input:
        raise _error(
            path, "prompt.context", "no prompt part shows {{ input }}, so the model would not see what the user sent"
        )
    return compiled


def _contract(path: Path, spec: AppSpec) -> Contract:
    output = spec.output
    if output.choices is not None:
        try:
            return choice_contract(output.choices)
        except ValueError as exc:
            raise _error(path, "output.choices", str(exc)) from None
    if output.schema_name is not None:
        if output.schema_name not in NAMED_SCHEMAS:
            known = ", ".join(sorted(NAMED_SCHEMAS))
            raise _error(path, "output.schema", f"there is no schema {output.schema_name!r}; the schemas are: {known}")
        return NAMED_SCHEMAS[output.schema_name]
    assert output.json_schema is not None
    try:
        return JsonSchemaContract(output.json_schema)
    except ValueError as exc:
        raise _error(path, "output.json_schema", str(exc)) from None


def _check_example(path: Path, spec: AppSpec, contract: Contract, index: int, example: AppExample) -> AppExample:
    try:
        contract.check(example.output)
    except ValueError as exc:
        raise _error(
            path, f"examples.{index}.output", f"the example does not fit the output contract ({exc})"
        ) from None
    if spec.chain_of_thought and not example.reasoning:
        raise _error(path, f"examples.{index}.reasoning", "an example needs its reasoning when chain_of_thought is on")
    return example


def _error(path: Path, field: str, message: str) -> ConfigError:
    return ConfigError(f"App file {path} field `{field}`: {message}.", field=field, source=str(path))
