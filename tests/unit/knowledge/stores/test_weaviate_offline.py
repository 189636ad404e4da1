"""What can be checked about the Weaviate backend without a server; the conformance suite covers the rest."""

import socket
import time

import pytest

from knowledge.stores import open_store
from knowledge.stores.base import Record
from knowledge.stores.weaviate.store import (
    NOTHING,
    collection_name,
    collection_settings,
    metadata_kinds,
    object_uuid,
    parse_url,
    schema_properties,
    translate_filter,
)
from kubeai.config import VectorStoreConfig
from kubeai.errors import VectorStoreError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_is_a_clear_vector_store_error() -> None:
    port = _free_port()
    config = VectorStoreConfig(backend="weaviate", url=f"http://127.0.0.1:{port}", grpc_port=_free_port())
    started = time.monotonic()
    with pytest.raises(VectorStoreError, match=rf"Cannot reach Weaviate at http://127.0.0.1:{port}") as info:
        open_store(config, data_dir=None)  # type: ignore[arg-type]
    assert "vector_store.url" in str(info.value)
    assert info.value.__cause__ is None
    assert time.monotonic() - started < 60  # not a hang; the real bound is the client's init timeout


@pytest.mark.parametrize("url", ["ftp://host", "not a url", "http://", "http://host:notaport"])
def test_malformed_url_is_rejected(url: str) -> None:
    with pytest.raises(VectorStoreError, match="http"):
        parse_url(url)


def test_parse_url_defaults() -> None:
    assert parse_url("http://weaviate") == ("weaviate", 8080, False)
    assert parse_url("https://w.example.com") == ("w.example.com", 443, True)
    assert parse_url("http://10.0.0.5:9000/") == ("10.0.0.5", 9000, False)


def test_names_and_uuids_are_stable_and_validated() -> None:
    assert collection_name("Kubeai", "catalog") == "Kubeai_catalog"
    with pytest.raises(VectorStoreError):
        collection_name("Kubeai", "bad-name")
    assert object_uuid("catalog", "metric:gmv") == object_uuid("catalog", "metric:gmv")
    assert object_uuid("catalog", "metric:gmv") != object_uuid("docs", "metric:gmv")


def test_schema_declares_base_and_metadata_properties() -> None:
    from weaviate.classes.config import DataType, Tokenization

    props = {p.name: p for p in schema_properties({"kind": "text", "rank": "number", "derived": "bool"})}
    assert list(props)[:4] == ["record_id", "text", "keywords", "metadata_json"]
    assert props["record_id"].tokenization == Tokenization.FIELD
    assert props["keywords"].tokenization == Tokenization.WHITESPACE
    assert props["keywords"].indexSearchable is True
    assert props["meta_kind"].dataType == DataType.TEXT
    assert props["meta_kind"].tokenization == Tokenization.FIELD
    assert props["meta_rank"].dataType == DataType.NUMBER
    assert props["meta_derived"].dataType == DataType.BOOL


def test_metadata_kinds_reject_a_key_with_two_types() -> None:
    records = [
        Record(id="a", text="a", vector=[1.0], metadata={"kind": "metric", "n": 1}),
        Record(id="b", text="b", vector=[1.0], metadata={"kind": "metric", "n": 2.5, "flag": True}),
    ]
    assert metadata_kinds(records, {"kind": "text"}) == {"n": "number", "flag": "bool"}
    with pytest.raises(VectorStoreError, match="one type per key"):
        metadata_kinds(records, {"n": "text"})


def _as_dict(f: object) -> object:
    """A comparable view of a weaviate filter tree."""
    if hasattr(f, "filters") and isinstance(f.filters, list):
        return (type(f).__name__, [_as_dict(x) for x in f.filters])
    return (type(f).__name__, getattr(f, "target", None), getattr(f, "operator", None), getattr(f, "value", None))


def test_translate_filter() -> None:
    from weaviate.classes.query import Filter

    kinds = {"kind": "text", "rank": "number", "derived": "bool"}
    assert translate_filter({}, kinds) is None
    assert _as_dict(translate_filter({"kind": ["metric"]}, kinds)) == _as_dict(
        Filter.by_property("meta_kind").equal("metric")
    )
    assert _as_dict(translate_filter({"kind": ["a", "b"]}, kinds)) == _as_dict(
        Filter.by_property("meta_kind").contains_any(["a", "b"])
    )
    assert _as_dict(translate_filter({"rank": [1, 2]}, kinds)) == _as_dict(
        Filter.any_of([Filter.by_property("meta_rank").equal(1.0), Filter.by_property("meta_rank").equal(2.0)])
    )
    both = translate_filter({"kind": ["metric"], "derived": [True]}, kinds, ids=[object_uuid("c", "u1")])
    assert _as_dict(both) == _as_dict(
        Filter.all_of(
            [
                Filter.by_id().contains_any([object_uuid("c", "u1")]),
                Filter.by_property("meta_kind").equal("metric"),
                Filter.by_property("meta_derived").equal(True),
            ]
        )
    )
    # Nothing can match: an unknown key, a value of another type, an empty membership, no ids.
    assert translate_filter({"missing": ["x"]}, kinds) is NOTHING
    assert translate_filter({"rank": ["1"]}, kinds) is NOTHING
    assert translate_filter({"rank": [True]}, kinds) is NOTHING
    assert translate_filter({"kind": []}, kinds) is NOTHING
    assert translate_filter({}, kinds, ids=[]) is NOTHING


def test_collection_settings_declare_dimension_schema_and_cosine_vectors() -> None:
    from weaviate.classes.config import VectorDistances

    settings = collection_settings(384, {"kind": "text"})
    assert "vector dimension 384" in settings["description"]
    assert [p.name for p in settings["properties"]] == ["record_id", "text", "keywords", "metadata_json", "meta_kind"]
    vector = settings["vector_config"]
    assert vector.vectorizer.vectorizer.value == "none"
    assert vector.vectorIndexConfig.distance == VectorDistances.COSINE
