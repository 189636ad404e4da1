"""The scripted fake chat model unit tests share: real LangChain interface, replies decided by the test."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field

from kubeai.config import LLMConfig
from serving.client import ModelClient

__all__ = ["ScriptedChat", "scripted_client"]


class ScriptedChat(GenericFakeChatModel):
    """Replays scripted replies in order; records the prompts, response formats and model names it was sent."""

    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    formats: list[Any] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.prompts.append(list(messages))
        self.formats.append(kwargs.get("response_format"))
        return super()._generate(messages, *args, **kwargs)


def scripted_client(*replies: str | dict[str, Any], default_model: str = "base") -> tuple[ModelClient, ScriptedChat]:
    """A model client whose every call gets the next reply (a dict is sent as its JSON)."""
    texts = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in replies]
    chat = ScriptedChat(messages=iter(AIMessage(content=t) for t in texts))

    def factory(name: str) -> ScriptedChat:
        chat.models.append(name)
        return chat

    # No server counts tokens for scripted models: prompts are estimated against the served SmolLM2's context.
    config = LLMConfig(context_length=8192)
    return ModelClient(config, default_model=default_model, chat_factory=factory), chat
