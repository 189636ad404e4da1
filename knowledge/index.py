"""The knowledge base: entries embedded by a LangChain embeddings model, kept in a vector store, searched.

Entries are embedded by an :class:`~langchain_core.embeddings.Embeddings` model, kept in a
:class:`~knowledge.stores.base.VectorStore`, and searched by hybrid (keyword + vector) ranking.

This is the one place where text becomes vectors: callers hand over :class:`Entry` objects and query strings,
never vectors, and the store never loads a model. Documents are embedded with ``embed_documents`` and queries
with ``embed_query``, so models that want different prefixes for the two (e5's ``passage:`` / ``query:``) get
them from their :class:`Embeddings` implementation.

Example:
    >>> kb = open_knowledge_base(embeddings=EmbeddingsConfig(), store=VectorStoreConfig(), data_dir=Path("."))
    >>> kb.index("catalog", [Entry(id="metric:gmv", text="GMV 成交总额", metadata={"kind": "metric"})])
    >>> kb.search("catalog", "成交总额是多少", k=3)
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from knowledge.stores.base import Filter, Hit, MetadataValue, Record, VectorStore
from kubeai.errors import VectorStoreError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from kubeai.config import EmbeddingsConfig, VectorStoreConfig
    from kubeai.progress import ProgressCallback

__all__ = ["Entry", "Hit", "IndexReport", "KnowledgeBase", "open_knowledge_base"]

DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class Entry:
    """One thing to index: a stable id, the text that is embedded, searched and shown, and metadata.

    Attributes:
        id: Stable identifier, e.g. ``metric:gmv`` or ``doc:handbook.pdf#12``; indexing the same id again
            replaces the stored entry.
        text: The searchable text.
        metadata: Scalar values that filters can match on (``where={"kind": "metric"}``).
    """

    id: str
    text: str
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class IndexReport:
    """What one :meth:`KnowledgeBase.index` call did.

    Attributes:
        collection: The collection written to.
        indexed: How many entries were embedded and stored.
        batches: How many embedding batches were sent to the model.
        seconds: Wall time of the whole call (embedding and storing).
    """

    collection: str
    indexed: int
    batches: int
    seconds: float

    @property
    def entries_per_second(self) -> float:
        """Throughput of the call, embedding included."""
        return self.indexed / self.seconds if self.seconds > 0 else float("inf")


@runtime_checkable
class _Closeable(Protocol):
    def close(self) -> None: ...


class KnowledgeBase:
    """Embeds entries and queries, and stores and searches them in a vector store.

    Args:
        embeddings: The embedding model (see :func:`knowledge.embeddings.make_embeddings`).
        store: The vector store backend (see :func:`knowledge.stores.open_store`).
        batch_size: How many entries are embedded per model call.
    """

    def __init__(self, *, embeddings: Embeddings, store: VectorStore, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise VectorStoreError(f"batch_size must be at least 1, got {batch_size}.")
        self.embeddings = embeddings
        self.store = store
        self.batch_size = batch_size

    def index(
        self,
        collection: str,
        entries: Iterable[Entry],
        *,
        progress: ProgressCallback | None = None,
        what: str = "embedding",
    ) -> IndexReport:
        """Embed entries in batches and upsert them; all or nothing.

        Every entry is embedded before anything is written, then all are written in one atomic upsert, so a
        failure (a model error, a bad entry, a dimension mismatch) leaves the collection as it was.

        Args:
            collection: Collection name; created on first use.
            entries: The entries; an id already stored is replaced.
            progress: Called with ``(what, entries embedded, entries in all)`` before the first batch and after
                each one; the last call (all embedded) comes before the write.
            what: The step's name in ``progress`` calls, e.g. ``"embedding catalog entries"``.

        Returns:
            How many entries were indexed, in how many batches, how fast.

        Raises:
            VectorStoreError: An entry is malformed, the model returned unusable vectors, or the store failed.
        """
        start = time.perf_counter()
        items = list(entries)
        _check_entries(items)
        vectors: list[list[float]] = []
        batches = 0
        if progress is not None:
            progress(what, 0, len(items))
        for offset in range(0, len(items), self.batch_size):
            chunk = items[offset : offset + self.batch_size]
            embedded = self.embeddings.embed_documents([e.text for e in chunk])
            if len(embedded) != len(chunk):
                raise VectorStoreError(
                    f"The embedding model returned {len(embedded)} vectors for {len(chunk)} texts; "
                    "check the embeddings endpoint."
                )
            vectors.extend(embedded)
            batches += 1
            if progress is not None:
                progress(what, len(vectors), len(items))
        records = [
            Record(id=e.id, text=e.text, vector=v, metadata=dict(e.metadata))
            for e, v in zip(items, vectors, strict=True)
        ]
        if records:
            self.store.upsert(collection, records)
        return IndexReport(
            collection=collection, indexed=len(records), batches=batches, seconds=time.perf_counter() - start
        )

    def search(
        self, collection: str, query: str, *, k: int = 5, alpha: float = 0.5, where: Filter | None = None
    ) -> list[Hit]:
        """The ``k`` best entries for a query.

        Args:
            collection: Collection to search; a collection never written to returns ``[]``.
            query: The question or keywords, in any language the model handles.
            k: How many hits at most.
            alpha: ``1.0`` vector ranking only, ``0.0`` keyword (BM25) ranking only, between: fused.
            where: Metadata filter: key to a value (equality) or a list of values (membership).

        Returns:
            Hits, best first.

        Raises:
            VectorStoreError: ``k`` or ``alpha`` is out of range, or the store failed.
        """
        if k < 1:
            raise VectorStoreError(f"k must be at least 1, got {k}.")
        if not 0.0 <= alpha <= 1.0:
            raise VectorStoreError(f"alpha must be between 0.0 and 1.0, got {alpha}.")
        if not query.strip():
            return []
        vector = self.embeddings.embed_query(query)
        return self.store.search(collection, text=query, vector=vector, k=k, alpha=alpha, where=where)

    def get(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> list[Hit]:
        """Stored entries by id and/or filter (neither: all), unranked."""
        return self.store.get(collection, ids=ids, where=where)

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> int:
        """Delete entries by id and/or filter (both given: both must match); returns how many were deleted."""
        return self.store.delete(collection, ids=ids, where=where)

    def close(self) -> None:
        """Release the store's connections, if it holds any."""
        if isinstance(self.store, _Closeable):
            self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_knowledge_base(*, embeddings: EmbeddingsConfig, store: VectorStoreConfig, data_dir: Path) -> KnowledgeBase:
    """Build a knowledge base from configuration.

    Args:
        embeddings: Which embedding model to use (bundled offline model or an OpenAI-compatible endpoint).
        store: Which vector store to use (embedded SQLite file or a Weaviate server).
        data_dir: The project's data folder; the embedded store defaults to ``data_dir / "vectors.sqlite"``.

    Returns:
        A ready knowledge base; close it (or use it as a context manager) when done.

    Raises:
        VectorStoreError: The store cannot be opened or reached.
        ConfigError: The embeddings provider or model is unknown.
    """
    from knowledge.embeddings import make_embeddings
    from knowledge.stores import open_store

    return KnowledgeBase(
        embeddings=make_embeddings(embeddings),
        store=open_store(store, data_dir),
        batch_size=embeddings.batch_size,
    )


def _check_entries(items: Sequence[Entry]) -> None:
    seen: set[str] = set()
    for position, entry in enumerate(items):
        if not isinstance(entry, Entry):
            raise VectorStoreError(f"Item {position} is a {type(entry).__name__}, not a knowledge.index.Entry.")
        if not entry.id or not entry.id.strip():
            raise VectorStoreError(f"Entry {position} has an empty id; give every entry a stable id.")
        if entry.id in seen:
            raise VectorStoreError(f"Entry id {entry.id!r} appears twice in one batch; ids must be unique.")
        seen.add(entry.id)
        if not entry.text.strip():
            raise VectorStoreError(f"Entry {entry.id!r} has empty text; there is nothing to embed.")
        for key, value in entry.metadata.items():
            if not isinstance(value, str | int | float | bool) or (
                isinstance(value, float) and not math.isfinite(value)
            ):
                raise VectorStoreError(
                    f"Entry {entry.id!r} metadata {key!r} is {value!r}; use a string, number or boolean."
                )
