"""``kubeai finetune data --from-feedback`` on a real (small) demo warehouse: counts per stage, files to train on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app
from finetune.examples import read_examples
from finetune.feedback import Correction, FeedbackDraft, FeedbackStore
from finetune.pipeline import load_data
from knowledge.catalog import demo_catalog_path, load_catalog

THIS_YEAR = {"metrics": ["gmv"], "time_range": "this_year"}


def small_catalog(folder: Path) -> Path:
    """The demo catalog's first eight metrics (defined among themselves): synthesis over 28 takes 3.5 times longer."""
    data = load_catalog(demo_catalog_path()).model_dump(mode="json", exclude_unset=True)
    data["metrics"] = data["metrics"][:8]
    names = {metric["name"] for metric in data["metrics"]}
    data["examples"] = [e for e in data["examples"] if set(e.get("metrics", [])) <= names]
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, warehouse: Path) -> Path:
    config = tmp_path / "kubeai.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "llm: {base_url: 'http://127.0.0.1:9/v1'}\n"
        f"warehouse: {{url: '{warehouse}', catalog: '{small_catalog(tmp_path)}'}}\n"
        "finetune: {per_metric: 4, held_out_fraction: 0.3}\n",
        encoding="utf-8",
    )
    store = FeedbackStore.in_data_dir(tmp_path / "data")
    for question, fields in (
        ("How many paid orders did we have this year?", {"correction": Correction(metric="order_count")}),
        ("Drop the orders table", {"correction": Correction(sql="DROP TABLE orders")}),
        ("GMV this year?", {"rating": "down"}),
    ):
        store.add(FeedbackDraft(user="ana", assistant="metrics", question=question, query=THIS_YEAR, **fields))
    return config


def test_data_from_feedback_reports_each_stage_and_writes_what_train_reads(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["--config", str(project), "finetune", "data", "--from-feedback", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "feedback: 3 stored -> 2 usable -> 1 passed gold checks -> 1 after cleaning and decontamination" in (
        result.output
    )
    assert f"kubeai finetune train --data {out}" in result.output
    data = load_data(out)
    fed = [e for e in data.train if e.source == "feedback"]
    assert [e.query for e in fed] == [{"metrics": ["order_count"], "time_range": "this_year"}]
    assert len(data.train) > len(fed)  # merged with the synthesized examples
    assert read_examples(out / "feedback" / "examples.jsonl") == fed
    report = json.loads((out / "feedback" / "report.json").read_text("utf-8"))
    assert report["failed_gold_checks"]["gate"] == 1 and report["negatives"] == 1

    alone = CliRunner().invoke(
        app, ["--config", str(project), "finetune", "data", "--from-feedback", "--feedback-only", "--out", str(out)]
    )
    assert alone.exit_code == 0, alone.output
    assert [e.source for e in load_data(out).train] == ["feedback"]


def test_feedback_only_needs_from_feedback(project: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(project), "finetune", "data", "--feedback-only"])
    assert result.exit_code != 0 and "--from-feedback" in result.output


def test_train_takes_a_data_folder() -> None:
    result = CliRunner().invoke(app, ["finetune", "train", "--help"])
    assert result.exit_code == 0 and "--data" in result.output
