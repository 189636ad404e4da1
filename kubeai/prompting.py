"""Prompts as packaged data: YAML files of Jinja templates, rendered with StrictUndefined.

A prompt file declares the variables it needs and its messages. Most prompts follow the four-part layout this
project uses everywhere: an **instruction** (the task), the **dialogue context** (the conversation so far),
added **business knowledge** (retrieved definitions and few-shot examples), and the **output requirements**::

    variables: [question, knowledge]
    system: |
      ## Instruction
      ...
    user: |
      ## Question
      {{ question }}

Templates are compiled and their variables checked when the file loads, so a typo in a template fails at start,
not in the middle of a user's question.

A prompt must also fit the model's context next to the answer it asks for. :func:`fit_prompt` renders a template
against a token budget, leaving out the fewest list items (retrieved definitions, examples, old turns) that make
it fit, least relevant first, and says what it left out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import jinja2.meta
import yaml
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from kubeai.errors import KubeAIError, PromptTooLongError

__all__ = [
    "FittedPrompt",
    "PromptTemplate",
    "TextTemplate",
    "TokenCounter",
    "Trim",
    "fit_prompt",
    "load_prompt",
    "load_texts",
]

TokenCounter = Callable[[Sequence[BaseMessage]], Awaitable[int]]
"""Counts the prompt tokens of chat messages, as the model's server will (``ModelClient.count_tokens``)."""

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class PromptTemplate:
    """A system and a user template with the variables they need."""

    name: str
    variables: frozenset[str]
    system: jinja2.Template
    user: jinja2.Template

    def render(self, **values: Any) -> list[BaseMessage]:
        """The chat messages for ``values``; every declared variable must be given, and no other."""
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise KubeAIError(
                f"Prompt {self.name!r} was rendered with missing {sorted(missing)} / unexpected {sorted(extra)} "
                "variables."
            )
        return [
            SystemMessage(content=self.system.render(**values).strip()),
            HumanMessage(content=self.user.render(**values).strip()),
        ]


@cache
def load_prompt(package: str, name: str) -> PromptTemplate:
    """Load ``<name>.yaml`` from a prompts package such as ``graphs.metrics.prompts``.

    Raises:
        KubeAIError: The file is missing or malformed, or a template uses a variable it does not declare.
    """
    try:
        text = resources.files(package).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise KubeAIError(f"Prompt {package}/{name}.yaml cannot be read: {exc}.") from None
    if not isinstance(data, Mapping) or not {"variables", "system", "user"} <= data.keys():
        raise KubeAIError(f"Prompt {package}/{name}.yaml needs `variables`, `system` and `user`.")
    declared = frozenset(str(v) for v in data["variables"])
    templates: dict[str, jinja2.Template] = {}
    for part in ("system", "user"):
        source = str(data[part])
        try:
            used = jinja2.meta.find_undeclared_variables(_ENV.parse(source))
            templates[part] = _ENV.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise KubeAIError(f"Prompt {package}/{name}.yaml `{part}` line {exc.lineno}: {exc.message}.") from None
        undeclared = used - declared
        if undeclared:
            raise KubeAIError(f"Prompt {package}/{name}.yaml `{part}` uses undeclared variables {sorted(undeclared)}.")
    return PromptTemplate(name=name, variables=declared, system=templates["system"], user=templates["user"])


@dataclass(frozen=True)
class TextTemplate:
    """A sentence or snippet (not a whole chat prompt) in one or more languages, with the variables it needs."""

    name: str
    variables: frozenset[str]
    languages: Mapping[str, jinja2.Template]

    def render(self, language: str = "en", **values: Any) -> str:
        """The text in ``language``; every declared variable must be given, and no other.

        Raises:
            KubeAIError: A variable is missing or unexpected, or the text has no version in ``language``.
        """
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise KubeAIError(
                f"Text {self.name!r} was rendered with missing {sorted(missing)} / unexpected {sorted(extra)} "
                "variables."
            )
        if language not in self.languages:
            raise KubeAIError(f"Text {self.name!r} has no {language!r} version; it has {sorted(self.languages)}.")
        return self.languages[language].render(**values)


@cache
def load_texts(package: str, name: str) -> Mapping[str, TextTemplate]:
    """Load ``<name>.yaml`` of named texts from a prompts package, e.g. ``graphs.metrics.prompts/abstain.yaml``.

    Each top-level key names one text: its ``variables`` and one Jinja template per language code (``en``,
    ``zh``), rendered with StrictUndefined like :func:`load_prompt`'s::

        no_metric:
          variables: []
          en: no metric in the catalog matches the question
          zh: 指标目录中没有与这个问题相关的指标

    Raises:
        KubeAIError: The file is missing or malformed, or a template uses a variable it does not declare.
    """
    where = f"{package}/{name}.yaml"
    try:
        data = yaml.safe_load(resources.files(package).joinpath(f"{name}.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KubeAIError(f"Texts {where} cannot be read: {exc}.") from None
    if not isinstance(data, Mapping) or not data:
        raise KubeAIError(f"Texts {where} must map each text's name to its `variables` and languages.")
    texts: dict[str, TextTemplate] = {}
    for key, entry in data.items():
        if not isinstance(entry, Mapping) or "variables" not in entry or len(entry) < 2:
            raise KubeAIError(f"Texts {where} `{key}` needs `variables` and at least one language, e.g. `en`.")
        declared = frozenset(str(v) for v in entry["variables"] or ())
        languages: dict[str, jinja2.Template] = {}
        for language, source in entry.items():
            if language == "variables":
                continue
            try:
                used = jinja2.meta.find_undeclared_variables(_ENV.parse(str(source)))
                languages[str(language)] = _ENV.from_string(str(source))
            except jinja2.TemplateSyntaxError as exc:
                raise KubeAIError(f"Texts {where} `{key}.{language}` line {exc.lineno}: {exc.message}.") from None
            if used - declared:
                raise KubeAIError(
                    f"Texts {where} `{key}.{language}` uses undeclared variables {sorted(used - declared)}."
                )
        texts[str(key)] = TextTemplate(name=str(key), variables=declared, languages=languages)
    return texts


@dataclass(frozen=True, kw_only=True)
class Trim:
    """A list variable of a prompt whose items may be left out to make the prompt fit.

    Attributes:
        variable: The template variable holding the list.
        keep: Items never left out.
        oldest_first: Leave out items from the start of the list (a conversation, oldest turn first) instead of
            from its end (a ranked list, most relevant first).
    """

    variable: str
    keep: int = 0
    oldest_first: bool = False


@dataclass(frozen=True, kw_only=True)
class FittedPrompt:
    """A prompt rendered within a token budget.

    Attributes:
        messages: The rendered chat messages.
        values: The values it was rendered with, lists shortened.
        tokens: Its prompt tokens, as the counter counted them.
        budget: The most prompt tokens it could have had.
        dropped: Items left out per trimmed variable; only variables that lost items appear.
    """

    messages: list[BaseMessage]
    values: dict[str, Any]
    tokens: int
    budget: int
    dropped: dict[str, int] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """A JSON-friendly summary for a graph's state: tokens, budget and what was left out."""
        return {"tokens": self.tokens, "budget": self.budget, "dropped": dict(self.dropped)}


async def fit_prompt(
    template: PromptTemplate,
    values: Mapping[str, Any],
    *,
    budget: int,
    count: TokenCounter,
    trims: Sequence[Trim] = (),
) -> FittedPrompt:
    """Render ``template`` with the fewest items left out that bring its prompt within ``budget`` tokens.

    Items go in the order of ``trims``: all droppable items of the first variable, then of the next, each
    variable's least relevant item first. Leaving out more never lengthens the prompt, so the smallest number
    of items to leave out is found by bisection: the counter is called about log2(items) + 2 times.

    Raises:
        PromptTooLongError: Even with every droppable item left out, the prompt exceeds ``budget``.
    """
    sizes = [max(0, len(values[t.variable]) - t.keep) for t in trims]
    measured: dict[int, FittedPrompt] = {}

    async def measure(dropping: int) -> FittedPrompt:
        if dropping not in measured:
            shortened, dropped, left = dict(values), {}, dropping
            for trim, size in zip(trims, sizes, strict=True):
                n, left = min(size, left), left - min(size, left)
                if n:
                    items = list(shortened[trim.variable])
                    shortened[trim.variable] = items[n:] if trim.oldest_first else items[: len(items) - n]
                    dropped[trim.variable] = n
            messages = template.render(**shortened)
            tokens = await count(messages)
            measured[dropping] = FittedPrompt(
                messages=messages, values=shortened, tokens=tokens, budget=budget, dropped=dropped
            )
        return measured[dropping]

    whole = await measure(0)
    if whole.tokens <= budget:
        return whole
    most = sum(sizes)
    smallest = await measure(most)
    if smallest.tokens > budget:
        left_out = ", ".join(f"{n} {name}" for name, n in smallest.dropped.items()) or "nothing to leave out"
        raise PromptTooLongError(
            f"Prompt {template.name!r} needs {smallest.tokens} tokens even at its smallest ({left_out} left "
            f"out), but only {budget} fit in the model's context beside the answer; serve a longer context "
            "(serving.max_model_len) or ask a shorter question.",
            prompt=template.name,
            tokens=smallest.tokens,
            budget=budget,
        )
    too_few, enough = 0, most
    while enough - too_few > 1:
        middle = (too_few + enough) // 2
        if (await measure(middle)).tokens <= budget:
            enough = middle
        else:
            too_few = middle
    return measured[enough]
