"""Test doubles and helpers for the ingestion tests: an in-memory VectorStore and embedders built on LangChain's fakes.

The store implements the real :class:`~knowledge.stores.base.VectorStore` protocol (atomic upsert, filters with
equality and membership, hybrid search) so the pipeline runs through the real :class:`KnowledgeBase`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from langchain_core.embeddings import DeterministicFakeEmbedding

from knowledge.stores.base import Filter, Hit, MetadataValue, Record
from kubeai.errors import VectorStoreError

_WORDS = re.compile(r"[A-Za-z0-9]+|[\u4e00-\u9fff]")


def _matches(metadata: Mapping[str, MetadataValue], where: Filter | None) -> bool:
    for key, wanted in (where or {}).items():
        allowed = list(wanted) if isinstance(wanted, Sequence) and not isinstance(wanted, str) else [wanted]
        if key not in metadata or metadata[key] not in allowed:
            return False
    return True


class MemoryStore:
    """An in-memory VectorStore: dict of collections, cosine + word-overlap hybrid search."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, Record]] = {}
        self.fail_next_delete = False
        self.upserts = 0

    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        self.upserts += 1
        target = self.collections.setdefault(collection, {})
        target.update({r.id: r for r in records})

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> int:
        if self.fail_next_delete:
            self.fail_next_delete = False
            raise VectorStoreError("The store went away during delete.")
        records = self.collections.get(collection, {})
        doomed = [i for i, r in records.items() if (ids is None or i in ids) and _matches(r.metadata, where)]
        for record_id in doomed:
            del records[record_id]
        return len(doomed)

    def get(self, collection: str, *, ids: Sequence[str] | None = None, where: Filter | None = None) -> list[Hit]:
        records = self.collections.get(collection, {}).values()
        return [
            Hit(id=r.id, text=r.text, score=0.0, metadata=dict(r.metadata))
            for r in records
            if (ids is None or r.id in ids) and _matches(r.metadata, where)
        ]

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
        query_words = set(_WORDS.findall(text.lower()))
        scored = []
        for record in self.collections.get(collection, {}).values():
            if not _matches(record.metadata, where):
                continue
            words = set(_WORDS.findall(record.text.lower()))
            keyword = len(query_words & words) / max(1, len(query_words))
            score = alpha * _cosine(vector, record.vector) + (1 - alpha) * keyword
            scored.append(Hit(id=record.id, text=record.text, score=score, metadata=dict(record.metadata)))
        return sorted(scored, key=lambda h: -h.score)[:k]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(x * x for x in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


class FlakyEmbedding(DeterministicFakeEmbedding):
    """Deterministic fake vectors; raises when asked to embed a text containing ``fail_on``, and counts texts."""

    fail_on: str | None = None
    embedded: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.fail_on is not None and any(self.fail_on in t for t in texts):
            raise RuntimeError("embedding server crashed")
        self.embedded += len(texts)
        return super().embed_documents(texts)


def make_pdf(pages: Sequence[str], *, title: str | None = None) -> bytes:
    """A minimal valid PDF with one Helvetica text line per page (ASCII text), built by hand."""
    objects: list[bytes] = []
    kids = []
    first_page = 4
    for number, text in enumerate(pages):
        page_id = first_page + 2 * number
        kids.append(f"{page_id} 0 R")
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_id + 1} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = head + objects
    info_id = None
    if title is not None:
        body.append(f"<< /Title ({title}) >>".encode("latin-1"))
        info_id = len(body)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(body, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    info = f" /Info {info_id} 0 R" if info_id else ""
    out += f"trailer\n<< /Size {len(body) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
