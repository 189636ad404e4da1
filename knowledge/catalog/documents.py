"""Turn a catalog into retrieval entries: one per metric, dimension and example, ready to embed.

Entries are :class:`knowledge.index.Entry` objects (exported here as :data:`CatalogEntry`), so they go straight
into :meth:`knowledge.index.KnowledgeBase.index`. Ids are stable across runs (``metric:gmv``,
``dimension:region``, ``example:3`` for ``examples[3]``); the text holds both languages so a Chinese or an
English question can find the entry by keywords or by meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.catalog.models import Catalog, Dimension, Example, Metric
from knowledge.index import Entry, IndexReport, KnowledgeBase

__all__ = [
    "CATALOG_COLLECTION",
    "CatalogEntry",
    "CatalogIndexResult",
    "catalog_entries",
    "dimension_entry",
    "example_entry",
    "index_catalog",
    "metric_entry",
]

CATALOG_COLLECTION = "catalog"
_KINDS = ["metric", "dimension", "example"]

CatalogEntry = Entry
"""A catalog item as a retrieval entry: ``id``, ``text`` and scalar ``metadata`` (kind, name, table, ...)."""


def catalog_entries(catalog: Catalog) -> list[CatalogEntry]:
    """Every metric, dimension and example of ``catalog`` as a retrieval entry, in that order."""
    return [
        *(metric_entry(catalog, m) for m in catalog.metrics),
        *(dimension_entry(d) for d in catalog.dimensions),
        *(example_entry(i, e) for i, e in enumerate(catalog.examples)),
    ]


@dataclass(frozen=True, kw_only=True)
class CatalogIndexResult:
    """What :func:`index_catalog` did: the indexing report and how many stale entries it removed."""

    report: IndexReport
    removed: int


def index_catalog(
    kb: KnowledgeBase, catalog: Catalog, *, collection: str = CATALOG_COLLECTION, prune: bool = True
) -> CatalogIndexResult:
    """Embed every catalog entry into ``collection``; with ``prune``, delete catalog entries no longer present.

    Indexing is atomic (see :meth:`KnowledgeBase.index`); pruning runs after it succeeded, so a failure never
    leaves the collection with fewer entries than before.

    Raises:
        VectorStoreError: The embedding model or the store failed.
    """
    entries = catalog_entries(catalog)
    report = kb.index(collection, entries)
    removed = 0
    if prune:
        current = {e.id for e in entries}
        stale = [h.id for h in kb.get(collection, where={"kind": _KINDS}) if h.id not in current]
        if stale:
            removed = kb.delete(collection, ids=stale)
    return CatalogIndexResult(report=report, removed=removed)


def metric_entry(catalog: Catalog, metric: Metric) -> CatalogEntry:
    """A metric: labels, synonyms, description and what it can be broken down by."""
    lines = [
        f"{metric.label.en} / {metric.label.zh}",
        *_synonym_lines(metric.synonyms.en, metric.synonyms.zh),
        metric.description,
    ]
    if metric.formula is not None:
        lines.append(f"Formula: {metric.formula}")
    dims = catalog.allowed_dimensions(metric.name)
    if dims:
        lines.append(f"By: {', '.join(dims)}")
    table = metric.table or ""
    return Entry(
        id=f"metric:{metric.name}",
        text="\n".join(lines),
        metadata={
            "kind": "metric",
            "name": metric.name,
            "table": table,
            "derived": metric.is_derived,
            "format": metric.format,
            "unit": metric.unit or "",
        },
    )


def dimension_entry(dimension: Dimension) -> CatalogEntry:
    """A dimension: labels, synonyms, description, and its time grains when it is a date."""
    lines = [
        f"{dimension.label.en} / {dimension.label.zh}",
        *_synonym_lines(dimension.synonyms.en, dimension.synonyms.zh),
    ]
    if dimension.description:
        lines.append(dimension.description)
    if dimension.time_grains:
        lines.append(f"Grains: {', '.join(dimension.time_grains)}")
    return Entry(
        id=f"dimension:{dimension.name}",
        text="\n".join(lines),
        metadata={"kind": "dimension", "name": dimension.name, "table": dimension.table, "type": dimension.type},
    )


def example_entry(index: int, example: Example) -> CatalogEntry:
    """An example: the question and its SQL; metadata lists the metrics and dimensions it uses."""
    return Entry(
        id=f"example:{index}",
        text=f"{example.question}\nSQL: {example.sql.strip()}",
        metadata={
            "kind": "example",
            "name": f"example_{index}",
            "language": example.language,
            "metrics": ",".join(example.metrics),
            "dimensions": ",".join(example.dimensions),
        },
    )


def _synonym_lines(en: tuple[str, ...], zh: tuple[str, ...]) -> list[str]:
    lines = []
    if en:
        lines.append(f"Also called: {', '.join(en)}")
    if zh:
        lines.append(f"又称: {'、'.join(zh)}")
    return lines
