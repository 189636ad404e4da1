"""`kubeai knowledge` end to end through Typer, with the real embedded store and the bundled e5 model."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = tmp_path / "kubeai.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refund.md").write_text(
        "# 退款政策\n\n## 退款时效\n支付宝和微信支付 1–3 个工作日到账，信用卡 3–7 个工作日。\n", encoding="utf-8"
    )
    (docs / "faq.txt").write_text("The warehouse is refreshed daily and ready by 06:00.", encoding="utf-8")
    return tmp_path


def run(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(project / "kubeai.yaml"), "knowledge", *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_ingest_stats_and_search(project: Path) -> None:
    docs = project / "docs"
    code, out, _ = run(project, "ingest", str(docs), "--no-progress")
    assert code == 0
    assert f"+ {(docs / 'refund.md').as_posix()}" in out
    assert out.strip().endswith(
        "docs: 2 added, 0 updated, 0 unchanged, 0 deleted, 0 failed (2 chunks written, 0 deleted)."
    )
    assert (project / "data" / "vectors.sqlite").is_file()

    code, out, _ = run(project, "ingest", str(docs))
    assert code == 0
    assert "0 added, 0 updated, 2 unchanged" in out

    code, out, _ = run(project, "stats")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"store: embedded at {project / 'data' / 'vectors.sqlite'}"
    assert lines[1] == "embeddings: bundled multilingual-e5-small"
    assert lines[-1].split() == ["docs", "2", "2"]

    code, out, _ = run(project, "search", "信用卡退款多久到账", "-k", "1")
    assert code == 0
    assert out.splitlines()[0].endswith(f"{(docs / 'refund.md').as_posix()} › 退款政策 > 退款时效")
    assert "信用卡 3–7 个工作日" in out

    code, out, _ = run(project, "search", "when is the warehouse ready", "-k", "2", "--alpha", "1.0")
    assert code == 0
    assert out.count("\n1. ") + out.startswith("1. ") == 1
    assert "faq.txt" in out

    code, out, _ = run(project, "search", "anything", "--collection", "empty")
    assert (code, out.strip()) == (0, "No results in collection 'empty'; add documents with `kubeai knowledge ingest`.")


def test_failures_are_reported_and_exit_1_while_others_are_ingested(project: Path) -> None:
    (project / "docs" / "bad.md").write_bytes(b"\x00\x01\x02")
    code, out, err = run(project, "ingest", str(project / "docs"), str(project / "missing"), "--collection", "kb2")
    assert code == 1
    assert "kb2: 2 added, 0 updated, 0 unchanged, 0 deleted, 2 failed" in out
    assert "bad.md is a binary file" in err
    assert "missing does not exist; check the path." in err


def test_data_dir_from_the_environment_and_removed_files(project: Path, tmp_path: Path) -> None:
    (project / "kubeai.yaml").write_text("{}\n", encoding="utf-8")
    env = {"KUBEAI_DATA_DIR": str(tmp_path / "envdata")}
    assert run(project, "ingest", str(project / "docs"), env=env)[0] == 0
    (project / "docs" / "faq.txt").unlink()
    code, out, _ = run(project, "ingest", str(project / "docs"), env=env)
    assert code == 0
    assert f"- {(project / 'docs' / 'faq.txt').as_posix()}" in out
    code, out, _ = run(project, "stats", "--collection", "docs", env=env)
    assert out.splitlines()[-1].split() == ["docs", "1", "1"]
    assert str(tmp_path / "envdata" / "vectors.sqlite") in out


def test_bad_options_are_one_sentence_errors(project: Path) -> None:
    from kubeai.errors import ConfigError

    with pytest.raises(ConfigError, match="Chunk overlap"):
        run(project, "ingest", str(project / "docs"), "--chunk-size", "100", "--overlap", "90")
