"""The metric catalog: a YAML semantic layer naming tables, joins, dimensions, metrics and examples.

Load one with :func:`load_catalog`; turn it into retrieval entries with :func:`catalog_entries`, index them with
:func:`index_catalog`, and find what a question is about with :func:`retrieve_catalog`.
"""

from __future__ import annotations

from knowledge.catalog.documents import (
    CATALOG_COLLECTION,
    CatalogEntry,
    CatalogIndexResult,
    catalog_collection,
    catalog_entries,
    index_catalog,
)
from knowledge.catalog.joins import JoinStep, join_path, reachable_tables
from knowledge.catalog.loader import check_catalog, demo_catalog_path, load_catalog
from knowledge.catalog.models import (
    Catalog,
    Column,
    Dimension,
    Example,
    Join,
    Localized,
    Metric,
    Synonyms,
    Table,
    WarehouseSpec,
    catalog_json_schema,
    packaged_json_schema,
)
from knowledge.catalog.retrieval import CatalogMatches, retrieve_catalog

__all__ = [
    "CATALOG_COLLECTION",
    "Catalog",
    "CatalogEntry",
    "CatalogIndexResult",
    "CatalogMatches",
    "Column",
    "Dimension",
    "Example",
    "Join",
    "JoinStep",
    "Localized",
    "Metric",
    "Synonyms",
    "Table",
    "WarehouseSpec",
    "catalog_collection",
    "catalog_entries",
    "catalog_json_schema",
    "check_catalog",
    "demo_catalog_path",
    "index_catalog",
    "join_path",
    "load_catalog",
    "packaged_json_schema",
    "reachable_tables",
    "retrieve_catalog",
]
