from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.catalog import catalog_entries, demo_catalog_path, load_catalog
from knowledge.index import Entry


def test_demo_entries_cover_every_item_with_stable_ids() -> None:
    catalog = load_catalog(demo_catalog_path())
    entries = catalog_entries(catalog)
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids)) == len(catalog.metrics) + len(catalog.dimensions) + len(catalog.examples)
    assert all(isinstance(e, Entry) for e in entries)
    assert "metric:gmv" in ids
    assert "dimension:region" in ids
    assert "example:0" in ids
    assert ids == [e.id for e in catalog_entries(load_catalog(demo_catalog_path()))]


def test_entry_text_is_bilingual_and_metadata_scalar(write_catalog: Callable[[str], Path], mini: str) -> None:
    entries = {e.id: e for e in catalog_entries(load_catalog(write_catalog(mini)))}
    gmv = entries["metric:gmv"]
    assert "GMV / 成交额" in gmv.text
    assert "sales" in gmv.text
    assert "销售额" in gmv.text
    assert "Paid amount of orders not cancelled." in gmv.text
    assert gmv.metadata == {
        "kind": "metric",
        "name": "gmv",
        "table": "orders",
        "derived": False,
        "format": "currency",
        "unit": "CNY",
    }
    aov = entries["metric:aov"]
    assert "gmv / order_count" in aov.text
    assert aov.metadata["derived"] is True
    city = entries["dimension:city"]
    assert "City / 城市" in city.text
    assert "town" in city.text
    assert "市" in city.text
    assert city.metadata == {"kind": "dimension", "name": "city", "table": "cities", "type": "categorical"}
    assert "Grains: day, month" in entries["dimension:order_date"].text
    example = entries["example:0"]
    assert example.text.startswith("上个月的成交额？\nSQL: SELECT SUM(amount)")
    assert example.metadata["language"] == "zh"
    assert example.metadata["metrics"] == "gmv"
    for entry in entries.values():
        assert all(isinstance(v, str | int | float | bool) for v in entry.metadata.values())


def test_index_catalog_writes_every_entry_and_prunes_stale_ones(
    tmp_path: Path, write_catalog: Callable[[str], Path], mini: str
) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from knowledge.catalog import index_catalog
    from knowledge.index import KnowledgeBase
    from knowledge.stores.sqlite import SQLiteVectorStore

    store = SQLiteVectorStore(tmp_path / "kb.sqlite")
    with KnowledgeBase(embeddings=DeterministicFakeEmbedding(size=16), store=store) as kb:
        kb.index("catalog", [Entry("doc:keep", "not from the catalog", {"kind": "doc"})])
        first = index_catalog(kb, load_catalog(write_catalog(mini)))
        assert (first.report.indexed, first.removed) == (6, 0)
        smaller = mini[: mini.index("  - name: aov")] + mini[mini.index("examples:") :]  # drop metric aov
        second = index_catalog(kb, load_catalog(write_catalog(smaller, "smaller.yaml")))
        assert (second.report.indexed, second.removed) == (5, 1)
        ids = {h.id for h in kb.get("catalog")}
        assert "metric:aov" not in ids
        assert {"metric:gmv", "example:0", "doc:keep"} <= ids
