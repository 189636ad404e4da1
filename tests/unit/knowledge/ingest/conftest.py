"""Fixtures for the ingestion tests: the real KnowledgeBase over an in-memory store and fake embeddings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.index import KnowledgeBase
from knowledge.stores.base import VectorStore
from tests.unit.knowledge.ingest.support import FlakyEmbedding, MemoryStore


@pytest.fixture
def store() -> MemoryStore:
    assert isinstance(MemoryStore(), VectorStore)
    return MemoryStore()


@pytest.fixture
def embedder() -> FlakyEmbedding:
    return FlakyEmbedding(size=16)


@pytest.fixture
def kb(store: MemoryStore, embedder: FlakyEmbedding) -> KnowledgeBase:
    return KnowledgeBase(embeddings=embedder, store=store, batch_size=2)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write a file under tmp_path: text (encoded) or bytes; returns its path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
        return path

    return _write
