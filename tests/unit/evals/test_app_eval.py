"""The prompt-app harness: the page scorer, choice accuracy, and the shipped app datasets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agents.apps import AppRegistry
from evals.apps import app_eval_table, evaluate_app
from evals.dataset import load_dataset
from evals.items import AppItem
from evals.scorers.page import PageReference, page_scores
from kubeai.errors import DatasetError, ModelOutputError, ModelServerUnavailableError

DATASETS = Path(__file__).resolve().parents[3] / "evals" / "datasets"

REFERENCE = PageReference(
    components=("search", "form", "table"), fields=(("room", "会议室"), ("date", "日期"), ("topic",))
)


def spec(*components: dict[str, Any]) -> dict[str, Any]:
    return {"title": "T", "navigation": ["Home"], "sections": [{"heading": "S", "components": list(components)}]}


def comp(
    kind: str, *, fields: tuple[str, ...] = (), columns: tuple[str, ...] = (), items: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "type": kind,
        "title": "",
        "fields": [{"label": label, "type": "text"} for label in fields],
        "columns": list(columns),
        "items": list(items),
        "text": "",
    }


def test_page_scores_count_kinds_and_field_groups_in_either_language() -> None:
    page = spec(comp("form", fields=("Meeting Room", "预订日期")), comp("list", items=("topic",)))
    scores = page_scores(page, REFERENCE)
    assert scores.valid
    assert scores.component_recall == pytest.approx(1 / 3)
    assert scores.missing_components == ("search", "table")
    # "topic" as a list item is not a field or a column
    assert scores.field_recall == pytest.approx(2 / 3) and scores.missing_fields == ("topic",)
    full = page_scores(
        spec(comp("search"), comp("form", fields=("Topic",)), comp("table", columns=("Room", "Date"))), REFERENCE
    )
    assert (full.component_recall, full.field_recall) == (1.0, 1.0)


@pytest.mark.parametrize("bad", [None, {"title": "x"}, spec(comp("form", fields=("x",)) | {"type": "modal"})])
def test_an_invalid_spec_scores_zero(bad: Any) -> None:
    scores = page_scores(bad, REFERENCE)
    assert not scores.valid and scores.component_recall == 0.0 and scores.field_recall == 0.0


@dataclass(frozen=True)
class Answer:
    data: Any
    html: str | None
    latency_s: float


def scripted(answers: dict[str, Any]) -> Any:
    async def run(text: str) -> Answer:
        answer = answers[text]
        if isinstance(answer, Exception):
            raise answer
        return Answer(data=answer, html=None, latency_s=2.0)

    return run


async def test_the_choice_scorer_counts_accuracy_and_invalid_answers(tmp_path: Path) -> None:
    dataset = load_dataset(DATASETS / "ticket_router")
    items = dataset.items_of(AppItem)
    answers: dict[str, Any] = {item.input: item.reference["choice"] for item in items}
    answers[items[0].input] = "other"
    answers[items[1].input] = ModelOutputError("did not pick one")
    result = await evaluate_app(dataset, scripted(answers), scorer="choice", out_dir=tmp_path, app="ticket_router")
    overall = result.summary["all"]
    assert overall["n"] == len(items)
    assert overall["accuracy"] == pytest.approx((len(items) - 2) / len(items))
    assert overall["valid"] == pytest.approx((len(items) - 1) / len(items))
    assert json.loads((tmp_path / "items" / f"{items[1].id}.json").read_text())["error"] == "did not pick one"
    table = app_eval_table(result.summary, "choice")
    assert "| all | 16 | 94% | 88% | 2.0 |" in table and (tmp_path / "report.md").is_file()


async def test_the_page_scorer_runs_over_the_prototype_set(tmp_path: Path) -> None:
    dataset = load_dataset(DATASETS / "prototype")
    answers = {item.input: spec(comp("form", fields=("x",))) for item in dataset.items_of(AppItem)}
    result = await evaluate_app(
        dataset, scripted(answers), scorer="page", out_dir=tmp_path, app="prototype", render=False
    )
    assert result.summary["all"]["valid"] == 1.0 and 0 < result.summary["all"]["component_recall"] < 1
    assert result.summary["en"]["n"] == 6 and result.summary["zh"]["n"] == 6
    assert "clean render" in app_eval_table(result.summary, "page")


async def test_an_unreachable_server_stops_the_run(tmp_path: Path) -> None:
    dataset = load_dataset(DATASETS / "ticket_router")
    answers = {item.input: ModelServerUnavailableError("down") for item in dataset.items_of(AppItem)}
    with pytest.raises(ModelServerUnavailableError):
        await evaluate_app(dataset, scripted(answers), scorer="choice", out_dir=tmp_path, app="ticket_router")


async def test_a_reference_that_does_not_fit_the_scorer_is_refused_before_asking(tmp_path: Path) -> None:
    dataset = load_dataset(DATASETS / "ticket_router")
    with pytest.raises(DatasetError, match=r"item 'ticket-en-01' reference\.components: Field required"):
        await evaluate_app(dataset, scripted({}), scorer="page", out_dir=tmp_path, app="x")


def test_the_shipped_app_datasets_are_bilingual_and_apart_from_the_apps_examples() -> None:
    registry = AppRegistry.load()
    for name in ("prototype", "ticket_router"):
        dataset = load_dataset(DATASETS / name)
        items = dataset.items_of(AppItem)
        assert {item.language for item in items} == {"en", "zh"}
        assert sum(item.language == "zh" for item in items) == len(items) // 2
        shots = {example.input for example in registry.get(name).examples}
        assert not shots & {item.input for item in items}
    for item in load_dataset(DATASETS / "prototype").items_of(AppItem):
        PageReference.model_validate(item.reference)
    labels = set(registry.get("ticket_router").contract.choices)  # type: ignore[attr-defined]
    assert {item.reference["choice"] for item in load_dataset(DATASETS / "ticket_router").items_of(AppItem)} == labels
