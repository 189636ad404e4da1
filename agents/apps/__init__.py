"""Prompt apps: a business need met by a well-built prompt alone, declared in one YAML file per app.

An app file (``agents/apps/bundled/<name>.yaml``, or a user's in ``apps.dir``) holds the four prompt parts
(instruction, dialogue context, business knowledge, output requirements), zero to a few examples, chain of thought
on or off, the model or adapter, and an output contract: a choice list, a named schema with its renderer (the
``page`` prototype), or an inline JSON schema. :class:`AppRegistry` validates every file when it loads;
:func:`run_app` answers an input under the contract. Format and examples: ``docs/apps.md``.
"""

from agents.apps.contracts import (
    NAMED_SCHEMAS,
    ChoiceContract,
    Contract,
    JsonSchemaContract,
    ModelContract,
)
from agents.apps.registry import BUNDLED_APPS_DIR, AppRegistry
from agents.apps.run import AppResult, build_messages, render, run_app
from agents.apps.spec import APP_VARIABLES, AppExample, AppSpec, PromptApp, load_app_file

__all__ = [
    "APP_VARIABLES",
    "BUNDLED_APPS_DIR",
    "NAMED_SCHEMAS",
    "AppExample",
    "AppRegistry",
    "AppResult",
    "AppSpec",
    "ChoiceContract",
    "Contract",
    "JsonSchemaContract",
    "ModelContract",
    "PromptApp",
    "build_messages",
    "load_app_file",
    "render",
    "run_app",
]
