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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import jinja2.meta
import yaml
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from kubeai.errors import KubeAIError

__all__ = ["PromptTemplate", "load_prompt"]

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
