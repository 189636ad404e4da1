"""A validating registry of embedding providers, keyed by ``EmbeddingsConfig.provider``.

Providers are Python callables registered by name; nothing is ever imported from a user-supplied string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from langchain_core.embeddings import Embeddings

from knowledge.embeddings.bundled import E5Embeddings, MiniLMEmbeddings
from knowledge.embeddings.openai import OpenAICompatibleEmbeddings
from kubeai.config import EmbeddingsConfig
from kubeai.errors import ConfigError

__all__ = ["BUNDLED_MODELS", "EmbeddingsFactory", "make_embeddings", "register_provider", "registered_providers"]

EmbeddingsFactory = Callable[[EmbeddingsConfig], Embeddings]

BUNDLED_MODELS: Mapping[str, Callable[[], Embeddings]] = MappingProxyType(
    {
        "multilingual-e5-small": lambda: E5Embeddings(variant="original"),
        "multilingual-e5-small-enpt": lambda: E5Embeddings(variant="enpt"),
        "all-minilm-l6-v2": MiniLMEmbeddings,
    }
)
"""Models the ``bundled`` provider can load, by the name used in ``embeddings.model``."""

_PROVIDERS: dict[str, EmbeddingsFactory] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def register_provider(name: str, factory: EmbeddingsFactory) -> None:
    """Register an embeddings provider.

    Args:
        name: Lower-case name, as written in ``embeddings.provider``.
        factory: Builds the model from the configuration; it should raise ``ConfigError`` for bad settings.

    Raises:
        ConfigError: The name is malformed or taken, or the factory is not callable.
    """
    if not _NAME.match(name):
        raise ConfigError(f"Embeddings provider name {name!r} must be lower-case letters, digits, '-' or '_'.")
    if name in _PROVIDERS:
        raise ConfigError(f"Embeddings provider {name!r} is already registered; choose another name.")
    if not callable(factory):
        raise ConfigError(f"The factory for embeddings provider {name!r} is not callable.")
    _PROVIDERS[name] = factory


def registered_providers() -> tuple[str, ...]:
    """Names of the registered providers, sorted."""
    return tuple(sorted(_PROVIDERS))


def make_embeddings(config: EmbeddingsConfig) -> Embeddings:
    """The embedding model a configuration names.

    Args:
        config: The ``embeddings`` section of the project configuration.

    Returns:
        A LangChain ``Embeddings``; bundled models load lazily on first use and are cached per process.

    Raises:
        ConfigError: The provider or bundled model is unknown.
    """
    factory = _PROVIDERS.get(config.provider)
    if factory is None:
        raise ConfigError(
            f"Unknown embeddings provider {config.provider!r}; use one of {', '.join(registered_providers())}.",
            field="embeddings.provider",
        )
    return factory(config)


def _bundled(config: EmbeddingsConfig) -> Embeddings:
    build = BUNDLED_MODELS.get(config.model)
    if build is None:
        raise ConfigError(
            f"Unknown bundled embedding model {config.model!r}; use one of {', '.join(sorted(BUNDLED_MODELS))} "
            "or provider 'openai'.",
            field="embeddings.model",
        )
    return build()


def _openai(config: EmbeddingsConfig) -> Embeddings:
    if not config.base_url:
        raise ConfigError(
            "Embeddings provider 'openai' needs base_url, e.g. http://127.0.0.1:8001/v1.", field="embeddings.base_url"
        )
    # e5 models expect "query: " / "passage: " prefixes, which OpenAI-compatible servers such as vLLM do not add.
    e5 = "e5" in config.model.lower()
    return OpenAICompatibleEmbeddings(
        base_url=config.base_url,
        model=config.model,
        api_key=config.api_key,
        batch_size=config.batch_size,
        query_prefix="query: " if e5 else "",
        passage_prefix="passage: " if e5 else "",
    )


register_provider("bundled", _bundled)
register_provider("openai", _openai)
