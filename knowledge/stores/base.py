"""The vector store interface every backend implements, and the records it stores.

A backend stores records in named collections and answers hybrid queries: a keyword (BM25) ranking and a vector
ranking fused into one, weighted by ``alpha`` (``1.0`` pure vector, ``0.0`` pure keyword), restricted by a
metadata filter. Embedding happens above the store (see :mod:`knowledge.index`), so a store never loads a model.

Filters are a mapping of metadata key to a scalar (equality) or a list of scalars (membership); all entries
must hold. That is the subset every backend (SQLite, Weaviate) can evaluate exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Filter", "Hit", "MetadataValue", "Record", "VectorStore"]

MetadataValue = str | int | float | bool
Filter = Mapping[str, MetadataValue | Sequence[MetadataValue]]


@dataclass(frozen=True, kw_only=True)
class Record:
    """One stored entry: a stable id, the text that is searched and shown, its vector and metadata."""

    id: str
    text: str
    vector: Sequence[float]
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Hit:
    """A search result; ``score`` is higher for better matches and comparable only within one query."""

    id: str
    text: str
    score: float
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)


@runtime_checkable
class VectorStore(Protocol):
    """A persistent store of records with hybrid search. Every method is atomic per call."""

    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        """Insert records, replacing any with the same id; all or nothing."""
        ...

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> int:
        """Delete records by id and/or filter (both given: both must match); returns how many were deleted."""
        ...

    def get(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> list[Hit]:
        """Stored records by id and/or filter (neither: all), without ranking (``score`` is 0)."""
        ...

    def search(
        self,
        collection: str,
        *,
        text: str,
        vector: Sequence[float],
        k: int = 10,
        alpha: float = 0.5,
        where: Filter | None = None,
    ) -> list[Hit]:
        """The ``k`` best records for a query, keyword and vector rankings fused by ``alpha``."""
        ...
