"""The data stages of the fine-tuning pipeline on a real (small) demo warehouse, the recipe, and the batch plan."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.dataset import eval_questions, load_dataset
from evals.items import MetricsQAItem
from finetune.examples import QueryExample, examples_hash, read_examples
from finetune.lora import LoraTrainingConfig, batch_plan
from finetune.pipeline import TrainingData, build_data, load_data, lora_config, write_held_out_dataset
from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import FinetuneConfig
from kubeai.errors import TrainingError
from tools.warehouse import SQLRunner, open_runner

EVAL_DATASETS = Path(__file__).resolve().parents[3] / "evals" / "datasets"
# The recipe's smallest draft count; a large held-out share so that every intent, abstentions included, is held out.
RECIPE = FinetuneConfig(per_metric=4, held_out_fraction=0.3)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The demo catalog's first eight metrics (gmv .. arppu, defined among themselves) on its warehouse.

    The stages are what is tested here; synthesis over whole catalogs is test_synth's, and takes four times as
    long.
    """
    data = load_catalog(demo_catalog_path()).model_dump(mode="json", exclude_unset=True)
    data["metrics"] = data["metrics"][:8]
    return Catalog.model_validate(data)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLRunner]:
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=20_000, seed=7)
    opened = open_runner(str(path))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def built(catalog: Catalog, runner: SQLRunner, folder: Path) -> tuple[TrainingData, list[str]]:
    lines: list[str] = []
    data = build_data(
        catalog,
        runner,
        recipe=RECIPE,
        eval_questions=eval_questions(EVAL_DATASETS),
        folder=folder,
        progress=lines.append,
    )
    return data, lines


def key(example: QueryExample) -> str:
    return json.dumps(example.to_json(), ensure_ascii=False, sort_keys=True)


# --- build_data / load_data ---------------------------------------------------------------------------------------


def test_build_data_writes_every_file_and_reports_each_stage(
    built: tuple[TrainingData, list[str]], folder: Path
) -> None:
    data, lines = built
    assert {p.name for p in folder.iterdir()} >= {
        "synthesized.jsonl",
        "train.jsonl",
        "held_out.jsonl",
        "data_report.json",
    }
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    report = json.loads((folder / "data_report.json").read_text("utf-8"))
    assert report == data.report.to_json()
    assert report["train"] == len(data.train) and report["held_out"] == len(data.held_out)
    assert report["synthesized"]["examples"] == len(read_examples(folder / "synthesized.jsonl"))
    assert report["teacher"] is None
    assert report["cleaning"]["input_count"] == report["synthesized"]["examples"]
    assert report["cleaning"]["kept_count"] == len(data.train) + len(data.held_out)
    assert any("synthesizing" in line for line in lines) and any(line.startswith("data:") for line in lines)


def test_train_and_held_out_are_disjoint_and_the_hash_is_the_trains(built: tuple[TrainingData, list[str]]) -> None:
    data, _ = built
    assert len(data.train) >= 20 and data.held_out
    assert not {key(e) for e in data.train} & {key(e) for e in data.held_out}
    assert not {e.question for e in data.train} & {e.question for e in data.held_out}
    assert data.report.data_hash == examples_hash(data.train)
    assert {e.language for e in data.held_out} == {"en", "zh"}
    assert any(e.abstains for e in data.held_out)


def test_training_questions_stay_clear_of_evaluation_questions(built: tuple[TrainingData, list[str]]) -> None:
    data, _ = built
    asked = {q.strip().casefold() for q in eval_questions(EVAL_DATASETS)}
    assert not [e.question for e in (*data.train, *data.held_out) if e.question.strip().casefold() in asked]


def test_load_data_round_trips(built: tuple[TrainingData, list[str]], folder: Path) -> None:
    data, _ = built
    loaded = load_data(folder)
    assert loaded.train == data.train
    assert loaded.held_out == data.held_out
    assert loaded.report == data.report
    assert loaded.folder == folder


def test_load_data_from_an_empty_folder_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="kubeai finetune data"):
        load_data(tmp_path)


# --- write_held_out_dataset ---------------------------------------------------------------------------------------


def test_held_out_questions_become_a_metrics_qa_dataset(
    built: tuple[TrainingData, list[str]], catalog: Catalog, runner: SQLRunner, tmp_path: Path
) -> None:
    data, _ = built
    out = write_held_out_dataset(
        demo_catalog_path(), catalog, runner, data.held_out, tmp_path / "held_out", warehouse="demo"
    )
    dataset = load_dataset(out)
    assert dataset.manifest.kind == "metrics_qa"
    assert dataset.manifest.name == f"{catalog.name}_held_out"
    assert dataset.catalog_path() == demo_catalog_path().resolve()
    items = dataset.items_of(MetricsQAItem)
    assert len(items) == len(data.held_out)
    by_question = {e.question: e for e in data.held_out}
    for item in items:
        example = by_question[item.question]
        assert item.language == example.language and item.tags == (example.intent,)
        if example.query is None:
            assert item.expect_abstention and item.gold_sql is None and item.gold_query is None
        else:
            assert not item.expect_abstention
            assert item.gold_sql is not None and item.gold_sql.upper().startswith(("SELECT", "WITH"))
            assert item.gold_query is not None
            gold = runner.run(item.gold_sql, max_rows=10, timeout_s=30.0)
            assert not gold.frame.empty


def test_held_out_dataset_alternates_languages_within_its_limit(
    built: tuple[TrainingData, list[str]], catalog: Catalog, runner: SQLRunner, tmp_path: Path
) -> None:
    data, _ = built
    out = write_held_out_dataset(
        demo_catalog_path(), catalog, runner, data.held_out, tmp_path / "quick", warehouse="demo", limit=6
    )
    items = load_dataset(out).items_of(MetricsQAItem)
    assert [i.language for i in items] == ["en", "zh"] * 3
    assert [i.id for i in items] == [f"ho-{n:03d}" for n in range(1, 7)]
    english = [e.question for e in data.held_out if e.language == "en"][:3]
    assert [i.question for i in items if i.language == "en"] == english


def test_held_out_golds_may_name_the_catalogs_own_periods(catalog: Catalog, runner: SQLRunner, tmp_path: Path) -> None:
    second_quarter = QueryExample(
        question="GMV in Q2?", language="en", query={"metrics": ["gmv"], "time_range": "q2"}, intent="total"
    )
    out = write_held_out_dataset(demo_catalog_path(), catalog, runner, [second_quarter], tmp_path, warehouse="demo")
    [item] = load_dataset(out).items_of(MetricsQAItem)
    assert item.gold_query is not None and item.gold_query.model_dump(mode="json")["time_range"] == "q2"
    assert item.gold_sql is not None and "2025-04-01" in item.gold_sql


# --- the recipe and the batch plan --------------------------------------------------------------------------------


def test_lora_config_maps_the_recipe() -> None:
    recipe = FinetuneConfig.model_validate(
        {
            "seed": 3,
            "lora": {
                "rank": 8,
                "alpha": 16,
                "dropout": 0.1,
                "target_modules": ["q_proj", "v_proj"],
                "learning_rate": 1e-3,
                "epochs": 2,
                "batch_size": 4,
                "max_length": 128,
                "top_layers": 2,
                "max_steps": 10,
                "threads": 2,
            },
        }
    )
    assert lora_config(recipe) == LoraTrainingConfig(
        rank=8,
        alpha=16,
        dropout=0.1,
        target_modules=("q_proj", "v_proj"),
        learning_rate=1e-3,
        epochs=2,
        batch_size=4,
        max_length=128,
        seed=3,
        threads=2,
        top_layers=2,
        max_steps=10,
    )
    default = lora_config(FinetuneConfig())
    assert (default.rank, default.top_layers, default.max_steps) == (16, None, 60)


@pytest.mark.parametrize(
    ("field", "value"),
    [("top_layers", 0), ("max_steps", 0), ("rank", 12), ("batch_size", 0), ("dropout", 1.0), ("target_modules", ())],
)
def test_lora_training_config_names_the_invalid_field(field: str, value: object) -> None:
    with pytest.raises(TrainingError, match=f"`{field}`"):
        LoraTrainingConfig(**{field: value})  # type: ignore[arg-type]


def test_top_layers_and_max_steps_may_be_left_open() -> None:
    config = LoraTrainingConfig(top_layers=None, max_steps=None)
    assert config.top_layers is None and config.max_steps is None


LENGTHS = [37, 5, 80, 12, 12, 64, 9, 51, 23, 70, 18, 44, 12, 3, 99, 27, 61, 8, 40, 33, 15]


def test_batch_plan_covers_every_example_once_per_epoch_in_length_sorted_batches() -> None:
    plan = batch_plan(LENGTHS, batch_size=4, epochs=3, seed=7)
    per_epoch = -(-len(LENGTHS) // 4)
    assert len(plan) == 3 * per_epoch
    for epoch in range(3):
        batches = plan[epoch * per_epoch : (epoch + 1) * per_epoch]
        assert sorted(i for batch in batches for i in batch) == list(range(len(LENGTHS)))
        assert sorted(len(b) for b in batches) == [1] + [4] * (per_epoch - 1)
        # Batches are cut from the length-sorted order: their length ranges never interleave.
        spans = sorted((min(LENGTHS[i] for i in b), max(LENGTHS[i] for i in b)) for b in batches)
        assert all(high <= next_low for (_, high), (next_low, _) in itertools.pairwise(spans))
    epochs = [plan[e * per_epoch : (e + 1) * per_epoch] for e in range(3)]
    assert epochs[0] != epochs[1]  # a new order every epoch
    assert epochs[0] != sorted(epochs[0], key=lambda b: min(LENGTHS[i] for i in b))  # not shortest first


def test_batch_plan_is_deterministic_by_seed() -> None:
    assert batch_plan(LENGTHS, batch_size=4, epochs=2, seed=7) == batch_plan(LENGTHS, batch_size=4, epochs=2, seed=7)
    assert batch_plan(LENGTHS, batch_size=4, epochs=2, seed=7) != batch_plan(LENGTHS, batch_size=4, epochs=2, seed=8)
