from pathlib import Path

import pytest

from knowledge.stores import open_store
from knowledge.stores.base import Record
from knowledge.stores.sqlite import SQLiteVectorStore
from kubeai.config import VectorStoreConfig
from kubeai.errors import VectorStoreError


def test_open_store_defaults_to_vectors_sqlite_in_data_dir(tmp_path: Path) -> None:
    store = open_store(VectorStoreConfig(), tmp_path / "data")
    assert isinstance(store, SQLiteVectorStore)
    store.upsert("c", [Record(id="a", text="a", vector=[1.0, 0.0])])
    store.close()
    assert (tmp_path / "data" / "vectors.sqlite").is_file()


def test_open_store_honours_a_relative_path(tmp_path: Path) -> None:
    store = open_store(VectorStoreConfig(path=Path("sub/kb.sqlite")), tmp_path)
    assert isinstance(store, SQLiteVectorStore)
    assert store.path == tmp_path / "sub" / "kb.sqlite"
    store.close()


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "vectors.sqlite"
    bogus.write_bytes(b"this is not a database" * 100)
    with pytest.raises(VectorStoreError, match="Cannot open vector store"):
        SQLiteVectorStore(bogus)
    assert bogus.read_bytes() == b"this is not a database" * 100


def test_collections_reports_counts_and_failed_write_rolls_back(tmp_path: Path) -> None:
    with SQLiteVectorStore(tmp_path / "v.sqlite") as store:
        store.upsert("a", [Record(id=str(i), text=f"t{i}", vector=[1.0, float(i)]) for i in range(3)])
        store.upsert("b", [Record(id="x", text="x", vector=[0.0, 1.0, 0.0])])
        assert store.collections() == {"a": 3, "b": 1}
        # A first batch into a new collection that fails leaves no collection behind.
        with pytest.raises(VectorStoreError):
            store.upsert("c", [Record(id="ok", text="x", vector=[1.0]), Record(id="bad", text="x", vector=[1.0, 2.0])])
        assert store.collections() == {"a": 3, "b": 1}
        store.upsert("c", [Record(id="ok", text="x", vector=[1.0, 2.0, 3.0, 4.0])])
        assert store.collections()["c"] == 1


def test_keyword_scores_use_bm25_within_the_collection(tmp_path: Path) -> None:
    with SQLiteVectorStore(":memory:") as store:
        store.upsert(
            "c",
            [
                Record(id="twice", text="refund refund policy", vector=[1.0, 0.0]),
                Record(id="once", text="refund of orders and other long words here", vector=[0.0, 1.0]),
                Record(id="none", text="nothing relevant", vector=[1.0, 1.0]),
            ],
        )
        hits = store.search("c", text="refund", vector=[1.0, 0.0], k=3, alpha=0.0)
        assert [h.id for h in hits] == ["twice", "once"]
        assert hits[0].score > hits[1].score
