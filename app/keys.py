"""API keys: who calls the HTTP API (and the MCP server over HTTP), and which rows they may see.

    store = KeyStore(config.data_dir / "keys.sqlite")
    key, secret = store.create("ana", {"region": ("华东",)}, catalog=catalog)   # the secret is shown once
    store.verify(secret)    # -> the ApiKey, or None for an unknown or revoked secret

A secret is ``kai_<key id>_<random>``: the id finds the row, and only a salted SHA-256 of the random part is
stored (the random part carries 256 bits, so a slow hash adds nothing), compared in constant time. A key's
``scope`` maps catalog dimensions to the values its user may see (``{"region": ("华东", "华北")}``); the
agents turn it into row filters the SQL gate applies to every query (:func:`knowledge.catalog.scope.row_filters`).
An empty scope sees every row.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from app._sqlite import connect
from knowledge.catalog import Catalog
from knowledge.catalog.scope import check_scope
from kubeai.errors import ConfigError

__all__ = ["SECRET_PREFIX", "ApiKey", "KeyStore", "parse_scope"]

SECRET_PREFIX = "kai_"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    scope TEXT NOT NULL,
    salt BLOB NOT NULL,
    digest BLOB NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    """One API key, without its secret.

    Attributes:
        id: The key's public id (the secret's middle part); ``kubeai keys revoke`` takes it.
        user: Who the key belongs to; threads are owned by users.
        scope: Catalog dimension name to the values the user may see; empty means every row.
        created_at: When it was created (UTC).
        revoked_at: When it was revoked (UTC), or ``None`` while it is valid.
    """

    id: str
    user: str
    scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    created_at: datetime
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scope", MappingProxyType({k: tuple(v) for k, v in self.scope.items()}))

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked."""
        return self.revoked_at is not None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary (never the secret)."""
        return {
            "id": self.id,
            "user": self.user,
            "scope": {k: list(v) for k, v in self.scope.items()},
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def parse_scope(items: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``["region=华东", "region=华北", "channel=app"]`` as ``{"region": ("华东", "华北"), "channel": ("app",)}``.

    Raises:
        ConfigError: An item is not ``dimension=value``.
    """
    scope: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"Scope {item!r} is not dimension=value, e.g. region=华东.", field="scope")
        values = scope.setdefault(name.strip(), [])
        if value.strip() not in values:
            values.append(value.strip())
    return {k: tuple(v) for k, v in scope.items()}


def _digest(salt: bytes, token: str) -> bytes:
    return hashlib.sha256(salt + token.encode("utf-8")).digest()


def _now() -> datetime:
    return datetime.now(UTC)


class KeyStore:
    """API keys in a SQLite file; safe to share between processes (each call opens its own connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> KeyStore:
        """The project's key store: ``<data_dir>/keys.sqlite``."""
        return cls(data_dir / "keys.sqlite")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with connect(self.path, schema=_SCHEMA, what="the API key store") as connection:
            yield connection

    def create(
        self, user: str, scope: Mapping[str, Sequence[str]] | None = None, *, catalog: Catalog | None = None
    ) -> tuple[ApiKey, str]:
        """Create a key for ``user``; returns it and its secret, which is shown this once and never stored.

        Args:
            user: Who the key belongs to.
            scope: Catalog dimension to the values the user may see (empty: every row).
            catalog: Checks that each scope dimension exists and can filter rows.

        Raises:
            ConfigError: The user is empty, or a scope dimension is unknown to the catalog or has no values.
        """
        user = user.strip()
        if not user:
            raise ConfigError("The key's user is empty; name who the key is for with --user.", field="user")
        frozen = {name: tuple(values) for name, values in (scope or {}).items()}
        if catalog is not None:
            check_scope(catalog, frozen)
        else:
            empty = [name for name, values in frozen.items() if not values]
            if empty:
                raise ConfigError(f"Scope dimension {empty[0]!r} lists no values.", field="scope")
        key_id = secrets.token_hex(6)
        token = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        key = ApiKey(id=key_id, user=user, scope=frozen, created_at=_now())
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_keys (id, user, scope, salt, digest, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    user,
                    json.dumps(frozen, ensure_ascii=False),
                    salt,
                    _digest(salt, token),
                    key.created_at.isoformat(),
                ),
            )
        return key, f"{SECRET_PREFIX}{key_id}_{token}"

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, user, scope, created_at, revoked_at FROM api_keys ORDER BY created_at, id"
            ).fetchall()
        return [_key(row) for row in rows]

    def get(self, key_id: str) -> ApiKey | None:
        """The key with this id, or ``None``."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, user, scope, created_at, revoked_at FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        return _key(row) if row else None

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent); its secret stops working at once.

        Raises:
            ConfigError: No key has this id.
        """
        with self._connect() as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (_now().isoformat(), key_id)
            )
        key = self.get(key_id)
        if key is None:
            raise ConfigError(f"No API key {key_id!r}; `kubeai keys list` shows the ids.", field="key_id")
        return key

    def lookup(self, secret: str) -> ApiKey | None:
        """The key a secret belongs to, revoked or not; ``None`` for a malformed or unknown secret."""
        if not secret.startswith(SECRET_PREFIX):
            return None
        key_id, sep, token = secret[len(SECRET_PREFIX) :].partition("_")
        if not sep or not key_id or not token:
            return None
        with self._connect() as db:
            row = db.execute(
                "SELECT id, user, scope, created_at, revoked_at, salt, digest FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        if row is None:
            _digest(b"\0" * 16, token)  # about the same work as a real check
            return None
        if not hmac.compare_digest(_digest(bytes(row[5]), token), bytes(row[6])):
            return None
        return _key(row[:5])

    def verify(self, secret: str) -> ApiKey | None:
        """The valid key a secret belongs to; ``None`` for a malformed, unknown or revoked secret."""
        key = self.lookup(secret)
        return None if key is None or key.revoked else key


def _key(row: Sequence[object]) -> ApiKey:
    key_id, user, scope, created, revoked = row
    return ApiKey(
        id=str(key_id),
        user=str(user),
        scope={k: tuple(v) for k, v in json.loads(str(scope)).items()},
        created_at=datetime.fromisoformat(str(created)),
        revoked_at=datetime.fromisoformat(str(revoked)) if revoked else None,
    )
