"""Document ingestion for RAG: load files, cut them into chunks, and keep a collection in step with them.

Pipeline, each step a small pure function testable alone::

    bytes --decode_bytes--> text --parse_markdown/parse_html/parse_text/parse_pdf--> Document(sections)
          --split_sentences/pack_sentences (chunk_document)--> Chunks --entry_text/chunk_metadata--> Entries

:func:`ingest` runs it over files and folders incrementally (by content hash) and atomically per document.
"""

from knowledge.ingest._chunking import (
    Chunk,
    ChunkingConfig,
    chunk_document,
    pack_sentences,
    split_long,
    split_sentences,
)
from knowledge.ingest._decode import decode_bytes
from knowledge.ingest._document import Document, DocumentFormat, Section
from knowledge.ingest._loaders import (
    SUFFIXES,
    load_document,
    parse_html,
    parse_markdown,
    parse_pdf,
    parse_text,
)
from knowledge.ingest._metadata import chunk_metadata, entry_text
from knowledge.ingest._pipeline import (
    Failure,
    IngestReport,
    StoredDocument,
    discover,
    ingest,
    stored_documents,
)

__all__ = [
    "SUFFIXES",
    "Chunk",
    "ChunkingConfig",
    "Document",
    "DocumentFormat",
    "Failure",
    "IngestReport",
    "Section",
    "StoredDocument",
    "chunk_document",
    "chunk_metadata",
    "decode_bytes",
    "discover",
    "entry_text",
    "ingest",
    "load_document",
    "pack_sentences",
    "parse_html",
    "parse_markdown",
    "parse_pdf",
    "parse_text",
    "split_long",
    "split_sentences",
    "stored_documents",
]
