"""Metadata for chunks: language guess, document version, chunk ids and the searchable entry text."""

from __future__ import annotations

import hashlib

from knowledge.ingest._chunking import Chunk, ChunkingConfig
from knowledge.ingest._document import Document
from knowledge.stores.base import MetadataValue
from kubeai.language import detect_language

__all__ = ["chunk_id", "chunk_metadata", "document_version", "entry_text"]


def document_version(source: str, content_hash: str, chunking: ChunkingConfig) -> str:
    """A digest of a document's source, content hash and chunking settings; new whenever its chunks change."""
    key = "\0".join((source, content_hash, chunking.signature))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def chunk_id(version: str, chunk: Chunk) -> str:
    """The stored id of a chunk: its document version and its position, so a new version never overwrites."""
    return f"doc:{version}:{chunk.index}"


def entry_text(document: Document, chunk: Chunk) -> str:
    """The text stored and searched for a chunk: its context line (title and heading path), then its body.

    Putting the headings into the text lets both keyword and vector search match a chunk by the section it is
    in, which its body alone often does not name.
    """
    path = chunk.headings if chunk.headings[:1] == (document.title,) else (document.title, *chunk.headings)
    context = " > ".join(path)
    if chunk.page is not None:
        context += f" (p. {chunk.page})"
    return f"{context}\n{chunk.text}"


def chunk_metadata(document: Document, chunk: Chunk, *, version: str, total: int) -> dict[str, MetadataValue]:
    """The metadata stored with a chunk.

    Keys: ``source`` (absolute path), ``title``, ``heading`` (the path joined with `` > ``), ``chunk``
    (0-based index) and ``chunks`` (count in the document), ``page`` (PDF only), ``format``, ``language``,
    ``content_hash`` (SHA-256 of the file) and ``version`` (see :func:`document_version`).
    """
    metadata: dict[str, MetadataValue] = {
        "source": document.source,
        "title": document.title,
        "heading": " > ".join(chunk.headings),
        "chunk": chunk.index,
        "chunks": total,
        "format": document.format,
        "language": detect_language(chunk.text),
        "content_hash": document.content_hash,
        "version": version,
    }
    if chunk.page is not None:
        metadata["page"] = chunk.page
    return metadata
