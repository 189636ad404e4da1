"""The embedded vector store: sqlite-vec vectors and FTS5 keywords in one SQLite file."""

from knowledge.stores.sqlite.store import SQLiteVectorStore

__all__ = ["SQLiteVectorStore"]
