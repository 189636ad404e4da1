"""Keeping the catalog's index current: only what changed is embedded, a catalog over the limit is refused before
anything is embedded, and every step is reported to a progress callback (none of it prints)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from pydantic import Field

from agents.metrics import MetricsAgent, ensure_indexed
from knowledge.catalog import catalog_collection, catalog_entries, demo_catalog_path, load_catalog
from knowledge.index import KnowledgeBase
from knowledge.stores import open_store
from kubeai.config import ProjectConfig, VectorStoreConfig
from kubeai.errors import CatalogError
from tests.unit.fakes import scripted_client

Calls = list[tuple[str, int, int | None]]


class CountingEmbedding(DeterministicFakeEmbedding):
    """Deterministic fake vectors; remembers every text it embedded."""

    embedded: list[str] = Field(default_factory=list)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return super().embed_documents(list(texts))


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase(
        embeddings=CountingEmbedding(size=16),
        store=open_store(VectorStoreConfig(), tmp_path),
        batch_size=64,
    )


def edited_demo(tmp_path: Path) -> Path:
    """The demo catalog with one metric's description changed and another metric removed."""
    text = demo_catalog_path().read_text(encoding="utf-8")
    text = text.replace("description: Orders that were not cancelled.\n", "description: Orders not cancelled.\n")
    start = text.index("  - name: avg_discount\n")
    end = text.index("  - name: ", start + 1)
    path = tmp_path / "catalog.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    return path


def test_only_changed_entries_are_embedded_and_removed_ones_deleted(kb: KnowledgeBase, tmp_path: Path) -> None:
    embedder = kb.embeddings
    assert isinstance(embedder, CountingEmbedding)
    catalog = load_catalog(demo_catalog_path())
    calls: Calls = []
    assert ensure_indexed(kb, catalog, progress=lambda *call: calls.append(call)) is True
    total = len(catalog_entries(catalog))
    assert len(embedder.embedded) == total
    assert calls[0] == ("comparing the catalog with its index", 0, None)
    assert calls[1] == ("embedding catalog entries", 0, total)
    assert calls[-1] == ("embedding catalog entries", total, total)

    embedder.embedded.clear()
    assert ensure_indexed(kb, catalog) is False
    assert embedder.embedded == []

    edited = load_catalog(edited_demo(tmp_path))
    assert ensure_indexed(kb, edited) is True
    assert len(embedder.embedded) == 1  # the one metric whose text changed
    assert "Orders not cancelled." in embedder.embedded[0]
    stored = {hit.id for hit in kb.get(catalog_collection(edited))}
    assert stored == {entry.id for entry in catalog_entries(edited)}
    assert "metric:avg_discount" not in stored


def test_a_catalog_over_the_limit_is_refused_before_embedding(kb: KnowledgeBase) -> None:
    catalog = load_catalog(demo_catalog_path())
    entries = len(catalog_entries(catalog))
    with pytest.raises(CatalogError) as refused:
        ensure_indexed(kb, catalog, max_entries=entries - 1)
    message = str(refused.value)
    assert message == (
        f"Catalog {catalog.name} makes {entries:,} retrieval entries ({len(catalog.metrics)} metrics, their "
        f"dimensions, examples and names), over the limit of {entries - 1:,} (metrics_agent.max_catalog_entries); "
        "split the catalog, or raise the limit."
    )
    assert kb.get(catalog_collection(catalog)) == []
    assert ensure_indexed(kb, catalog, max_entries=entries) is True


def test_two_catalogs_in_one_data_folder_keep_their_own_entries(kb: KnowledgeBase) -> None:
    demo = load_catalog(demo_catalog_path())
    logistics = load_catalog(demo_catalog_path().parents[1] / "logistics" / "catalog.yaml")
    assert catalog_collection(demo) != catalog_collection(logistics)
    ensure_indexed(kb, demo)
    ensure_indexed(kb, logistics)  # used to prune every demo entry as stale
    assert {hit.id for hit in kb.get(catalog_collection(demo))} == {e.id for e in catalog_entries(demo)}
    assert ensure_indexed(kb, demo) is False  # nothing to embed again


async def test_opening_the_agent_reports_loading_the_catalog(tmp_path: Path) -> None:
    import duckdb

    duckdb.connect(str(tmp_path / "none.duckdb")).close()
    config = ProjectConfig.model_validate(
        {
            "data_dir": str(tmp_path),
            "warehouse": {"url": str(tmp_path / "none.duckdb")},
            "metrics_agent": {"rag": False},
        }
    )
    calls: Calls = []
    client, _ = scripted_client(default_model="fake")
    async with MetricsAgent.open(config, llm=client, progress=lambda *call: calls.append(call)):
        pass
    assert calls == [("loading catalog catalog.yaml", 0, None)]
