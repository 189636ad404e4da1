"""retrieve_catalog against the real SQLite store, with a deterministic bag-of-terms embedding."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from knowledge.catalog import (
    CatalogMatches,
    demo_catalog_path,
    index_catalog,
    load_catalog,
    retrieve_catalog,
)
from knowledge.index import Entry, KnowledgeBase
from knowledge.stores._common import keyword_terms
from knowledge.stores.sqlite import SQLiteVectorStore
from kubeai.errors import VectorStoreError

_DIM = 64


class BagOfTermsEmbedding(Embeddings):
    """Counts of the text's keyword terms hashed into 64 buckets: similar wording, similar vectors."""

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * _DIM
        for term in keyword_terms(text):
            vector[zlib.crc32(term.encode()) % _DIM] += 1.0
        vector[0] += 0.01  # never all zeros
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    store = SQLiteVectorStore(tmp_path_factory.mktemp("kb") / "kb.sqlite")
    with KnowledgeBase(embeddings=BagOfTermsEmbedding(), store=store) as kb:
        kb.index("catalog", [Entry("doc:handbook", "退款率 refund rate handbook page", {"kind": "doc", "name": "x"})])
        index_catalog(kb, load_catalog(demo_catalog_path()))
        yield kb


def names(hits: tuple[object, ...]) -> list[str]:
    return [str(h.metadata["name"]) for h in hits]  # type: ignore[attr-defined]


def test_each_kind_gets_its_own_list_of_main_entries_one_per_item(demo_kb: KnowledgeBase) -> None:
    found = retrieve_catalog(demo_kb, "各渠道的退款率和退款金额是多少？", metrics_k=6, dimensions_k=4, examples_k=2)
    assert isinstance(found, CatalogMatches)
    assert (len(found.metrics), len(found.dimensions), len(found.examples)) == (6, 4, 2)
    assert all(h.metadata["kind"] == "metric" and h.id == f"metric:{h.metadata['name']}" for h in found.metrics)
    assert all(h.metadata["kind"] == "dimension" and "/term:" not in h.id for h in found.dimensions)
    assert all(h.metadata["kind"] == "example" for h in found.examples)
    assert len(set(names(found.metrics))) == 6  # term hits folded into their metric, never repeated
    assert "doc:handbook" not in {h.id for h in (*found.metrics, *found.dimensions, *found.examples)}
    assert {"refund_rate", "refund_amount"} <= set(names(found.metrics)[:2])
    assert names(found.dimensions)[0] == "channel"
    assert found.metrics[0].text.startswith(("Refund rate / 退款率", "Refund amount / 退款金额"))
    scores = [h.score for h in found.metrics]
    assert scores == sorted(scores, reverse=True)


def test_exact_terms_and_dimension_values_rank_first(demo_kb: KnowledgeBase) -> None:
    found = retrieve_catalog(demo_kb, "上个月华东的客单价", alpha=1.0)
    assert names(found.metrics)[0] == "aov"
    assert names(found.dimensions)[0] == "region"  # "华东" is a value of the region column
    english = retrieve_catalog(demo_kb, "What was the number of refunds in East China?")
    assert names(english.metrics)[0] == "refund_count"
    assert names(english.dimensions)[0] == "region"


def test_exact_matching_rules() -> None:
    from knowledge.catalog.retrieval import named_in

    terms = [
        ("gmv", "成交额"),
        ("new_buyer_gmv", "新客成交额"),
        ("gmv", "sales"),
        ("refund_count", "number of refunds"),
        ("refund_amount", "refunds"),
        ("city", "市"),
        ("cancellation_rate", "Cancellation rate"),
        ("region", "East China"),
    ]
    assert named_in("新客成交额是多少", terms) == {"new_buyer_gmv"}  # "成交额" sits inside the longer match
    assert named_in("成交额和新客成交额", terms) == {"gmv", "new_buyer_gmv"}  # a match of its own counts
    assert named_in("the number of refunds", terms) == {"refund_count"}
    assert named_in("refunds", terms) == {"refund_amount"}
    assert named_in("wholesalesmen", terms) == set()  # English matches whole words only
    assert named_in("SALES in EAST  China", terms) == {"gmv"}  # case-insensitive; spacing must match
    assert named_in("compare cancellation rates", terms) == {"cancellation_rate"}  # a plural is allowed
    assert named_in("城市里的市场", terms) == set()  # one Chinese character is too little evidence
    assert named_in("ＧＭＶ成交额", terms) == {"gmv"}  # NFKC folds full-width letters


def test_plurals_auxiliaries_and_overlapping_mentions() -> None:
    from knowledge.catalog.retrieval import named_in, term_spans

    terms = [("city", "city"), ("day", "day"), ("placed", "orders placed"), ("orders", "how many orders")]
    assert named_in("GMV in five cities", terms) == {"city"}  # a final consonant and y: cities
    assert named_in("over ten days", terms) == {"day"}
    assert named_in("orders were placed", terms) == {"placed"}  # auxiliary verbs between a term's words
    assert named_in("orders have been placed", terms) == {"placed"}
    assert named_in("orders we placed", terms) == set()  # any other word breaks the term
    # Two mentions overlap: the longer one counts, the other is part of it.
    assert term_spans("how many orders were placed", terms) == [(9, 27, "placed")]


def test_zero_k_blank_question_and_bad_arguments(demo_kb: KnowledgeBase) -> None:
    found = retrieve_catalog(demo_kb, "GMV by region", metrics_k=0, examples_k=0)
    assert found.metrics == () and found.examples == () and len(found.dimensions) == 5
    assert len(retrieve_catalog(demo_kb, "GMV by region", examples_k=1).examples) == 1
    assert retrieve_catalog(demo_kb, "   ") == CatalogMatches(metrics=(), dimensions=(), examples=())
    with pytest.raises(VectorStoreError, match="metrics_k"):
        retrieve_catalog(demo_kb, "GMV", metrics_k=-1)
    with pytest.raises(VectorStoreError, match="alpha"):
        retrieve_catalog(demo_kb, "GMV", alpha=1.5)


def test_an_empty_or_other_collection_finds_nothing(
    tmp_path: Path, write_catalog: Callable[[str], Path], mini: str
) -> None:
    with KnowledgeBase(embeddings=BagOfTermsEmbedding(), store=SQLiteVectorStore(tmp_path / "kb.sqlite")) as kb:
        assert retrieve_catalog(kb, "成交额") == CatalogMatches(metrics=(), dimensions=(), examples=())
        index_catalog(kb, load_catalog(write_catalog(mini)), collection="mini")
        found = retrieve_catalog(kb, "各城市的销售额", collection="mini")
        assert names(found.metrics)[0] == "gmv"
        assert sorted(names(found.metrics)) == ["aov", "gmv", "order_count"]  # only three metrics exist
        assert names(found.dimensions)[0] == "city"
        assert [h.id for h in found.examples] == ["example:0"]


def test_entries_indexed_before_term_entries_existed_still_count_as_main(tmp_path: Path) -> None:
    legacy = Entry("metric:gmv", "GMV / 成交额\nPaid amount.", {"kind": "metric", "name": "gmv"})
    with KnowledgeBase(embeddings=BagOfTermsEmbedding(), store=SQLiteVectorStore(tmp_path / "kb.sqlite")) as kb:
        kb.index("catalog", [legacy])
        assert [h.id for h in retrieve_catalog(kb, "成交额").metrics] == ["metric:gmv"]


def test_an_english_term_inside_chinese_text_is_named() -> None:
    from knowledge.catalog.retrieval import named_in

    assert named_in("上个月各地区的GMV是多少？", [("gmv", "GMV")]) == {"gmv"}
    assert named_in("GMVs by region", [("gmv", "GMV")]) == {"gmv"}
    assert named_in("the AGMV index", [("gmv", "GMV")]) == set()
