"""The embedded, persistent vector store: one SQLite file holding records, FTS5 keyword indexes and vectors.

Vectors are float32 blobs ranked exactly by sqlite-vec's ``vec_distance_cosine``; keywords are ranked by FTS5
``bm25()`` over the terms from :func:`knowledge.stores._common.keyword_terms` (words, and CJK character
bigrams). Both rankings are fused by :func:`knowledge.stores._common.fuse`. Every call runs in one transaction.

The stdlib ``sqlite3`` of many Python builds cannot load extensions, so the store uses ``pysqlite3`` (from the
``pysqlite3-binary`` wheel) and ``sqlite-vec``; both are imported when a store is opened.
"""

from __future__ import annotations

import json
import threading
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from knowledge.stores._common import (
    check_collection,
    check_filter,
    check_query,
    check_records,
    check_vector,
    fuse,
    keyword_terms,
    query_terms,
)
from knowledge.stores.base import Filter, Hit, MetadataValue, Record
from kubeai.errors import VectorStoreError

__all__ = ["SQLiteVectorStore"]

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_collections (
    name TEXT PRIMARY KEY,
    dimension INTEGER NOT NULL CHECK (dimension > 0)
);
CREATE TABLE IF NOT EXISTS kb_records (
    rowid INTEGER PRIMARY KEY,
    collection TEXT NOT NULL REFERENCES kb_collections(name),
    id TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    UNIQUE (collection, id)
);
"""


class SQLiteVectorStore:
    """A :class:`~knowledge.stores.base.VectorStore` in one SQLite file.

    Args:
        path: The database file, created with its folder if missing; ``":memory:"`` for a throw-away store.
        candidates: How many records each ranking contributes to hybrid fusion, at least ``k``.

    Raises:
        VectorStoreError: The file cannot be opened, is not a SQLite database, or the extensions are missing.
    """

    def __init__(self, path: Path | str, *, candidates: int = 100) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self.candidates = max(1, candidates)
        self._lock = threading.RLock()
        self._dimensions: dict[str, int] = {}
        self._conn = _connect(path)

    # -- the VectorStore protocol -------------------------------------------------------------------------

    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        """Insert records, replacing any with the same id; all or nothing."""
        check_collection(collection)
        if not records:
            return
        with self._transaction() as cur:
            known = self._dimension(cur, collection)
            dimension = check_records(records, known)
            if known is None:
                self._create(cur, collection, dimension)
            terms_table = _terms_table(collection)
            vectors_table = _vectors_table(collection)
            for record in records:
                row = cur.execute(
                    "INSERT INTO kb_records (collection, id, text, metadata) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (collection, id) DO UPDATE SET text = excluded.text, "
                    "metadata = excluded.metadata RETURNING rowid",
                    (
                        collection,
                        record.id,
                        record.text,
                        json.dumps(dict(record.metadata), ensure_ascii=False, sort_keys=True),
                    ),
                ).fetchone()
                cur.execute(
                    f"INSERT OR REPLACE INTO {vectors_table} (rowid, vector) VALUES (?, ?)",
                    (row[0], array("f", record.vector).tobytes()),
                )
                cur.execute(
                    f"INSERT OR REPLACE INTO {terms_table} (rowid, terms) VALUES (?, ?)",
                    (row[0], " ".join(keyword_terms(record.text))),
                )

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> int:
        """Delete records by id and/or filter (both given: both must match); returns how many were deleted.

        Raises:
            VectorStoreError: Neither ``ids`` nor ``where`` is given (deleting everything must be explicit:
                pass ``where={}``), or the filter is malformed.
        """
        check_collection(collection)
        if ids is None and where is None:
            raise VectorStoreError("delete() needs ids or where; pass where={} to delete every record.")
        condition, params = _selection(collection, ids, check_filter(where))
        with self._transaction() as cur:
            if self._dimension(cur, collection) is None:
                return 0
            rowids = [row[0] for row in cur.execute(f"SELECT r.rowid FROM kb_records r WHERE {condition}", params)]
            for start in range(0, len(rowids), 500):
                chunk = rowids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                cur.execute(f"DELETE FROM {_terms_table(collection)} WHERE rowid IN ({marks})", chunk)
                cur.execute(f"DELETE FROM {_vectors_table(collection)} WHERE rowid IN ({marks})", chunk)
                cur.execute(f"DELETE FROM kb_records WHERE rowid IN ({marks})", chunk)
            return len(rowids)

    def get(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> list[Hit]:
        """Stored records by id and/or filter (neither: all), in insertion order, ``score`` 0."""
        check_collection(collection)
        condition, params = _selection(collection, ids, check_filter(where))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT r.id, r.text, r.metadata FROM kb_records r WHERE {condition} ORDER BY r.rowid", params
            ).fetchall()
        return [Hit(id=i, text=t, score=0.0, metadata=_metadata(m)) for i, t, m in rows]

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
        """The ``k`` best records: FTS5 bm25 and exact cosine rankings fused by relative score."""
        check_collection(collection)
        check_query(k, alpha)
        normal = check_filter(where)
        with self._lock:
            dimension = self._dimension(self._conn.cursor(), collection)
            if dimension is None:
                return []
            query_vector = check_vector("The query vector", vector, dimension)
            pool = max(k, self.candidates) if 0.0 < alpha < 1.0 else k
            vector_ranking = self._vector_ranking(collection, query_vector, normal, pool) if alpha > 0 else []
            keyword_ranking = self._keyword_ranking(collection, text, normal, pool) if alpha < 1 else []
            best = fuse(keyword_ranking, vector_ranking, alpha, k)
            if not best:
                return []
            marks = ",".join("?" * len(best))
            rows = {
                i: (t, m)
                for i, t, m in self._conn.execute(
                    f"SELECT id, text, metadata FROM kb_records WHERE collection = ? AND id IN ({marks})",
                    [collection, *(i for i, _ in best)],
                )
            }
        return [Hit(id=i, text=rows[i][0], score=s, metadata=_metadata(rows[i][1])) for i, s in best]

    # -- lifecycle ------------------------------------------------------------------------------------------

    def collections(self) -> dict[str, int]:
        """Collection names and their record counts."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT c.name, COUNT(r.rowid) FROM kb_collections c LEFT JOIN kb_records r "
                "ON r.collection = c.name GROUP BY c.name ORDER BY c.name"
            ).fetchall()
        return dict(rows)

    def close(self) -> None:
        """Close the database connection; the store cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except _sqlite().Error as exc:
                raise VectorStoreError(f"Cannot start a write on {self._where()}: {exc}.") from None
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                self._dimensions.clear()
                raise
            try:
                self._conn.commit()
            except _sqlite().Error as exc:
                self._conn.rollback()
                self._dimensions.clear()
                raise VectorStoreError(f"Cannot commit to {self._where()}: {exc}.") from None

    def _where(self) -> str:
        return str(self.path) if self.path is not None else "the in-memory store"

    def _dimension(self, cur: Any, collection: str) -> int | None:
        if collection not in self._dimensions:
            row = cur.execute("SELECT dimension FROM kb_collections WHERE name = ?", (collection,)).fetchone()
            if row is None:
                return None
            self._dimensions[collection] = int(row[0])
        return self._dimensions[collection]

    def _create(self, cur: Any, collection: str, dimension: int) -> None:
        cur.execute("INSERT INTO kb_collections (name, dimension) VALUES (?, ?)", (collection, dimension))
        cur.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {_terms_table(collection)} USING fts5("
            "terms, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')"
        )
        # Vectors sit in a narrow table of their own so an exact scan reads only vectors (about 10x faster
        # than reading them from beside the text and metadata).
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {_vectors_table(collection)} (rowid INTEGER PRIMARY KEY, vector BLOB NOT NULL)"
        )
        self._dimensions[collection] = dimension

    def _vector_ranking(
        self, collection: str, vector: list[float], where: Mapping[str, list[MetadataValue]], limit: int
    ) -> list[tuple[str, float]]:
        table = _vectors_table(collection)
        blob = array("f", vector).tobytes()
        if where:
            condition, params = _selection(collection, None, where)
            ranked = (
                f"SELECT v.rowid AS rid, vec_distance_cosine(v.vector, ?) AS d FROM {table} v "
                f"WHERE v.rowid IN (SELECT r.rowid FROM kb_records r WHERE {condition}) ORDER BY d LIMIT ?"
            )
            args: list[Any] = [blob, *params, limit]
        else:
            ranked = f"SELECT rowid AS rid, vec_distance_cosine(vector, ?) AS d FROM {table} ORDER BY d LIMIT ?"
            args = [blob, limit]
        rows = self._conn.execute(
            f"SELECT r.id, n.d FROM ({ranked}) n CROSS JOIN kb_records r ON r.rowid = n.rid ORDER BY n.d, r.id",
            args,
        ).fetchall()
        return [(i, 1.0 - float(d)) for i, d in rows]

    def _keyword_ranking(
        self, collection: str, text: str, where: Mapping[str, list[MetadataValue]], limit: int
    ) -> list[tuple[str, float]]:
        terms = query_terms(text)
        if not terms:
            return []
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
        condition, params = _selection(collection, None, where)
        table = _terms_table(collection)
        # Materialise the FTS matches first and join records by rowid: letting the planner drive the join from
        # kb_records re-runs the MATCH once per record (seconds at 10k records instead of milliseconds).
        rows = self._conn.execute(
            f"WITH m AS MATERIALIZED (SELECT rowid AS rid, bm25({table}) AS b FROM {table} WHERE {table} MATCH ?) "
            f"SELECT r.id, m.b FROM m CROSS JOIN kb_records r ON r.rowid = m.rid WHERE {condition} "
            "ORDER BY m.b, r.id LIMIT ?",
            [match, *params, limit],
        ).fetchall()
        return [(i, -float(b)) for i, b in rows]


def _sqlite() -> Any:
    try:
        import pysqlite3.dbapi2 as sqlite
    except ImportError as exc:
        raise VectorStoreError(
            "The embedded vector store needs pysqlite3; install it with `pip install pysqlite3-binary`."
        ) from exc
    return sqlite


def _connect(path: Path | str) -> Any:
    sqlite = _sqlite()
    try:
        import sqlite_vec
    except ImportError as exc:
        raise VectorStoreError(
            "The embedded vector store needs sqlite-vec; install it with `pip install sqlite-vec`."
        ) from exc
    target = str(path)
    if target != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VectorStoreError(f"Cannot create the folder for vector store {path}: {exc.strerror}.") from None
    try:
        conn = sqlite.connect(target, check_same_thread=False, isolation_level=None, timeout=30.0)
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        conn.execute("PRAGMA foreign_keys = ON")
        if target != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            conn.close()
            raise VectorStoreError(
                f"Vector store {path} has schema version {version}, this code reads {SCHEMA_VERSION}; "
                "re-index into a new file."
            )
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite.DatabaseError as exc:
        raise VectorStoreError(
            f"Cannot open vector store {path} ({exc}); is it a SQLite file written by this project?"
        ) from None
    return conn


def _terms_table(collection: str) -> str:
    # The name is validated by check_collection (letters, digits, underscores), so it is safe in SQL.
    return f'"kb_terms_{check_collection(collection)}"'


def _vectors_table(collection: str) -> str:
    return f'"kb_vectors_{check_collection(collection)}"'


def _selection(
    collection: str, ids: Sequence[str] | None, where: Mapping[str, list[MetadataValue]]
) -> tuple[str, list[Any]]:
    clauses = ["r.collection = ?"]
    params: list[Any] = [collection]
    if ids is not None:
        if isinstance(ids, str):
            raise VectorStoreError("ids must be a list of ids, not one string.")
        id_list = list(dict.fromkeys(ids))
        if not id_list:
            return "0", []
        clauses.append("r.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(id_list, ensure_ascii=False))
    for key, allowed in where.items():
        path = f'$."{key}"'
        options: list[str] = []
        for value in allowed:
            if isinstance(value, bool):
                options.append("json_type(r.metadata, ?) = ?")
                params.extend([path, "true" if value else "false"])
            elif isinstance(value, str):
                options.append("(json_type(r.metadata, ?) = 'text' AND json_extract(r.metadata, ?) = ?)")
                params.extend([path, path, value])
            else:
                options.append("(json_type(r.metadata, ?) IN ('integer', 'real') AND json_extract(r.metadata, ?) = ?)")
                params.extend([path, path, value])
        clauses.append("(" + (" OR ".join(options) if options else "0") + ")")
    return " AND ".join(clauses), params


def _metadata(raw: str) -> dict[str, MetadataValue]:
    data: dict[str, MetadataValue] = json.loads(raw)
    return data
