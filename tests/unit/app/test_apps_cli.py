"""``kubeai app list | run | eval`` with a scripted model: one sentence for every mistake, pages written to --out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app, main
from tests.unit.fakes import scripted_client

PAGE = {
    "title": "会议室预订",
    "navigation": ["首页"],
    "sections": [
        {
            "heading": "预订",
            "components": [
                {
                    "type": "form",
                    "title": "预订",
                    "fields": [{"label": "日期", "type": "date"}],
                    "columns": [],
                    "items": [],
                    "text": "提交",
                }
            ],
        }
    ],
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "sentiment.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "sentiment",
                "description": {"en": "Sentiment of a review."},
                "chain_of_thought": True,
                "prompt": {
                    "instruction": "Judge the review.",
                    "context": "{{ input }}",
                    "output_requirements": "A label.",
                },
                "output": {"choices": ["positive", "negative"]},
            }
        ),
        encoding="utf-8",
    )
    config = tmp_path / "kubeai.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nllm: {{base_url: 'http://127.0.0.1:9/v1'}}\napps: {{dir: apps}}\n",
        encoding="utf-8",
    )
    return config


def scripted_cli(monkeypatch: pytest.MonkeyPatch, *replies: Any) -> None:
    client, _ = scripted_client(*replies, default_model="smollm2-135m")
    monkeypatch.setattr("app.cli.apps.model_client", lambda _config: client)


def run(project: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(project), *args])


def test_list_shows_bundled_and_user_apps(project: Path) -> None:
    result = run(project, "app", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["prototype"]["output"] == "schema" and rows["prototype"]["source"] == "bundled"
    assert rows["ticket_router"]["output"] == "choice"
    assert rows["sentiment"]["chain_of_thought"] and rows["sentiment"]["source"].endswith("sentiment.yaml")


def test_run_prototype_writes_the_rendered_page(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_cli(monkeypatch, PAGE)
    out = tmp_path / "site" / "page.html"
    result = run(project, "app", "run", "prototype", "一个会议室预订系统", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and '<html lang="zh-CN">' in html and "会议室预订" in html
    assert f"wrote {out}" in result.output


def test_run_keeps_the_reasoning_out_of_the_result(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_cli(monkeypatch, {"reasoning": "They loved it.", "choice": "positive"})
    plain = run(project, "app", "run", "sentiment", "Loved it")
    assert plain.exit_code == 0 and plain.output.strip() == "positive"
    scripted_cli(monkeypatch, {"reasoning": "They loved it.", "choice": "positive"})
    answer = json.loads(run(project, "app", "run", "sentiment", "Loved it", "--json").output)
    assert answer["result"] == "positive" and answer["reasoning"] == "They loved it."


def test_an_unknown_app_and_a_bad_app_file_are_one_sentence(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["kubeai", "--config", str(project), "app", "run", "nope", "x"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: There is no app 'nope'; the apps are: prototype, ticket_router, sentiment")
    assert "Traceback" not in err and err.count("\n") == 1

    (project.parent / "apps" / "broken.yaml").write_text("name: broken\ndescription: {en: x}\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["kubeai", "--config", str(project), "app", "list"])
    with pytest.raises(SystemExit):
        main()
    err = capsys.readouterr().err
    assert "broken.yaml field `prompt`: missing" in err and err.count("\n") == 1
