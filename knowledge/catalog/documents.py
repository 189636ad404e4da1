"""Turn a catalog into retrieval entries: one per metric, dimension and example, plus one per name, ready to embed.

Entries are :class:`knowledge.index.Entry` objects (exported here as :data:`CatalogEntry`), so they go straight
into :meth:`knowledge.index.KnowledgeBase.index`. Ids are stable across runs (``metric:gmv``,
``dimension:region``, ``example:3`` for ``examples[3]``); the text holds both languages so a Chinese or an
English question can find the entry by keywords or by meaning.

Every metric and dimension also gets one short *term* entry per label and synonym (``metric:gmv/term:2`` holds
just "销售额"), with the same ``kind`` and ``name`` as its main entry and ``part: "term"`` (main entries have
``part: "main"``). A small embedding model matches a short question to a short name far better than to a
paragraph, and :func:`knowledge.catalog.retrieval.retrieve_catalog` maps term hits back to their metric or
dimension and also uses the terms for exact matching.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from knowledge.catalog.models import Catalog, Dimension, Example, Metric
from knowledge.index import Entry, IndexReport, KnowledgeBase

__all__ = [
    "CATALOG_COLLECTION",
    "CatalogEntry",
    "CatalogIndexResult",
    "catalog_collection",
    "catalog_entries",
    "dimension_entry",
    "dimension_values",
    "example_entry",
    "index_catalog",
    "metric_entry",
    "term_entries",
]

CATALOG_COLLECTION = "catalog"
_KINDS = ["metric", "dimension", "example"]
MAIN_PART = "main"
TERM_PART = "term"


def catalog_collection(catalog: Catalog) -> str:
    """The collection one catalog's entries live in: ``catalog_<name>``.

    Each catalog has its own, so two catalogs used with one data folder (the demo and the logistics catalog, or
    a team's two warehouses) never prune each other's entries when either is brought up to date. A name too long
    for a collection keeps its start and gains a hash of the whole.
    """
    name = f"{CATALOG_COLLECTION}_{catalog.name}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(catalog.name.encode("utf-8")).hexdigest()[:12]
    return f"{name[:50]}_{digest}"


CatalogEntry = Entry
"""A catalog item as a retrieval entry: ``id``, ``text`` and scalar ``metadata`` (kind, name, table, ...)."""


def catalog_entries(catalog: Catalog) -> list[CatalogEntry]:
    """Every metric, dimension and example of ``catalog`` as a retrieval entry, then every term entry.

    Main entries come first in catalog order (metrics, dimensions, examples), then the term entries of each
    metric and dimension (see :func:`term_entries`).
    """
    return [
        *(metric_entry(catalog, m) for m in catalog.metrics),
        *(dimension_entry(d) for d in catalog.all_dimensions),
        *(example_entry(i, e) for i, e in enumerate(catalog.examples)),
        *(t for m in catalog.metrics for t in term_entries(catalog, m)),
        *(t for d in catalog.all_dimensions for t in term_entries(catalog, d)),
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
    """A metric: labels, synonyms, description and formula.

    The dimensions a metric can be broken down by are left out of the text on purpose: most metrics allow
    most dimensions, so their names made every metric match every dimension word. They are in the catalog
    (``catalog.allowed_dimensions``), and retrieval ranks dimensions separately.
    """
    del catalog  # kept in the signature: callers pass the catalog, and a future text may need it
    lines = [
        f"{metric.label.en} / {metric.label.zh}",
        *_synonym_lines(metric.synonyms.en, metric.synonyms.zh),
        metric.description,
    ]
    if metric.formula is not None:
        lines.append(f"Formula: {metric.formula}")
    table = metric.table or ""
    return Entry(
        id=f"metric:{metric.name}",
        text="\n".join(lines),
        metadata={
            "kind": "metric",
            "name": metric.name,
            "part": MAIN_PART,
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
        metadata={
            "kind": "dimension",
            "name": dimension.name,
            "part": MAIN_PART,
            "table": dimension.table or "",
            "type": dimension.type,
        },
    )


def term_entries(catalog: Catalog, item: Metric | Dimension) -> list[CatalogEntry]:
    """One short entry per distinct label and synonym of a metric or dimension, and per value of a dimension.

    Terms come in order: English label and synonyms, Chinese label and synonyms, then for a dimension the
    values its column takes (see :func:`dimension_values`), so "华东" is a term of ``region``. Ids are
    ``<kind>:<name>/term:<i>``; the text is the term alone; metadata has the item's ``kind`` and ``name`` and
    ``part: "term"``, so a kind filter finds main and term entries together.
    """
    kind = "metric" if isinstance(item, Metric) else "dimension"
    terms = [item.label.en, *item.synonyms.en, item.label.zh, *item.synonyms.zh]
    if isinstance(item, Dimension):
        terms.extend(dimension_values(catalog, item))
    unique: dict[str, str] = {}
    for term in terms:
        unique.setdefault(term.strip().casefold(), term.strip())
    return [
        Entry(
            id=f"{kind}:{item.name}/term:{i}",
            text=term,
            metadata={"kind": kind, "name": item.name, "part": TERM_PART},
        )
        for i, term in enumerate(t for t in unique.values() if t)
    ]


def example_entry(index: int, example: Example) -> CatalogEntry:
    """An example: the question and its SQL; metadata lists the metrics and dimensions it uses."""
    answer = f"SQL: {example.sql.strip()}" if example.sql else f"Query: {json.dumps(example.query, ensure_ascii=False)}"
    return Entry(
        id=f"example:{index}",
        text=f"{example.question}\n{answer}",
        metadata={
            "kind": "example",
            "name": f"example_{index}",
            "language": example.language,
            "metrics": ",".join(example.metrics),
            "dimensions": ",".join(example.dimensions),
        },
    )


def dimension_values(catalog: Catalog, dimension: Dimension) -> list[str]:
    """The enumerated values of a dimension's column and of its sibling columns, as text.

    A dimension ``sql: regions.region_name`` takes the ``values`` of ``region_name`` and of the other columns
    of ``regions`` whose name starts with the same word (``region_code``, ``region_name_en``): the codes and
    the names in both languages of the same thing.
    """
    if dimension.metric_time:
        return []
    table = catalog.table(dimension.source_table)
    if table is None:
        return []
    used = set(re.findall(rf"\b{re.escape(table.name)}\.(\w+)", dimension.expression))
    stems = {c.split("_")[0] for c in used}
    return [
        str(v).replace("_", " ")
        for column in table.columns
        if column.values and column.name.split("_")[0] in stems
        for v in column.values
        if not isinstance(v, bool)
    ]


def _synonym_lines(en: tuple[str, ...], zh: tuple[str, ...]) -> list[str]:
    lines = []
    if en:
        lines.append(f"Also called: {', '.join(en)}")
    if zh:
        lines.append(f"又称: {'、'.join(zh)}")
    return lines
