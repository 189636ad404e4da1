"""A :class:`~knowledge.stores.base.VectorStore` on a Weaviate server, through weaviate-client v4.

Each collection becomes a Weaviate collection named ``<prefix>_<name>`` with self-provided cosine vectors and
declared properties: ``record_id`` (the caller's id; the object UUID is a UUIDv5 of collection and id),
``text``, ``keywords`` (the terms from :func:`knowledge.stores._common.keyword_terms`, whitespace-tokenised, so
BM25 sees the same CJK bigrams as the embedded store), ``metadata_json`` (metadata exactly as given) and one
``meta_<key>`` property per metadata key (TEXT with field tokenisation, NUMBER or BOOL) for filters. The vector
dimension is recorded in the collection description and checked on every write.

Weaviate has no transactions, so :meth:`WeaviateVectorStore.upsert` validates the whole batch first and, if the
server still rejects part of it, restores the objects it replaced and deletes the ones it added.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlsplit

from knowledge.stores._common import (
    check_collection,
    check_filter,
    check_query,
    check_records,
    check_vector,
    keyword_terms,
    query_terms,
)
from knowledge.stores.base import Filter, Hit, MetadataValue, Record
from kubeai.errors import VectorStoreError

__all__ = [
    "NOTHING",
    "VECTOR_NAME",
    "PropertyKind",
    "WeaviateVectorStore",
    "collection_name",
    "collection_settings",
    "metadata_kinds",
    "object_uuid",
    "parse_url",
    "schema_properties",
    "translate_filter",
]

PropertyKind = str  # "text" | "number" | "bool"
NOTHING: Final = object()
"""Returned by :func:`translate_filter` for a filter no object can match."""

VECTOR_NAME = "default"
"""The one self-provided named vector of every collection."""
_UUID_NAMESPACE = uuid.UUID("6f6b2b2e-8f5e-4d1a-9a43-4b7562656169")
_DIMENSION = re.compile(r"vector dimension (\d+)")
_BASE_PROPERTIES = ("record_id", "text", "keywords", "metadata_json")
_META = "meta_"
_PAGE = 1000
_INSERT_CHUNK = 500


def collection_name(prefix: str, name: str) -> str:
    """The Weaviate collection for a store collection: ``Kubeai`` and ``catalog`` give ``Kubeai_catalog``."""
    return f"{prefix}_{check_collection(name)}"


def object_uuid(collection: str, record_id: str) -> str:
    """The deterministic Weaviate object UUID of a record."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{collection}\x00{record_id}"))


def parse_url(url: str) -> tuple[str, int, bool]:
    """Split ``http(s)://host[:port]`` into host, port (default 8080, or 443 for https) and whether it is TLS.

    Raises:
        VectorStoreError: The URL is not an http(s) URL with a host.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise VectorStoreError(
            f"Weaviate URL {url!r} is not an http(s) URL; set vector_store.url like http://127.0.0.1:8080."
        )
    secure = parts.scheme == "https"
    return parts.hostname, port or (443 if secure else 8080), secure


def _kind(value: MetadataValue) -> PropertyKind:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "text"
    return "number"


def metadata_kinds(records: Sequence[Record], known: Mapping[str, PropertyKind]) -> dict[str, PropertyKind]:
    """Metadata keys of a batch that the collection does not declare yet, with their property kinds.

    Raises:
        VectorStoreError: A key holds values of different kinds (in the batch, or against the collection).
    """
    new: dict[str, PropertyKind] = {}
    for record in records:
        for key, value in record.metadata.items():
            kind = _kind(value)
            have = known.get(key) or new.get(key)
            if have is None:
                new[key] = kind
            elif have != kind:
                raise VectorStoreError(
                    f"Metadata key {key!r} of record {record.id!r} is a {kind}, but the collection stores it as a "
                    f"{have}; Weaviate needs one type per key."
                )
    return new


def schema_properties(kinds: Mapping[str, PropertyKind]) -> list[Any]:
    """The declared Weaviate properties: the four base ones, then one per metadata key."""
    from weaviate.classes.config import DataType, Property, Tokenization

    properties = [
        Property(
            name="record_id",
            data_type=DataType.TEXT,
            tokenization=Tokenization.FIELD,
            index_filterable=True,
            index_searchable=False,
        ),
        Property(name="text", data_type=DataType.TEXT, index_filterable=False, index_searchable=False),
        Property(
            name="keywords",
            data_type=DataType.TEXT,
            tokenization=Tokenization.WHITESPACE,
            index_filterable=False,
            index_searchable=True,
        ),
        Property(name="metadata_json", data_type=DataType.TEXT, index_filterable=False, index_searchable=False),
    ]
    return properties + [_metadata_property(key, kind) for key, kind in sorted(kinds.items())]


def collection_settings(dimension: int, kinds: Mapping[str, PropertyKind]) -> dict[str, Any]:
    """Keyword arguments for ``client.collections.create``.

    They hold a description recording the dimension, the declared properties, and one self-provided vector
    with a cosine HNSW index.
    """
    from weaviate.classes.config import Configure, VectorDistances

    return {
        "description": f"kubeai-agents knowledge collection; vector dimension {dimension}",
        "properties": schema_properties(kinds),
        "vector_config": Configure.Vectors.self_provided(
            name=VECTOR_NAME, vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE)
        ),
    }


def _metadata_property(key: str, kind: PropertyKind) -> Any:
    from weaviate.classes.config import DataType, Property, Tokenization

    if kind == "text":
        return Property(
            name=_META + key,
            data_type=DataType.TEXT,
            tokenization=Tokenization.FIELD,
            index_filterable=True,
            index_searchable=False,
        )
    data_type = DataType.BOOL if kind == "bool" else DataType.NUMBER
    return Property(name=_META + key, data_type=data_type, index_filterable=True)


def translate_filter(
    where: Mapping[str, list[MetadataValue]], kinds: Mapping[str, PropertyKind], ids: Sequence[str] | None = None
) -> Any:
    """A Weaviate filter for a normalised store filter (see :func:`knowledge.stores._common.check_filter`).

    Values whose kind differs from the key's declared kind can match nothing and are dropped, as in the
    embedded store; a key the collection never stored matches nothing.

    Args:
        where: Key to allowed values.
        kinds: The collection's declared metadata kinds.
        ids: Object UUIDs the result must be among, or ``None``.

    Returns:
        A ``weaviate`` filter, ``None`` for no restriction, or :data:`NOTHING`.
    """
    from weaviate.classes.query import Filter as WFilter

    parts: list[Any] = []
    if ids is not None:
        if not ids:
            return NOTHING
        parts.append(WFilter.by_id().contains_any(list(ids)))
    for key, allowed in where.items():
        kind = kinds.get(key)
        values = [v for v in allowed if kind is not None and _kind(v) == kind]
        if not values:
            return NOTHING
        prop = WFilter.by_property(_META + key)
        if kind == "text":
            parts.append(prop.equal(values[0]) if len(values) == 1 else prop.contains_any([str(v) for v in values]))
        else:
            options = [prop.equal(float(v) if kind == "number" else v) for v in dict.fromkeys(values)]
            parts.append(options[0] if len(options) == 1 else WFilter.any_of(options))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else WFilter.all_of(parts)


@dataclass
class _Info:
    dimension: int | None
    kinds: dict[str, PropertyKind] = field(default_factory=dict)


class WeaviateVectorStore:
    """Records in Weaviate collections, searched with Weaviate's relative-score hybrid fusion.

    Build it with :meth:`connect`; pass an existing ``weaviate.WeaviateClient`` to the constructor only to
    share a client (the store then does not close it).

    Args:
        client: A connected ``weaviate.WeaviateClient``.
        collection_prefix: Prepended to every collection name (``Kubeai_catalog``).
        url: Shown in error messages.
        owns_client: Whether :meth:`close` closes the client.
    """

    def __init__(
        self, client: Any, *, collection_prefix: str = "Kubeai", url: str = "Weaviate", owns_client: bool = False
    ) -> None:
        self._client = client
        self.prefix = collection_prefix
        self.url = url
        self._owns = owns_client
        self._info: dict[str, _Info] = {}
        self._lock = threading.RLock()

    @classmethod
    def connect(
        cls,
        *,
        url: str,
        grpc_port: int = 50051,
        api_key: str | None = None,
        collection_prefix: str = "Kubeai",
        timeout_s: float = 30.0,
    ) -> WeaviateVectorStore:
        """Connect to a Weaviate server (REST at ``url``, gRPC on the same host at ``grpc_port``).

        Raises:
            VectorStoreError: The URL is malformed, the server cannot be reached, or the client is missing.
        """
        host, port, secure = parse_url(url)
        try:
            import weaviate
            from weaviate.classes.init import AdditionalConfig, Auth, Timeout
            from weaviate.exceptions import WeaviateBaseError
        except ImportError as exc:
            raise VectorStoreError(
                "The Weaviate backend needs weaviate-client; install it with `pip install weaviate-client`."
            ) from exc
        try:
            client = weaviate.connect_to_custom(
                http_host=host,
                http_port=port,
                http_secure=secure,
                grpc_host=host,
                grpc_port=grpc_port,
                grpc_secure=secure,
                auth_credentials=Auth.api_key(api_key) if api_key else None,
                additional_config=AdditionalConfig(
                    timeout=Timeout(init=min(timeout_s, 10.0), query=timeout_s, insert=max(timeout_s, 90.0))
                ),
            )
        except (WeaviateBaseError, OSError) as exc:
            raise VectorStoreError(
                f"Cannot reach Weaviate at {url} (gRPC port {grpc_port}): {_short(exc)}; start the server or fix "
                "vector_store.url and vector_store.grpc_port."
            ) from None
        return cls(client, collection_prefix=collection_prefix, url=url, owns_client=True)

    # -- the VectorStore protocol -------------------------------------------------------------------------

    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        """Insert records, replacing any with the same id; on a partial failure the batch is rolled back."""
        from weaviate.classes.data import DataObject

        name = collection_name(self.prefix, collection)
        if not records:
            return
        with self._lock, self._errors(f"write to collection {name}"):
            info = self._describe(name)
            dimension = check_records(records, info.dimension if info else None)
            new_kinds = metadata_kinds(records, info.kinds if info else {})
            if info is None:
                self._client.collections.create(name, **collection_settings(dimension, new_kinds))
                info = _Info(dimension=dimension, kinds=dict(new_kinds))
                self._info[name] = info
            else:
                handle = self._client.collections.get(name)
                for key, kind in sorted(new_kinds.items()):
                    handle.config.add_property(_metadata_property(key, kind))
                    info.kinds[key] = kind
            handle = self._client.collections.get(name)
            uuids = [object_uuid(collection, r.id) for r in records]
            previous = self._fetch(handle, uuids)
            objects = [
                DataObject(properties=_properties(r), uuid=u, vector={VECTOR_NAME: [float(x) for x in r.vector]})
                for r, u in zip(records, uuids, strict=True)
            ]
            errors: list[str] = []
            for start in range(0, len(objects), _INSERT_CHUNK):
                result = handle.data.insert_many(objects[start : start + _INSERT_CHUNK])
                errors.extend(str(e.message) for e in result.errors.values())
                if errors:
                    break
            if errors:
                self._restore(handle, uuids, previous)
                raise VectorStoreError(
                    f"Weaviate rejected part of the batch for collection {name} ({errors[0]}); nothing was kept."
                )

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> int:
        """Delete records by id and/or filter; ``where={}`` alone deletes every record."""
        from weaviate.classes.query import Filter as WFilter

        name = collection_name(self.prefix, collection)
        if ids is None and where is None:
            raise VectorStoreError("delete() needs ids or where; pass where={} to delete every record.")
        normal = check_filter(where)
        with self._lock, self._errors(f"delete from collection {name}"):
            info = self._describe(name)
            if info is None:
                return 0
            selection = translate_filter(normal, info.kinds, _uuids(collection, ids))
            if selection is NOTHING:
                return 0
            if selection is None:
                selection = WFilter.by_property("record_id").like("*")
            handle = self._client.collections.get(name)
            deleted = 0
            while True:
                result = handle.data.delete_many(where=selection)
                deleted += int(result.successful)
                if result.failed:
                    raise VectorStoreError(
                        f"Weaviate failed to delete {result.failed} objects from collection {name}; retry."
                    )
                if result.successful == 0 or result.matches <= result.successful:
                    return deleted

    def get(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> list[Hit]:
        """Stored records by id and/or filter (neither: all), ``score`` 0."""
        name = collection_name(self.prefix, collection)
        normal = check_filter(where)
        with self._lock, self._errors(f"read collection {name}"):
            info = self._describe(name)
            if info is None:
                return []
            selection = translate_filter(normal, info.kinds, _uuids(collection, ids))
            if selection is NOTHING:
                return []
            handle = self._client.collections.get(name)
            return [_hit(o, 0.0) for o in self._scan(handle, selection)]

    def search(
        self,
        collection: str,
        *,
        text: str,
        vector: Sequence[float],
        k: int = 10,
        alpha: float = 0.5,
        where: Filter | None = None,
    ) -> list[Hit]:
        """The ``k`` best records by Weaviate hybrid search (relative-score fusion) over the keyword terms."""
        from weaviate.classes.query import HybridFusion, MetadataQuery

        name = collection_name(self.prefix, collection)
        check_query(k, alpha)
        normal = check_filter(where)
        with self._lock, self._errors(f"search collection {name}"):
            info = self._describe(name)
            if info is None:
                return []
            query_vector = check_vector("The query vector", vector, info.dimension)
            selection = translate_filter(normal, info.kinds)
            if selection is NOTHING:
                return []
            handle = self._client.collections.get(name)
            keywords = " ".join(query_terms(text))
            if alpha >= 1.0 or (not keywords and alpha > 0.0):
                found = handle.query.near_vector(
                    query_vector,
                    limit=k,
                    filters=selection,
                    target_vector=VECTOR_NAME,
                    return_metadata=MetadataQuery(distance=True),
                )
                return [_hit(o, 1.0 - float(o.metadata.distance or 0.0)) for o in found.objects]
            if not keywords:
                return []
            if alpha <= 0.0:
                found = handle.query.bm25(
                    keywords,
                    query_properties=["keywords"],
                    limit=k,
                    filters=selection,
                    return_metadata=MetadataQuery(score=True),
                )
            else:
                found = handle.query.hybrid(
                    keywords,
                    vector=query_vector,
                    alpha=alpha,
                    query_properties=["keywords"],
                    fusion_type=HybridFusion.RELATIVE_SCORE,
                    target_vector=VECTOR_NAME,
                    limit=k,
                    filters=selection,
                    return_metadata=MetadataQuery(score=True),
                )
            return [_hit(o, float(o.metadata.score or 0.0)) for o in found.objects]

    # -- lifecycle ------------------------------------------------------------------------------------------

    def drop(self, collection: str) -> None:
        """Delete a whole collection and its schema (used by tests and re-indexing)."""
        name = collection_name(self.prefix, collection)
        with self._lock, self._errors(f"drop collection {name}"):
            self._client.collections.delete(name)
            self._info.pop(name, None)

    def close(self) -> None:
        """Close the client if this store opened it."""
        if self._owns:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        from weaviate.exceptions import WeaviateBaseError

        try:
            yield
        except WeaviateBaseError as exc:
            self._info.clear()
            raise VectorStoreError(f"Weaviate at {self.url} failed to {action}: {_short(exc)}.") from None

    def _describe(self, name: str) -> _Info | None:
        if name in self._info:
            return self._info[name]
        if not self._client.collections.exists(name):
            return None
        config = self._client.collections.get(name).config.get()
        match = _DIMENSION.search(config.description or "")
        kinds: dict[str, PropertyKind] = {}
        for prop in config.properties:
            if prop.name.startswith(_META):
                value = getattr(prop.data_type, "value", prop.data_type)
                kinds[prop.name[len(_META) :]] = {"text": "text", "boolean": "bool"}.get(str(value), "number")
        info = _Info(dimension=int(match.group(1)) if match else None, kinds=kinds)
        self._info[name] = info
        return info

    def _scan(self, handle: Any, selection: Any) -> Iterator[Any]:
        if selection is None:
            after = None
            while True:
                page = handle.query.fetch_objects(limit=_PAGE, after=after).objects
                yield from page
                if len(page) < _PAGE:
                    return
                after = page[-1].uuid
        offset = 0
        while True:
            page = handle.query.fetch_objects(limit=_PAGE, offset=offset, filters=selection).objects
            yield from page
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def _fetch(self, handle: Any, uuids: Sequence[str]) -> list[Any]:
        from weaviate.classes.query import Filter as WFilter

        found: list[Any] = []
        for start in range(0, len(uuids), _PAGE):
            chunk = list(uuids[start : start + _PAGE])
            result = handle.query.fetch_objects(
                filters=WFilter.by_id().contains_any(chunk), limit=len(chunk), include_vector=True
            )
            found.extend(result.objects)
        return found

    def _restore(self, handle: Any, uuids: Sequence[str], previous: Sequence[Any]) -> None:
        from weaviate.classes.data import DataObject
        from weaviate.classes.query import Filter as WFilter

        for start in range(0, len(uuids), _PAGE):
            handle.data.delete_many(where=WFilter.by_id().contains_any(list(uuids[start : start + _PAGE])))
        if previous:
            handle.data.insert_many(
                [DataObject(properties=o.properties, uuid=o.uuid, vector=o.vector) for o in previous]
            )


def _uuids(collection: str, ids: Sequence[str] | None) -> list[str] | None:
    if ids is None:
        return None
    if isinstance(ids, str):
        raise VectorStoreError("ids must be a list of ids, not one string.")
    return [object_uuid(collection, i) for i in dict.fromkeys(ids)]


def _properties(record: Record) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "record_id": record.id,
        "text": record.text,
        "keywords": " ".join(keyword_terms(record.text)),
        "metadata_json": json.dumps(dict(record.metadata), ensure_ascii=False, sort_keys=True),
    }
    for key, value in record.metadata.items():
        properties[_META + key] = float(value) if _kind(value) == "number" else value
    return properties


def _hit(obj: Any, score: float) -> Hit:
    props = obj.properties
    metadata: dict[str, MetadataValue] = json.loads(str(props.get("metadata_json") or "{}"))
    return Hit(id=str(props["record_id"]), text=str(props.get("text") or ""), score=score, metadata=metadata)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")
