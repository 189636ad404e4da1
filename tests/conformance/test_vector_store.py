"""The conformance suite every VectorStore backend must pass.

The embedded SQLite store always runs. The Weaviate store runs when ``WEAVIATE_URL`` points at a server
(``WEAVIATE_GRPC_PORT`` and ``WEAVIATE_API_KEY`` optional); otherwise its cases are skipped and say so.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from knowledge.stores.base import Hit, Record, VectorStore
from kubeai.errors import VectorStoreError

WEAVIATE_SKIP = "WEAVIATE_URL is not set: the Weaviate backend was not exercised"


@dataclass
class Backend:
    """Opens the backend under test; ``open()`` again reopens the same storage."""

    name: str
    open: Callable[[], VectorStore]


def _sqlite(tmp_path: Path) -> Iterator[Backend]:
    from knowledge.stores.sqlite import SQLiteVectorStore

    opened: list[SQLiteVectorStore] = []

    def open_store() -> VectorStore:
        store = SQLiteVectorStore(tmp_path / "vectors.sqlite")
        opened.append(store)
        return store

    yield Backend("sqlite", open_store)
    for store in opened:
        store.close()


def _weaviate() -> Iterator[Backend]:
    url = os.environ.get("WEAVIATE_URL")
    if not url:
        pytest.skip(WEAVIATE_SKIP)
    from knowledge.stores.weaviate import WeaviateVectorStore

    prefix = "Conformance" + uuid.uuid4().hex[:10]
    opened: list[WeaviateVectorStore] = []

    def open_store() -> VectorStore:
        store = WeaviateVectorStore.connect(
            url=url,
            grpc_port=int(os.environ.get("WEAVIATE_GRPC_PORT", "50051")),
            api_key=os.environ.get("WEAVIATE_API_KEY") or None,
            collection_prefix=prefix,
        )
        opened.append(store)
        return store

    yield Backend("weaviate", open_store)
    cleaner = open_store()
    assert isinstance(cleaner, WeaviateVectorStore)
    for name in ("docs", "other", "empty"):
        cleaner.drop(name)
    for store in opened:
        store.close()


@pytest.fixture(params=["sqlite", "weaviate"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:
        yield from _weaviate()


@pytest.fixture
def store(backend: Backend) -> VectorStore:
    return backend.open()


def unit(*xs: float) -> list[float]:
    norm = math.sqrt(sum(x * x for x in xs))
    return [x / norm for x in xs]


# Four records on distinct axes; texts chosen so keyword and vector rankings disagree where a test needs it.
RECORDS = [
    Record(
        id="refund",
        text="退款率 Refund rate: share of orders refunded",
        vector=unit(1, 0, 0, 0),
        metadata={"kind": "metric", "rank": 1, "derived": True},
    ),
    Record(
        id="gmv",
        text="GMV 成交总额 gross merchandise value",
        vector=unit(0, 1, 0, 0),
        metadata={"kind": "metric", "rank": 2, "derived": False},
    ),
    Record(
        id="region",
        text="Region 区域 华东 华北 sales region",
        vector=unit(0, 0, 1, 0),
        metadata={"kind": "dimension", "rank": 3, "derived": False},
    ),
    Record(
        id="example",
        text="How many orders last month? 上个月订单数",
        vector=unit(0, 0, 0, 1),
        metadata={"kind": "example", "rank": 4, "derived": False, "note": "1"},
    ),
]


def ids(hits: list[Hit]) -> list[str]:
    return [h.id for h in hits]


@pytest.fixture
def filled(store: VectorStore) -> VectorStore:
    store.upsert("docs", RECORDS)
    return store


def test_is_a_vector_store(store: VectorStore) -> None:
    assert isinstance(store, VectorStore)


def test_upsert_then_get_round_trips_text_and_metadata(filled: VectorStore) -> None:
    got = {h.id: h for h in filled.get("docs")}
    assert set(got) == {r.id for r in RECORDS}
    for record in RECORDS:
        assert got[record.id].text == record.text
        assert dict(got[record.id].metadata) == dict(record.metadata)
        assert got[record.id].score == 0.0


def test_upsert_replaces_a_record_with_the_same_id(filled: VectorStore) -> None:
    filled.upsert(
        "docs", [Record(id="gmv", text="GMV replaced 新文本", vector=unit(0, 0, 1, 1), metadata={"kind": "new"})]
    )
    (hit,) = filled.get("docs", ids=["gmv"])
    assert hit.text == "GMV replaced 新文本"
    assert dict(hit.metadata) == {"kind": "new"}
    assert len(filled.get("docs")) == len(RECORDS)
    nearest = filled.search("docs", text="", vector=unit(0, 0, 1, 1), k=3, alpha=1.0)
    assert nearest[0].id == "gmv"
    assert "gmv" not in ids(filled.search("docs", text="merchandise", vector=unit(0, 1, 0, 0), alpha=0.0))


def test_get_by_ids_and_filter(filled: VectorStore) -> None:
    assert sorted(ids(filled.get("docs", ids=["gmv", "refund", "missing"]))) == ["gmv", "refund"]
    assert filled.get("docs", ids=[]) == []
    assert sorted(ids(filled.get("docs", where={"kind": "metric"}))) == ["gmv", "refund"]
    assert ids(filled.get("docs", ids=["gmv", "region"], where={"kind": "metric"})) == ["gmv"]
    assert filled.get("never_written") == []


def test_filter_semantics(filled: VectorStore) -> None:
    def where(**f: object) -> list[str]:
        return sorted(ids(filled.get("docs", where=f)))  # type: ignore[arg-type]

    assert where(kind="dimension") == ["region"]
    assert where(kind=["dimension", "example"]) == ["example", "region"]
    assert where(rank=2) == ["gmv"]
    assert where(rank=2.0) == ["gmv"]
    assert where(rank=[1, 4]) == ["example", "refund"]
    assert where(derived=True) == ["refund"]
    assert where(kind="metric", derived=False) == ["gmv"]
    assert where(kind=[]) == []
    assert where(kind="METRIC") == []
    assert where(missing_key="x") == []
    # Types are kept apart: the string "1" is not the number 1, and True is not 1.
    assert where(note="1") == ["example"]
    assert where(note=1) == []
    assert where(rank=True) == []


def test_search_respects_filter_and_k(filled: VectorStore) -> None:
    hits = filled.search("docs", text="orders", vector=unit(1, 1, 1, 1), k=2, alpha=0.5, where={"kind": "metric"})
    assert len(hits) <= 2
    assert set(ids(hits)) <= {"refund", "gmv"}
    assert all(a.score >= b.score for a, b in pairwise(hits))
    assert len(filled.search("docs", text="orders", vector=unit(1, 1, 1, 1), k=10, alpha=0.5)) == len(RECORDS)


def test_delete_by_ids_and_by_filter(filled: VectorStore) -> None:
    assert filled.delete("docs", ids=["gmv", "missing"]) == 1
    assert filled.delete("docs", where={"kind": "dimension"}) == 1
    assert filled.delete("docs", ids=["refund", "example"], where={"kind": "metric"}) == 1
    assert ids(filled.get("docs")) == ["example"]
    assert filled.delete("docs", ids=[]) == 0
    assert filled.delete("never_written", ids=["x"]) == 0
    assert filled.search("docs", text="GMV", vector=unit(0, 1, 0, 0), alpha=0.5)[0].id == "example"


def test_delete_needs_ids_or_where_and_where_empty_deletes_all(filled: VectorStore) -> None:
    with pytest.raises(VectorStoreError):
        filled.delete("docs")
    assert filled.delete("docs", where={}) == len(RECORDS)
    assert filled.get("docs") == []


def test_keyword_only_finds_the_exact_term(filled: VectorStore) -> None:
    # The vector points at "region"; alpha=0 must ignore it and rank by keywords only.
    hits = filled.search("docs", text="merchandise", vector=unit(0, 0, 1, 0), k=4, alpha=0.0)
    assert ids(hits) == ["gmv"]
    assert filled.search("docs", text="nothing-matches-this", vector=unit(0, 0, 1, 0), alpha=0.0) == []


def test_vector_only_finds_the_nearest(filled: VectorStore) -> None:
    hits = filled.search("docs", text="merchandise", vector=unit(0.1, 0, 1, 0.2), k=2, alpha=1.0)
    assert ids(hits)[0] == "region"
    assert len(hits) == 2
    assert hits[0].score > hits[1].score


def test_hybrid_fuses_both_rankings(filled: VectorStore) -> None:
    # Keyword favours gmv, vector favours region; with alpha=0.5 a record strong in one ranking beats
    # records in neither, and the balance shifts with alpha.
    text, vector = "merchandise value", unit(0, 0.3, 1, 0)
    half = ids(filled.search("docs", text=text, vector=vector, k=4, alpha=0.5))
    assert set(half[:2]) == {"gmv", "region"}
    assert ids(filled.search("docs", text=text, vector=vector, k=1, alpha=0.2)) == ["gmv"]
    assert ids(filled.search("docs", text=text, vector=vector, k=1, alpha=0.8)) == ["region"]


def test_chinese_keywords_match_inside_longer_text(filled: VectorStore) -> None:
    far = unit(0, 0, 0, 1)
    assert ids(filled.search("docs", text="退款率是多少？", vector=far, k=1, alpha=0.0)) == ["refund"]
    assert ids(filled.search("docs", text="华东地区", vector=far, k=1, alpha=0.0)) == ["region"]
    assert ids(filled.search("docs", text="成交总额", vector=far, k=1, alpha=0.0)) == ["gmv"]
    assert ids(filled.search("docs", text="REFUND", vector=far, k=1, alpha=0.0)) == ["refund"]


def test_hostile_query_text_is_just_text(filled: VectorStore) -> None:
    for text in ['" OR 1=1 --', "NEAR(a b) * ^ : ( )", "'; DROP TABLE kb_records; --", "\x00\u202e", ""]:
        hits = filled.search("docs", text=text, vector=unit(1, 0, 0, 0), k=2, alpha=0.5)
        assert all(isinstance(h, Hit) for h in hits)
    assert len(filled.get("docs")) == len(RECORDS)


def test_dimension_mismatch_is_a_clear_error(filled: VectorStore) -> None:
    with pytest.raises(VectorStoreError, match="dimension"):
        filled.upsert("docs", [Record(id="bad", text="x", vector=[1.0, 0.0, 0.0])])
    with pytest.raises(VectorStoreError, match="dimension"):
        filled.search("docs", text="x", vector=[1.0, 0.0], k=1)
    assert filled.get("docs", ids=["bad"]) == []


def test_a_batch_with_one_bad_record_writes_nothing(filled: VectorStore) -> None:
    good = Record(id="new", text="new record 新记录", vector=unit(1, 1, 0, 0))
    replacement = Record(id="gmv", text="should not land", vector=unit(1, 1, 1, 0))
    for bad in (
        Record(id="nan", text="x", vector=[math.nan, 0.0, 0.0, 1.0]),
        Record(id="short", text="x", vector=[1.0, 0.0]),
        Record(id="key", text="x", vector=unit(1, 0, 0, 1), metadata={"bad key!": 1}),
        Record(id="zero", text="x", vector=[0.0, 0.0, 0.0, 0.0]),
        Record(id="", text="x", vector=unit(1, 0, 0, 1)),
        Record(id="new", text="duplicate id", vector=unit(1, 0, 0, 1)),
    ):
        with pytest.raises(VectorStoreError):
            filled.upsert("docs", [good, replacement, bad])
    assert filled.get("docs", ids=["new"]) == []
    (gmv,) = filled.get("docs", ids=["gmv"])
    assert gmv.text == RECORDS[1].text


def test_persists_across_reopen(backend: Backend) -> None:
    first = backend.open()
    first.upsert("docs", RECORDS)
    close = getattr(first, "close", None)
    if close is not None:
        close()
    second = backend.open()
    assert sorted(ids(second.get("docs"))) == sorted(r.id for r in RECORDS)
    assert ids(second.search("docs", text="退款率", vector=unit(1, 0, 0, 0), k=1))[0] == "refund"
    with pytest.raises(VectorStoreError, match="dimension"):
        second.upsert("docs", [Record(id="bad", text="x", vector=[1.0, 0.0])])


def test_collections_are_separate(filled: VectorStore) -> None:
    filled.upsert("other", [Record(id="gmv", text="other GMV", vector=[1.0, 0.0])])
    assert ids(filled.get("other")) == ["gmv"]
    assert filled.get("other")[0].text == "other GMV"
    assert len(filled.get("docs")) == len(RECORDS)


def test_empty_collection_search_returns_nothing(store: VectorStore) -> None:
    assert store.search("empty", text="anything", vector=unit(1, 0, 0, 0), k=5) == []
    store.upsert("empty", [Record(id="a", text="a", vector=unit(1, 0, 0, 0))])
    store.delete("empty", ids=["a"])
    assert store.search("empty", text="a", vector=unit(1, 0, 0, 0), k=5) == []


def test_bad_arguments_are_clear_errors(filled: VectorStore) -> None:
    with pytest.raises(VectorStoreError):
        filled.search("docs", text="x", vector=unit(1, 0, 0, 0), k=0)
    with pytest.raises(VectorStoreError):
        filled.search("docs", text="x", vector=unit(1, 0, 0, 0), alpha=1.5)
    with pytest.raises(VectorStoreError):
        filled.get("bad name; drop")
    with pytest.raises(VectorStoreError):
        filled.get("docs", where={"bad-key": 1})
