"""Incremental ingestion: load, chunk, embed and store documents, skipping the ones that did not change.

Every stored chunk carries its document's ``source`` (absolute path) and ``version`` (a digest of the
file's content and the chunking settings). Chunk ids are derived from the version, so a new version is
written next to the old one and the old one is deleted only after the new one is stored: a failure at any
point leaves the previous version complete and searchable. Chunk ``0`` of each version doubles as the
document's record when listing what a collection holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from knowledge.index import Entry, KnowledgeBase
from knowledge.ingest._chunking import ChunkingConfig, chunk_document
from knowledge.ingest._loaders import SUFFIXES, load_document, read_file
from knowledge.ingest._metadata import chunk_id, chunk_metadata, document_version, entry_text
from knowledge.stores.base import Filter
from kubeai.errors import IngestError, KubeAIError

if TYPE_CHECKING:
    from kubeai.progress import ProgressCallback

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "Failure",
    "IngestReport",
    "StoredDocument",
    "discover",
    "ingest",
    "stored_documents",
]

DEFAULT_MAX_FILE_BYTES = 32 * 1024 * 1024
"""Larger files are refused, each with a one-sentence failure (the project's ``ingest.max_file_mb``)."""

Outcome = Literal["added", "updated", "unchanged"]


@dataclass(frozen=True, kw_only=True)
class Failure:
    """A document that could not be ingested; its previously stored version, if any, is untouched."""

    source: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class IngestReport:
    """What one :func:`ingest` run did. Sources are absolute POSIX paths.

    Attributes:
        collection: The collection written to.
        added: Documents stored for the first time.
        updated: Documents whose content (or the chunking settings) changed; their old chunks were replaced.
        unchanged: Documents skipped because their stored version is current.
        deleted: Documents no longer under the ingested folders; their chunks were deleted.
        failed: Documents that could not be ingested, with the reason.
        chunks_written: Chunks embedded and stored in this run.
        chunks_deleted: Chunks of replaced or removed documents deleted in this run.
    """

    collection: str
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    failed: tuple[Failure, ...] = ()
    chunks_written: int = 0
    chunks_deleted: int = 0

    @property
    def ok(self) -> bool:
        """Whether every document was ingested."""
        return not self.failed


@dataclass(frozen=True, kw_only=True)
class StoredDocument:
    """One stored version of a document, as read back from its chunk ``0``."""

    source: str
    title: str
    version: str
    content_hash: str
    chunks: int


@dataclass
class _Tally:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    chunks_written: int = 0
    chunks_deleted: int = 0

    def report(self, collection: str) -> IngestReport:
        return IngestReport(
            collection=collection,
            added=tuple(self.added),
            updated=tuple(self.updated),
            unchanged=tuple(self.unchanged),
            deleted=tuple(self.deleted),
            failed=tuple(self.failed),
            chunks_written=self.chunks_written,
            chunks_deleted=self.chunks_deleted,
        )


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[Path], list[Failure]]:
    """Expand the paths to ingest into files.

    A folder contributes every file below it with a supported suffix (see ``SUFFIXES``), skipping hidden
    files and folders; a file is taken as given, whatever its suffix (so an unsupported one is reported).

    Args:
        paths: Files and folders.

    Returns:
        The files (resolved, deduplicated, sorted), the folders (resolved; documents stored from below them
        but no longer there are deleted), and a failure for each path that does not exist.
    """
    files: set[Path] = set()
    roots: list[Path] = []
    missing: list[Failure] = []
    for given in paths:
        path = given.expanduser().resolve()
        if path.is_dir():
            roots.append(path)
            files.update(_walk(path))
        elif path.is_file():
            files.add(path)
        else:
            missing.append(Failure(source=path.as_posix(), reason=f"{path.as_posix()} does not exist; check the path."))
    return sorted(files), roots, missing


def _walk(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            yield path


def stored_documents(kb: KnowledgeBase, collection: str) -> list[StoredDocument]:
    """Every document version stored in a collection by :func:`ingest`.

    Args:
        kb: The knowledge base.
        collection: The collection.

    Returns:
        One entry per stored version, sorted by source; a source appears twice only if a run was interrupted
        between storing a new version and deleting the old one (the next run cleans that up).
    """
    documents = []
    for hit in kb.get(collection, where={"chunk": 0}):
        meta = hit.metadata
        source, version = meta.get("source"), meta.get("version")
        if not isinstance(source, str) or not isinstance(version, str):
            continue  # not written by ingest
        chunks = meta.get("chunks", 1)
        documents.append(
            StoredDocument(
                source=source,
                title=str(meta.get("title", "")),
                version=version,
                content_hash=str(meta.get("content_hash", "")),
                chunks=chunks if isinstance(chunks, int) and not isinstance(chunks, bool) else 1,
            )
        )
    return sorted(documents, key=lambda d: (d.source, d.version))


def ingest(
    kb: KnowledgeBase,
    collection: str,
    paths: Sequence[Path],
    *,
    chunking: ChunkingConfig | None = None,
    progress: ProgressCallback | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> IngestReport:
    """Bring a collection up to date with the documents under some files and folders.

    Unchanged documents are skipped (compared by content hash and chunking settings), changed ones have their
    chunks replaced, and documents stored from below one of the given folders that are no longer there are
    deleted. Each document is all or nothing: its chunks are all embedded and stored before its old version is
    deleted. A document that fails is reported and the others go on.

    Args:
        kb: The knowledge base to write to.
        collection: The collection, e.g. ``"docs"``.
        paths: Files and folders to ingest.
        chunking: Chunk size and overlap; default :class:`ChunkingConfig`.
        progress: Told how far the run got (see :mod:`kubeai.progress`): ``("ingesting documents", done, total)``
            before each document, ``("reading NAME", 0, None)`` while one is read and chunked, and
            ``("embedding NAME", chunks embedded, chunks)``.
        max_file_bytes: A larger file fails with a one-sentence reason before it is read; the others go on.

    Returns:
        What was added, updated, left unchanged, deleted and failed.

    Raises:
        KubeAIError: The store cannot list the collection's documents (nothing was changed).
    """
    config = chunking or ChunkingConfig()
    files, roots, missing = discover(paths)
    tally = _Tally(failed=list(missing))
    stored: dict[str, list[StoredDocument]] = {}
    for document in stored_documents(kb, collection):
        stored.setdefault(document.source, []).append(document)

    for position, path in enumerate(files):
        if progress is not None:
            progress("ingesting documents", position, len(files))
        source = path.as_posix()
        try:
            _check_size(path, max_file_bytes)
            outcome = _ingest_one(
                kb,
                collection,
                path,
                versions=stored.get(source, []),
                config=config,
                tally=tally,
                progress=progress,
            )
        except KubeAIError as exc:
            tally.failed.append(Failure(source=source, reason=str(exc)))
        except Exception as exc:  # an embedder or store bug must not stop the other documents
            tally.failed.append(Failure(source=source, reason=f"{type(exc).__name__}: {exc}"))
        else:
            {"added": tally.added, "updated": tally.updated, "unchanged": tally.unchanged}[outcome].append(source)
    if progress is not None:
        progress("ingesting documents", len(files), len(files))

    present = {path.as_posix() for path in files}
    for source in sorted(stored):
        if source in present or not any(Path(source).is_relative_to(root) for root in roots):
            continue
        try:
            tally.chunks_deleted += kb.delete(collection, where={"source": source})
        except KubeAIError as exc:
            tally.failed.append(Failure(source=source, reason=str(exc)))
        else:
            tally.deleted.append(source)
    return tally.report(collection)


def _ingest_one(
    kb: KnowledgeBase,
    collection: str,
    path: Path,
    *,
    versions: list[StoredDocument],
    config: ChunkingConfig,
    tally: _Tally,
    progress: ProgressCallback | None,
) -> Outcome:
    if progress is not None:
        progress(f"reading {path.name}", 0, None)
    data = read_file(path)
    content_hash = hashlib.sha256(data).hexdigest()
    version = document_version(path.as_posix(), content_hash, config)
    if any(v.version == version for v in versions):
        _delete_versions(kb, collection, path, [v for v in versions if v.version != version], tally)
        return "unchanged"

    document = load_document(path, data=data)
    chunks = chunk_document(document, config)
    if not chunks:
        raise IngestError(
            f"{document.source} has no text to index; add content or remove the file.", path=document.source
        )
    entries = [
        Entry(
            id=chunk_id(version, chunk),
            text=entry_text(document, chunk),
            metadata=chunk_metadata(document, chunk, version=version, total=len(chunks)),
        )
        for chunk in chunks
    ]
    kb.index(collection, entries, progress=progress, what=f"embedding {path.name}")
    tally.chunks_written += len(entries)
    _delete_versions(kb, collection, path, [v for v in versions if v.version != version], tally)
    return "updated" if versions else "added"


def _check_size(path: Path, limit: int) -> None:
    """Refuse a file over the size limit before reading it."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # reading it reports why
    if size > limit:
        source = path.as_posix()
        raise IngestError(
            f"{source} is {size / 2**20:.1f} MB, over the {limit / 2**20:g} MB limit for one file "
            "(ingest.max_file_mb); split it, or raise the limit.",
            path=source,
        )


def _delete_versions(
    kb: KnowledgeBase, collection: str, path: Path, stale: list[StoredDocument], tally: _Tally
) -> None:
    if stale:
        where: Filter = {"source": path.as_posix(), "version": [v.version for v in stale]}
        tally.chunks_deleted += kb.delete(collection, where=where)
