"""Long ingestion reports how far it got and refuses files over the size limit, each in one sentence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from knowledge.index import KnowledgeBase
from knowledge.ingest import ChunkingConfig, ingest

Write = Callable[..., Path]
Calls = list[tuple[str, int, int | None]]


def test_ingest_reports_documents_reading_and_embedding(kb: KnowledgeBase, write: Write, tmp_path: Path) -> None:
    write("docs/a.md", "# A\n\n" + "Orders ship within two days. " * 40)
    write("docs/b.txt", "Refunds take three days.")
    calls: Calls = []
    report = ingest(
        kb,
        "docs",
        [tmp_path / "docs"],
        chunking=ChunkingConfig(size=200, overlap=0),
        progress=lambda *call: calls.append(call),
    )
    assert report.ok
    assert calls[0] == ("ingesting documents", 0, 2)
    assert calls[1] == ("reading a.md", 0, None)
    embedded = [c for c in calls if c[0] == "embedding a.md"]
    chunks = embedded[0][2]
    assert chunks is not None and chunks > 2
    assert embedded[0] == ("embedding a.md", 0, chunks) and embedded[-1] == ("embedding a.md", chunks, chunks)
    assert [c[1] for c in embedded] == sorted(c[1] for c in embedded)  # kb batch size is 2: several steps
    assert len(embedded) == 1 + -(-chunks // 2)
    assert ("ingesting documents", 1, 2) in calls and ("reading b.txt", 0, None) in calls
    assert calls[-1] == ("ingesting documents", 2, 2)


def test_a_file_over_the_limit_fails_alone_in_one_sentence(kb: KnowledgeBase, write: Write, tmp_path: Path) -> None:
    big = write("docs/big.txt", "Refunds take three days. " * 50_000)  # 1.2 MB
    write("docs/small.txt", "Refunds take three days.")
    report = ingest(kb, "docs", [tmp_path / "docs"], max_file_bytes=2**20)
    assert [Path(s).name for s in report.added] == ["small.txt"]
    (failure,) = report.failed
    assert failure.source == big.resolve().as_posix()
    assert failure.reason == (
        f"{big.resolve().as_posix()} is 1.2 MB, over the 1 MB limit for one file (ingest.max_file_mb); "
        "split it, or raise the limit."
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = tmp_path / "kubeai.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\ningest: {{max_file_mb: 0.5}}\n", encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "faq.txt").write_text("The warehouse is refreshed daily and ready by 06:00.", encoding="utf-8")
    (docs / "dump.txt").write_text("x " * 300_000, encoding="utf-8")  # 0.57 MB
    return config


def test_cli_shows_progress_lines_off_a_terminal_and_applies_the_limit(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubeai import progress

    # Every step counts as long (no delay): CliRunner's stderr is not a terminal, so progress comes as lines.
    original = progress.ProgressDisplay.__init__
    monkeypatch.setattr(
        progress.ProgressDisplay, "__init__", lambda self, stream, **kw: original(self, stream, **{**kw, "delay_s": 0})
    )
    docs = project.parent / "docs"
    result = CliRunner().invoke(app, ["--config", str(project), "knowledge", "ingest", str(docs)])
    assert result.exit_code == 1  # one file failed
    assert "ingesting documents: 0/2 (0%)" in result.stderr
    assert "embedding faq.txt: 1/1 (100%), done in" in result.stderr
    assert "ingesting documents: 2/2 (100%), done in" in result.stderr
    assert "\r" not in result.stderr
    assert "dump.txt is 0.6 MB, over the 0.5 MB limit for one file (ingest.max_file_mb)" in result.stderr
    assert "1 added" in result.stdout and "1 failed" in result.stdout

    quiet = CliRunner().invoke(
        app, ["--config", str(project), "knowledge", "ingest", str(docs), "--no-progress", "--max-file-mb", "0.25"]
    )
    assert "over the 0.25 MB limit" in quiet.stderr  # the option overrides the configured limit
    assert "ingesting documents" not in quiet.stderr
