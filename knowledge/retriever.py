"""LangChain adapter: a :class:`~langchain_core.retrievers.BaseRetriever` over a :class:`KnowledgeBase`.

Plug the project's knowledge base into any LangChain chain or agent::

    retriever = KnowledgeRetriever(knowledge_base=kb, collection="docs", k=4)
    docs = retriever.invoke("退款率怎么算？")
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from knowledge.index import KnowledgeBase
from knowledge.stores.base import MetadataValue

__all__ = ["KnowledgeRetriever"]


class KnowledgeRetriever(BaseRetriever):
    """Retrieves :class:`~langchain_core.documents.Document` objects from one knowledge-base collection.

    Each document's ``page_content`` is the entry text; its metadata is the entry metadata plus ``id`` and
    ``score``.

    Attributes:
        knowledge_base: The knowledge base to search.
        collection: The collection to search.
        k: How many documents to return.
        alpha: ``1.0`` vector only, ``0.0`` keyword only.
        where: Metadata filter: key to a value or a list of values.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    knowledge_base: KnowledgeBase
    collection: str
    k: int = Field(default=5, ge=1)
    alpha: float = Field(default=0.5, ge=0.0, le=1.0)
    where: dict[str, MetadataValue | list[MetadataValue]] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.knowledge_base.search(self.collection, query, k=self.k, alpha=self.alpha, where=self.where)
        return [
            Document(page_content=h.text, id=h.id, metadata={**h.metadata, "id": h.id, "score": h.score}) for h in hits
        ]
