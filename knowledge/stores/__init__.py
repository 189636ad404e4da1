"""Vector stores: the :class:`VectorStore` interface, its backends, and :func:`open_store`.

Backends live in one folder each with the same file names inside: ``sqlite/store.py`` (embedded, the default)
and ``weaviate/store.py`` (a Weaviate server). Both pass ``tests/conformance/test_vector_store.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.stores.base import Filter, Hit, MetadataValue, Record, VectorStore

if TYPE_CHECKING:
    from kubeai.config import VectorStoreConfig

__all__ = ["DEFAULT_FILE_NAME", "Filter", "Hit", "MetadataValue", "Record", "VectorStore", "open_store"]

DEFAULT_FILE_NAME = "vectors.sqlite"


def open_store(config: VectorStoreConfig, data_dir: Path) -> VectorStore:
    """Open the vector store a configuration names.

    Args:
        config: The ``vector_store`` section of the project configuration.
        data_dir: The project's data folder; the embedded store defaults to ``data_dir / "vectors.sqlite"``.

    Returns:
        An open store; call its ``close()`` when done.

    Raises:
        VectorStoreError: The file cannot be opened or the server cannot be reached.
    """
    if config.backend == "weaviate":
        from knowledge.stores.weaviate import WeaviateVectorStore

        return WeaviateVectorStore.connect(
            url=config.url or "",
            grpc_port=config.grpc_port,
            api_key=config.api_key,
            collection_prefix=config.collection_prefix,
        )
    from knowledge.stores.sqlite import SQLiteVectorStore

    path = config.path if config.path is not None else data_dir / DEFAULT_FILE_NAME
    if not path.is_absolute():
        path = data_dir / path
    return SQLiteVectorStore(path)
