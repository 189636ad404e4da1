"""``kubeai cs data`` on the shipped docs and logs: the files it writes and the report it prints."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app
from finetune.lora import load_examples


def test_cs_data_writes_pairs_train_and_report_and_prints_each_stage(tmp_path: Path) -> None:
    config = tmp_path / "kubeai.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "cs", "data"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "data" / "customer_service"
    report = json.loads((folder / "data_report.json").read_text("utf-8"))
    assert f"raw: {report['raw']['conversations']} conversations, {report['raw']['turns']} turns" in result.output
    assert f"kept pairs: {report['kept_pairs']}" in result.output
    assert "method: templates and logs (no teacher)" in result.output
    assert "contradicts_docs" in result.output and "decontaminated" in result.output
    assert len(load_examples(folder / "train.jsonl")) == report["kept_pairs"]
    pairs = [json.loads(line) for line in (folder / "pairs.jsonl").read_text("utf-8").splitlines()]
    assert {"question", "answer", "language", "source", "provenance"} == set(pairs[0])


def test_cs_data_names_a_missing_log_file_in_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "kubeai.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "cs", "data", "--logs", str(tmp_path / "none.jsonl")])
    assert result.exit_code != 0
    assert "Cannot read chat logs" in str(result.exception)
