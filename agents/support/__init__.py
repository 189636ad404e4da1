"""The customer-service assistant (PROMPT, RAG, LoRA, RAG + LoRA): see :mod:`agents.support.assistant`."""

from agents.support.assistant import (
    MODES,
    Mode,
    SupportAnswer,
    SupportAssistant,
    SupportConfig,
    Turn,
    index_documents,
    parse_modes,
)

__all__ = [
    "MODES",
    "Mode",
    "SupportAnswer",
    "SupportAssistant",
    "SupportConfig",
    "Turn",
    "index_documents",
    "parse_modes",
]
