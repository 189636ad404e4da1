"""Knowledge: the metric catalog, embeddings, vector stores, document ingestion and the knowledge base.

The knowledge base (:mod:`knowledge.index`) embeds :class:`Entry` objects and searches them by hybrid
(keyword + vector) ranking in a vector store; :func:`open_knowledge_base` builds one from configuration.
Embedding models live in :mod:`knowledge.embeddings`, stores in :mod:`knowledge.stores`, and a LangChain
retriever over a knowledge base in :mod:`knowledge.retriever`.
"""

from knowledge.index import Entry, Hit, IndexReport, KnowledgeBase, open_knowledge_base

__all__ = ["Entry", "Hit", "IndexReport", "KnowledgeBase", "open_knowledge_base"]
