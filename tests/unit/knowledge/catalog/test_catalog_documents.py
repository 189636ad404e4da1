from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.catalog import Dimension, Metric, catalog_entries, demo_catalog_path, load_catalog
from knowledge.index import Entry


def test_demo_entries_cover_every_item_with_stable_ids() -> None:
    catalog = load_catalog(demo_catalog_path())
    entries = catalog_entries(catalog)
    ids = [e.id for e in entries]
    mains = [e for e in entries if e.metadata.get("part") != "term"]
    assert len(ids) == len(set(ids))
    assert len(mains) == len(catalog.metrics) + len(catalog.dimensions) + len(catalog.examples)
    assert all(isinstance(e, Entry) for e in entries)
    assert "metric:gmv" in ids
    assert "dimension:region" in ids
    assert "example:0" in ids
    assert ids == [e.id for e in catalog_entries(load_catalog(demo_catalog_path()))]
    items: list[tuple[str, Metric | Dimension]] = [
        *(("metric", m) for m in catalog.metrics),
        *(("dimension", d) for d in catalog.dimensions),
    ]
    for kind, item in items:
        terms = [e for e in entries if e.id.startswith(f"{kind}:{item.name}/term:")]
        assert {e.text for e in terms} >= {item.label.en, item.label.zh}
        assert all(e.metadata == {"kind": kind, "name": item.name, "part": "term"} for e in terms)


def test_metric_text_leaves_out_its_dimensions() -> None:
    entries = {e.id: e for e in catalog_entries(load_catalog(demo_catalog_path()))}
    assert not any(line.startswith("By:") for line in entries["metric:gmv"].text.splitlines())
    assert "region" not in entries["metric:gmv"].text.casefold()


def test_term_entries_are_distinct_labels_synonyms_and_dimension_values() -> None:
    from knowledge.catalog.documents import dimension_values, term_entries

    catalog = load_catalog(demo_catalog_path())
    gmv = catalog.metric("gmv")
    region = catalog.dimension("region")
    assert gmv is not None and region is not None
    texts = [e.text for e in term_entries(catalog, gmv)]
    assert texts[0] == "GMV" and texts.count("GMV") == 1  # the English label, not repeated by the zh synonym
    assert "销售额" in texts and "how much we sold" in texts
    values = dimension_values(catalog, region)
    assert {"华东", "East China", "east"} <= set(values)
    assert {"华东", "East China"} <= {e.text for e in term_entries(catalog, region)}
    channel = catalog.dimension("channel")
    assert channel is not None
    assert "mini program" in dimension_values(catalog, channel)  # codes read as words
    payment = catalog.dimension("payment_method")
    assert payment is not None
    assert "cancelled" not in dimension_values(catalog, payment)  # orders.status is not a payment column


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
        "part": "main",
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
    assert city.metadata == {
        "kind": "dimension",
        "name": "city",
        "part": "main",
        "table": "cities",
        "type": "categorical",
    }
    assert {entries[f"dimension:city/term:{i}"].text for i in range(4)} == {"City", "town", "城市", "市"}
    assert "Grains: day, month" in entries["dimension:order_date"].text
    example = entries["example:0"]
    assert example.text.startswith("上个月的成交额？\nSQL: SELECT SUM(amount)")
    assert example.metadata["language"] == "zh"
    assert example.metadata["metrics"] == "gmv"
    for entry in entries.values():
        assert all(isinstance(v, str | int | float | bool) for v in entry.metadata.values())


def test_index_catalog_writes_every_entry_and_prunes_stale_ones(
    tmp_path: Path, write_catalog: Callable[..., Path], mini: str
) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from knowledge.catalog import index_catalog
    from knowledge.index import KnowledgeBase
    from knowledge.stores.sqlite import SQLiteVectorStore

    store = SQLiteVectorStore(tmp_path / "kb.sqlite")
    with KnowledgeBase(embeddings=DeterministicFakeEmbedding(size=16), store=store) as kb:
        kb.index("catalog", [Entry("doc:keep", "not from the catalog", {"kind": "doc"})])
        first = index_catalog(kb, load_catalog(write_catalog(mini)))
        assert (first.report.indexed, first.removed) == (6 + 14, 0)  # 6 items, 14 labels and synonyms
        smaller = mini[: mini.index("  - name: aov")] + mini[mini.index("examples:") :]  # drop metric aov
        second = index_catalog(kb, load_catalog(write_catalog(smaller, "smaller.yaml")))
        assert (second.report.indexed, second.removed) == (5 + 12, 3)  # aov and its two labels
        ids = {h.id for h in kb.get("catalog")}
        assert not any(i.startswith("metric:aov") for i in ids)
        assert {"metric:gmv", "example:0", "doc:keep"} <= ids
