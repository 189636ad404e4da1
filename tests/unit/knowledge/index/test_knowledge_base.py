from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from knowledge.embeddings import E5Embeddings
from knowledge.index import Entry, KnowledgeBase, open_knowledge_base
from knowledge.stores.sqlite import SQLiteVectorStore
from kubeai.config import EmbeddingsConfig, VectorStoreConfig
from kubeai.errors import VectorStoreError

ENTRIES = [
    Entry("metric:refund_rate", "Refund rate / 退款率\nShare of orders that were refunded.", {"kind": "metric"}),
    Entry("metric:gmv", "GMV / 成交总额\nGross merchandise value: total paid order amount.", {"kind": "metric"}),
    Entry("dimension:region", "Region / 区域\nSales region such as 华东 or 华北.", {"kind": "dimension"}),
    Entry("dimension:order_date", "Order date / 下单日期\nGrains: day, week, month", {"kind": "dimension"}),
]


class CountingEmbeddings(Embeddings):
    """The real bundled model, counting calls and optionally failing on one text."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.inner = E5Embeddings()
        self.calls = 0
        self.fail_on = fail_on

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.fail_on is not None and self.fail_on in texts:
            raise VectorStoreError("the embedding endpoint failed")
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_index_and_search_in_both_languages(tmp_path: Path) -> None:
    embeddings = CountingEmbeddings()
    with KnowledgeBase(embeddings=embeddings, store=SQLiteVectorStore(tmp_path / "kb.sqlite"), batch_size=3) as kb:
        report = kb.index("catalog", ENTRIES)
        assert (report.collection, report.indexed, report.batches) == ("catalog", 4, 2)
        assert embeddings.calls == 2
        assert report.entries_per_second > 0
        assert kb.search("catalog", "上个月的退款率是多少？", k=1)[0].id == "metric:refund_rate"
        assert kb.search("catalog", "total sales amount", k=1, alpha=1.0)[0].id == "metric:gmv"
        assert kb.search("catalog", "华东卖了多少", k=3, where={"kind": "dimension"})[0].id == "dimension:region"
        assert kb.search("catalog", "   ") == []
        assert kb.delete("catalog", where={"kind": "dimension"}) == 2
        assert {h.id for h in kb.get("catalog")} == {"metric:refund_rate", "metric:gmv"}


def test_index_is_all_or_nothing(tmp_path: Path) -> None:
    embeddings = CountingEmbeddings(fail_on=ENTRIES[3].text)
    kb = KnowledgeBase(embeddings=embeddings, store=SQLiteVectorStore(tmp_path / "kb.sqlite"), batch_size=2)
    with pytest.raises(VectorStoreError, match="endpoint failed"):
        kb.index("catalog", ENTRIES)
    assert kb.get("catalog") == []
    for bad in (
        [Entry("", "text")],
        [Entry("a", "   ")],
        [Entry("a", "x"), Entry("a", "y")],
        [Entry("a", "x", {"k": [1]})],  # type: ignore[dict-item]
    ):
        with pytest.raises(VectorStoreError):
            kb.index("catalog", bad)
    assert kb.get("catalog") == []
    kb.close()


def test_search_argument_checks(tmp_path: Path) -> None:
    kb = KnowledgeBase(embeddings=E5Embeddings(), store=SQLiteVectorStore(":memory:"))
    with pytest.raises(VectorStoreError, match="k must"):
        kb.search("c", "x", k=0)
    with pytest.raises(VectorStoreError, match="alpha"):
        kb.search("c", "x", alpha=-0.1)
    assert kb.search("never_indexed", "anything") == []


def test_open_knowledge_base_from_config(tmp_path: Path) -> None:
    kb = open_knowledge_base(embeddings=EmbeddingsConfig(batch_size=8), store=VectorStoreConfig(), data_dir=tmp_path)
    assert kb.batch_size == 8
    kb.index("catalog", ENTRIES[:1])
    kb.close()
    assert (tmp_path / "vectors.sqlite").is_file()


def test_langchain_retriever_returns_documents(tmp_path: Path) -> None:
    from langchain_core.documents import Document

    from knowledge.retriever import KnowledgeRetriever

    kb = KnowledgeBase(embeddings=E5Embeddings(), store=SQLiteVectorStore(":memory:"))
    kb.index("catalog", ENTRIES)
    retriever = KnowledgeRetriever(knowledge_base=kb, collection="catalog", k=2, where={"kind": "metric"})
    docs = retriever.invoke("退款率")
    assert all(isinstance(d, Document) for d in docs)
    assert docs[0].id == "metric:refund_rate"
    assert docs[0].metadata["kind"] == "metric"
    assert docs[0].metadata["score"] >= docs[-1].metadata["score"]
    assert {d.metadata["id"] for d in docs} <= {"metric:refund_rate", "metric:gmv"}
