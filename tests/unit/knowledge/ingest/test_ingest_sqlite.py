"""Ingestion against the real embedded store (SQLite + sqlite-vec + FTS5), with fake but deterministic vectors."""

import shutil
from pathlib import Path

import pytest

from knowledge.demo_docs import DEMO_DOCS
from knowledge.index import KnowledgeBase
from knowledge.ingest import ingest, stored_documents
from knowledge.stores.sqlite import SQLiteVectorStore
from tests.unit.knowledge.ingest.support import FlakyEmbedding


@pytest.fixture
def sqlite_kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase(
        embeddings=FlakyEmbedding(size=16), store=SQLiteVectorStore(tmp_path / "vectors.sqlite"), batch_size=4
    )


def test_demo_documents_ingest_incrementally_into_sqlite(sqlite_kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DEMO_DOCS, docs, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with sqlite_kb as kb:
        report = ingest(kb, "docs", [docs])
        assert report.ok, report.failed
        names = sorted(Path(s).name for s in report.added)
        assert len(names) >= 8
        assert {Path(n).suffix for n in names} == {".md", ".html", ".txt"}
        assert len(stored_documents(kb, "docs")) == len(names)
        assert report.chunks_written == len(kb.get("docs"))

        hit = kb.search("docs", "七天无理由退货", k=1, alpha=0.0)[0]
        assert Path(str(hit.metadata["source"])).name == "refund_policy.md"
        hit = kb.search("docs", "live stream commission", k=1, alpha=0.0)[0]
        assert Path(str(hit.metadata["source"])).name == "channel_glossary.html"
        assert hit.metadata["heading"] == "渠道术语表 Channel Glossary > 直播 Live Stream"

        assert len(ingest(kb, "docs", [docs]).unchanged) == len(names)

        (docs / "refund_policy.md").write_text("# 退款政策\n\n签收后 10 天内可退。\n", encoding="utf-8")
        (docs / "customer_service_sla.txt").unlink()
        report = ingest(kb, "docs", [docs])
        assert [Path(s).name for s in report.updated] == ["refund_policy.md"]
        assert [Path(s).name for s in report.deleted] == ["customer_service_sla.txt"]
        refund = kb.get("docs", where={"source": (docs / "refund_policy.md").resolve().as_posix()})
        assert [h.text for h in refund] == ["退款政策\n签收后 10 天内可退。"]
        assert kb.get("docs", where={"format": "text"}) == []


def test_failed_embedding_leaves_sqlite_unchanged(sqlite_kb: KnowledgeBase, tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "faq.md"
    doc.parent.mkdir()
    doc.write_text("# FAQ\n\n## Refresh\nReady by 06:00.\n\n## Limits\nAt most 10,000 rows.\n", encoding="utf-8")
    with sqlite_kb as kb:
        ingest(kb, "docs", [doc.parent])
        before = kb.get("docs")
        doc.write_text("# FAQ\n\n## A\nOne.\n\n## B\nTwo.\n\n## C\nThree.\n\n## D\nFour.\n\n## E\nFive BOOM.\n")
        assert isinstance(kb.embeddings, FlakyEmbedding)
        kb.embeddings.fail_on = "BOOM"
        report = ingest(kb, "docs", [doc.parent])
        assert not report.ok
        assert kb.get("docs") == before
        assert kb.search("docs", "10,000 rows", k=1, alpha=0.0)[0].id == before[1].id
