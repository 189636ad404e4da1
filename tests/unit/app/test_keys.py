"""The API key store on a real SQLite file: secrets shown once and stored hashed, revocation, scope checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.keys import KeyStore, parse_scope
from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from kubeai.errors import ConfigError


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())


def test_a_created_key_verifies_and_only_a_hash_is_stored(tmp_path: Path, catalog: Catalog) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    key, secret = store.create("ana", {"region": ["华东", "华北"]}, catalog=catalog)

    assert secret.startswith(f"kai_{key.id}_") and len(secret) > 40
    found = store.verify(secret)
    assert found == key and found.user == "ana" and found.scope == {"region": ("华东", "华北")}
    raw = (tmp_path / "keys.sqlite").read_bytes()
    assert secret.split("_", 2)[2].encode() not in raw
    with sqlite3.connect(tmp_path / "keys.sqlite") as db:
        assert db.execute("SELECT count(*) FROM api_keys").fetchone() == (1,)


def test_unknown_malformed_and_tampered_secrets_do_not_verify(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    key, secret = store.create("ana")
    for wrong in (
        "",
        "kai_",
        "nope",
        f"kai_{key.id}_",
        f"kai_{key.id}_x",
        secret[:-1] + "A" if secret[-1] != "A" else secret[:-1] + "B",
        "kai_000000000000_" + secret.split("_", 2)[2],
    ):
        assert store.verify(wrong) is None, wrong


def test_a_revoked_key_stops_working_and_stays_listed(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    key, secret = store.create("ana")
    other, other_secret = store.create("bo")

    revoked = store.revoke(key.id)

    assert revoked.revoked and store.verify(secret) is None
    assert store.lookup(secret) == revoked  # the API tells "revoked" (403) from "unknown" (401)
    assert store.verify(other_secret) == other
    assert [(k.user, k.revoked) for k in store.list()] == [("ana", True), ("bo", False)]
    assert store.revoke(key.id).revoked_at == revoked.revoked_at
    with pytest.raises(ConfigError, match="No API key 'nope'"):
        store.revoke("nope")


def test_scope_dimensions_are_checked_against_the_catalog(tmp_path: Path, catalog: Catalog) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    with pytest.raises(ConfigError, match="has no dimension 'planet'"):
        store.create("ana", {"planet": ["mars"]}, catalog=catalog)
    with pytest.raises(ConfigError, match="lists no values"):
        store.create("ana", {"region": []}, catalog=catalog)
    with pytest.raises(ConfigError, match="user is empty"):
        store.create("  ")
    assert store.list() == []


def test_parse_scope_groups_values_by_dimension() -> None:
    assert parse_scope(["region=华东", "region=华北", "channel=app", "region=华东"]) == {
        "region": ("华东", "华北"),
        "channel": ("app",),
    }
    with pytest.raises(ConfigError, match="not dimension=value"):
        parse_scope(["region"])
