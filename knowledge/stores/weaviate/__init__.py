"""The Weaviate vector store backend (weaviate-client v4, self-provided vectors)."""

from knowledge.stores.weaviate.store import WeaviateVectorStore

__all__ = ["WeaviateVectorStore"]
