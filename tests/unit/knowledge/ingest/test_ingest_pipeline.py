from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.index import KnowledgeBase
from knowledge.ingest import ChunkingConfig, discover, ingest, stored_documents
from tests.unit.knowledge.ingest.support import FlakyEmbedding, MemoryStore

Write = Callable[..., Path]

REFUND = (
    "# 退款政策\n\n## 无理由退货\n签收后 7 天内可退。\n\n## 退款时效\n支付宝 1–3 个工作日到账。信用卡 3–7 个工作日。\n"
)
FAQ = "# Warehouse FAQ\n\n## Refresh\nThe warehouse is ready by 06:00 Beijing time.\n"


@pytest.fixture
def docs(write: Write, tmp_path: Path) -> Path:
    write("docs/refund.md", REFUND)
    write("docs/faq.md", FAQ)
    write("docs/sub/sla.txt", "在线客服首次响应不超过 30 秒。", "gb18030")
    write("docs/.hidden/secret.md", "# hidden")
    write("docs/.draft.md", "# draft")
    write("docs/image.png", b"\x89PNG\x00")
    return tmp_path / "docs"


def sources(kb: KnowledgeBase) -> dict[str, int]:
    counts: dict[str, int] = {}
    for hit in kb.get("docs"):
        name = Path(str(hit.metadata["source"])).name
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_discover_walks_folders_skipping_hidden_and_unsupported(docs: Path, tmp_path: Path) -> None:
    files, roots, missing = discover([docs, docs / "faq.md", tmp_path / "nope"])
    assert [f.relative_to(docs).as_posix() for f in files] == ["faq.md", "refund.md", "sub/sla.txt"]
    assert roots == [docs.resolve()]
    assert [m.reason for m in missing] == [
        f"{(tmp_path / 'nope').resolve().as_posix()} does not exist; check the path."
    ]


def test_first_ingest_adds_every_document_with_metadata(kb: KnowledgeBase, docs: Path) -> None:
    report = ingest(kb, "docs", [docs])
    assert report.ok
    assert sorted(Path(s).name for s in report.added) == ["faq.md", "refund.md", "sla.txt"]
    assert report.updated == report.unchanged == report.deleted == ()
    assert report.chunks_written == len(kb.get("docs")) == 4  # the bare "# 退款政策" heading has no text
    chunk = next(h for h in kb.get("docs") if "信用卡" in h.text)
    meta = chunk.metadata
    assert meta["source"] == (docs / "refund.md").resolve().as_posix()
    assert (meta["title"], meta["heading"], meta["format"], meta["language"]) == (
        "退款政策",
        "退款政策 > 退款时效",
        "markdown",
        "zh",
    )
    assert (meta["chunk"], meta["chunks"]) == (1, 2)
    assert len(str(meta["content_hash"])) == 64
    assert chunk.text.startswith("退款政策 > 退款时效\n")
    sla = next(h for h in kb.get("docs") if str(h.metadata["source"]).endswith("sla.txt"))
    assert sla.text == "sla\n在线客服首次响应不超过 30 秒。"
    assert next(h for h in kb.get("docs") if "06:00" in h.text).metadata["language"] == "en"


def test_unchanged_documents_are_skipped_without_embedding(
    kb: KnowledgeBase, docs: Path, embedder: FlakyEmbedding, store: MemoryStore
) -> None:
    ingest(kb, "docs", [docs])
    embedded, upserts, before = embedder.embedded, store.upserts, kb.get("docs")
    report = ingest(kb, "docs", [docs])
    assert len(report.unchanged) == 3
    assert not (report.added)
    assert not (report.updated)
    assert not (report.deleted)
    assert (embedder.embedded, store.upserts, report.chunks_written) == (embedded, upserts, 0)
    assert kb.get("docs") == before


def test_changed_document_has_its_chunks_replaced(kb: KnowledgeBase, docs: Path) -> None:
    ingest(kb, "docs", [docs])
    (docs / "refund.md").write_text("# 退款政策\n\n新规：签收后 15 天内可退。\n", encoding="utf-8")
    report = ingest(kb, "docs", [docs])
    assert [Path(s).name for s in report.updated] == ["refund.md"]
    assert len(report.unchanged) == 2
    assert (report.chunks_written, report.chunks_deleted) == (1, 2)
    refund = [h for h in kb.get("docs") if str(h.metadata["source"]).endswith("refund.md")]
    assert [h.text for h in refund] == ["退款政策\n新规：签收后 15 天内可退。"]
    assert [d.chunks for d in stored_documents(kb, "docs") if d.source.endswith("refund.md")] == [1]


def test_changed_chunking_settings_reingest_everything(kb: KnowledgeBase, docs: Path) -> None:
    ingest(kb, "docs", [docs])
    report = ingest(kb, "docs", [docs], chunking=ChunkingConfig(size=300, overlap=0))
    assert len(report.updated) == 3
    assert len(stored_documents(kb, "docs")) == 3


def test_removed_documents_are_deleted_only_under_the_ingested_roots(
    kb: KnowledgeBase, docs: Path, write: Write, tmp_path: Path
) -> None:
    other = write("other/note.md", "# Note\nKeep me.")
    single = write("single.md", "# Single\nAlone.")
    ingest(kb, "docs", [docs, other.parent, single])
    (docs / "faq.md").unlink()
    other.unlink()
    single.unlink()
    report = ingest(kb, "docs", [docs])
    assert [Path(s).name for s in report.deleted] == ["faq.md"]
    assert report.chunks_deleted == 1
    assert sources(kb) == {"refund.md": 2, "sla.txt": 1, "note.md": 1, "single.md": 1}
    report = ingest(kb, "docs", [tmp_path / "other"])
    assert [Path(s).name for s in report.deleted] == ["note.md"]
    report = ingest(kb, "docs", [single])
    assert not report.ok
    assert report.deleted == ()
    assert "single.md" in sources(kb)


def test_one_bad_file_fails_alone(kb: KnowledgeBase, docs: Path, write: Write) -> None:
    write("docs/broken.md", b"\x00\x01binary")
    write("docs/latin.txt", "naïve café".encode("latin-1"))
    write("docs/empty.html", b"")
    report = ingest(kb, "docs", [docs])
    assert not report.ok
    assert len(report.added) == 3
    reasons = {Path(f.source).name: f.reason for f in report.failed}
    assert set(reasons) == {"broken.md", "latin.txt", "empty.html"}
    assert "binary file" in reasons["broken.md"]
    assert reasons["latin.txt"].endswith("is not text in a known encoding (tried UTF-8, GB18030).")
    assert "is empty" in reasons["empty.html"]


def test_a_file_that_turns_bad_keeps_its_previous_version(kb: KnowledgeBase, docs: Path) -> None:
    ingest(kb, "docs", [docs])
    (docs / "faq.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    report = ingest(kb, "docs", [docs])
    assert [Path(f.source).name for f in report.failed] == ["faq.md"]
    assert report.deleted == ()
    assert kb.search("docs", "warehouse ready 06:00", k=1, alpha=0.0)[0].metadata["source"] == (
        (docs / "faq.md").resolve().as_posix()
    )


def test_embedder_failing_mid_document_leaves_the_old_version_intact_and_searchable(
    kb: KnowledgeBase, docs: Path, embedder: FlakyEmbedding
) -> None:
    ingest(kb, "docs", [docs])
    old = {h.id: h.text for h in kb.get("docs") if str(h.metadata["source"]).endswith("refund.md")}
    new = "# 退款政策\n\n## A\n第一段。\n\n## B\n第二段。\n\n## C\n第三段 BOOM。\n"
    (docs / "refund.md").write_text(new, encoding="utf-8")
    embedder.fail_on = "BOOM"  # batch_size is 2: the first batch embeds, the second fails
    report = ingest(kb, "docs", [docs])
    assert [Path(f.source).name for f in report.failed] == ["refund.md"]
    assert report.failed[0].reason == "RuntimeError: embedding server crashed"
    assert len(report.unchanged) == 2
    after = {h.id: h.text for h in kb.get("docs") if str(h.metadata["source"]).endswith("refund.md")}
    assert after == old
    hit = kb.search("docs", "信用卡 工作日", k=1, alpha=0.0)[0]
    assert hit.id in old
    embedder.fail_on = None
    report = ingest(kb, "docs", [docs])
    assert [Path(s).name for s in report.updated] == ["refund.md"]
    assert not set(old) & {h.id for h in kb.get("docs")}


def test_interrupted_replacement_is_cleaned_up_on_the_next_run(
    kb: KnowledgeBase, docs: Path, store: MemoryStore
) -> None:
    ingest(kb, "docs", [docs])
    (docs / "faq.md").write_text("# Warehouse FAQ\n\nNew answer.\n", encoding="utf-8")
    store.fail_next_delete = True  # the new version is stored, deleting the old one fails
    report = ingest(kb, "docs", [docs])
    assert [Path(f.source).name for f in report.failed] == ["faq.md"]
    assert "went away" in report.failed[0].reason
    versions = [d for d in stored_documents(kb, "docs") if d.source.endswith("faq.md")]
    assert len(versions) == 2  # both complete: nothing half-written
    report = ingest(kb, "docs", [docs])
    assert report.ok
    assert len(report.unchanged) == 3
    assert [d.chunks for d in stored_documents(kb, "docs") if d.source.endswith("faq.md")] == [1]
    assert [h.text for h in kb.get("docs") if str(h.metadata["source"]).endswith("faq.md")] == [
        "Warehouse FAQ\nNew answer."
    ]


def test_collections_are_independent(kb: KnowledgeBase, docs: Path) -> None:
    ingest(kb, "docs", [docs])
    report = ingest(kb, "handbook", [docs / "faq.md"])
    assert len(report.added) == 1
    assert len(stored_documents(kb, "docs")) == 3
    assert [Path(d.source).name for d in stored_documents(kb, "handbook")] == ["faq.md"]
