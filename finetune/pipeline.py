"""The fine-tuning pipeline for one catalog: data, held-out questions, a LoRA adapter and its card.

Stages, each its own function so a command can run, time and report them one by one:

1. :func:`build_data`: synthesize question -> query pairs from the catalog and its warehouse
   (:mod:`finetune.synth`), add a teacher's paraphrases when one is configured (:mod:`finetune.teacher`), clean
   them (:mod:`finetune.clean`, decontaminated against every evaluation question) and split off a held-out set
   the trainer never sees, stratified by language and intent.
2. :func:`write_held_out_dataset`: the held-out questions as a ``metrics_qa`` evaluation dataset (gold SQL
   compiled from each gold query), so the evaluation harness measures PROMPT, RAG and RAG + LoRA on them.
3. :func:`train_adapter`: the training conversations (:mod:`finetune.dataset`) and a peft LoRA run
   (:mod:`finetune.lora`) from the recipe, saved with a card that records the role, data hash, recipe and time.

The gate that decides whether the adapter replaces the current model is :func:`finetune.gate.gate_decision`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from finetune.clean import CleaningConfig, CleaningResult, clean_examples
from finetune.dataset import chat_examples, split_held_out
from finetune.examples import QueryExample, examples_hash, read_examples, write_examples
from finetune.lora import LoraTrainingConfig, TrainingReport, train_lora
from finetune.synth import SynthesisResult, gold_query_model, read_facts, synthesize
from knowledge.catalog import Catalog
from kubeai.config import FinetuneConfig, LoraRecipe, ModelCard
from kubeai.errors import TrainingError
from kubeai.files import write_text_atomic
from tools.metric_query import compile_metric_query
from tools.sql_gate import GateContext, check_sql
from tools.warehouse import SQLRunner

__all__ = [
    "DataReport",
    "TrainingData",
    "adapter_card",
    "build_data",
    "load_data",
    "lora_config",
    "train_adapter",
    "write_held_out_dataset",
]

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class DataReport:
    """What each data stage made and removed.

    Attributes:
        synthesized: Examples the catalog synthesizer kept, and what it dropped (gold that failed to compile,
            pass the gate, run or return rows).
        teacher: The teacher's paraphrases kept and rejected, or ``None`` when no teacher was used.
        cleaning: Per cleaning stage, the examples removed.
        train: Training examples.
        held_out: Held-out examples.
        data_hash: SHA-256 of the training examples, as the adapter's card records it.
    """

    synthesized: dict[str, Any]
    teacher: dict[str, Any] | None
    cleaning: dict[str, Any]
    train: int
    held_out: int
    data_hash: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class TrainingData:
    """The examples a run trains and is judged on, and the report of how they were made."""

    train: tuple[QueryExample, ...]
    held_out: tuple[QueryExample, ...]
    report: DataReport
    folder: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def build_data(
    catalog: Catalog,
    runner: SQLRunner,
    *,
    recipe: FinetuneConfig,
    eval_questions: Sequence[str],
    folder: Path | None = None,
    paraphrase: Callable[[Sequence[QueryExample]], tuple[list[QueryExample], dict[str, Any]]] | None = None,
    progress: Progress | None = None,
) -> TrainingData:
    """Synthesize, paraphrase (optional), clean and split the training data of ``catalog``.

    Args:
        catalog: The catalog.
        runner: Its warehouse, read-only.
        recipe: The ``finetune`` section of the configuration.
        eval_questions: Every evaluation question; no training question may be a near duplicate of one.
        folder: Where to write ``synthesized.jsonl``, ``train.jsonl``, ``held_out.jsonl`` and
            ``data_report.json`` (each atomically); nothing is written when ``None``.
        paraphrase: A teacher's paraphraser (:func:`finetune.teacher.paraphraser`): new examples and its counts.
        progress: Called with one line per stage.

    Raises:
        TrainingError: The warehouse refused a query, or too few examples survived to train on.
    """
    say = progress or (lambda _line: None)
    say(f"reading dimension values of {catalog.name} from the warehouse")
    facts = read_facts(catalog, runner)
    say(f"synthesizing questions for {len(catalog.metrics)} metrics in English and Chinese")
    synthesized: SynthesisResult = synthesize(
        catalog,
        facts,
        runner=runner,
        per_metric=recipe.per_metric,
        seed=recipe.seed,
        progress=lambda done, total: say(f"checked {done}/{total} gold queries on the warehouse"),
    )
    examples = list(synthesized.examples)
    teacher: dict[str, Any] | None = None
    if paraphrase is not None:
        added, teacher = paraphrase(examples)
        examples += added
    cleaned: CleaningResult = clean_examples(
        examples,
        eval_questions=eval_questions,
        config=CleaningConfig(seed=recipe.seed),
    )
    train, held_out = split_held_out(list(cleaned.kept), fraction=recipe.held_out_fraction, seed=recipe.seed)
    if len(train) < 20:
        raise TrainingError(
            f"Only {len(train)} training examples survived synthesis and cleaning; the catalog needs more metrics "
            "or dimensions with values in the warehouse."
        )
    report = DataReport(
        synthesized=synthesized.to_json(),
        teacher=teacher,
        cleaning=cleaned.to_json(),
        train=len(train),
        held_out=len(held_out),
        data_hash=examples_hash(train),
    )
    say(
        f"data: {len(synthesized.examples)} synthesized, {sum(cleaned.removed.values())} removed by cleaning, "
        f"{len(train)} to train, {len(held_out)} held out"
    )
    if folder is not None:
        write_examples(folder / "synthesized.jsonl", examples)
        write_examples(folder / "train.jsonl", train)
        write_examples(folder / "held_out.jsonl", held_out)
        write_text_atomic(folder / "data_report.json", json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    return TrainingData(train=tuple(train), held_out=tuple(held_out), report=report, folder=folder)


def load_data(folder: Path) -> TrainingData:
    """The data :func:`build_data` wrote to ``folder``.

    Raises:
        TrainingError: A file is missing or unreadable.
    """
    try:
        report = json.loads((folder / "data_report.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"Cannot read {folder / 'data_report.json'}: {exc}; run `kubeai finetune data`.") from None
    train = read_examples(folder / "train.jsonl")
    held_out = read_examples(folder / "held_out.jsonl")
    return TrainingData(train=tuple(train), held_out=tuple(held_out), report=DataReport(**report), folder=folder)


def write_held_out_dataset(
    catalog_path: Path,
    catalog: Catalog,
    runner: SQLRunner,
    examples: Sequence[QueryExample],
    folder: Path,
    *,
    warehouse: str,
    limit: int | None = None,
) -> Path:
    """Write held-out examples as a ``metrics_qa`` evaluation dataset and return its folder.

    Each answerable example's gold SQL is its gold query compiled and passed through the gate; unanswerable
    ones expect abstention. ``limit`` keeps the first examples of a language-balanced order (English and
    Chinese alternate), for a quick measurement.
    """
    gate = GateContext(
        schema=catalog.schema_mapping(), source_dialect=catalog.warehouse.dialect, target_dialect=runner.dialect
    )
    gold_model = gold_query_model(catalog)
    english = [e for e in examples if e.language == "en"]
    chinese = [e for e in examples if e.language == "zh"]
    ordered = [e for pair in zip(english, chinese, strict=False) for e in pair]
    ordered += english[len(chinese) :] + chinese[len(english) :]
    chosen = ordered[:limit] if limit is not None else ordered
    lines = []
    for number, example in enumerate(chosen, start=1):
        item: dict[str, Any] = {
            "id": f"ho-{number:03d}",
            "question": example.question,
            "language": example.language,
            "tags": [example.intent],
        }
        if example.query is None:
            item.update(gold_query=None, expect_abstention=True)
        else:
            query = gold_model.model_validate(example.query)
            item["gold_sql"] = check_sql(compile_metric_query(query, catalog).sql, gate).sql
            item["gold_query"] = example.query
            item["ordered"] = bool(example.query.get("order_by") or example.query.get("time_grain"))
        lines.append(json.dumps(item, ensure_ascii=False))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = {
        "name": f"{catalog.name}_held_out",
        "version": "1",
        "kind": "metrics_qa",
        "items": "questions.jsonl",
        "catalog": str(catalog_path.resolve()),
        "warehouse": warehouse,
        "reference_date": catalog.reference_date.isoformat(),
        "description": "Held-out synthesized questions the adapter was not trained on (kubeai onboard).",
    }
    (folder / "dataset.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), "utf-8")
    return folder


def lora_config(
    recipe: FinetuneConfig, lora: LoraRecipe | None = None, *, strict_length: bool = False
) -> LoraTrainingConfig:
    """The LoRA hyper-parameters of a recipe (of ``lora`` when given, e.g. the planning recipe's), with its seed.

    ``strict_length`` stops a run whose examples would be cut rather than train on them cut.
    """
    lora = lora or recipe.lora
    return LoraTrainingConfig(
        rank=lora.rank,
        alpha=lora.alpha,
        dropout=lora.dropout,
        target_modules=tuple(lora.target_modules),
        learning_rate=lora.learning_rate,
        epochs=lora.epochs,
        batch_size=lora.batch_size,
        max_length=lora.max_length,
        seed=recipe.seed,
        threads=lora.threads,
        top_layers=lora.top_layers,
        max_steps=lora.max_steps,
        strict_length=strict_length,
    )


def adapter_card(catalog: Catalog) -> ModelCard:
    """What a metrics adapter fine-tuned on ``catalog`` is for, for the model registry and planner."""
    return ModelCard(
        description=(
            f"LoRA adapter fine-tuned on the {catalog.name} catalog: turns a question in English or Chinese into "
            "a metric query over that catalog, or marks it unanswerable."
        ),
        skills=("metric-query",),
        languages=("en", "zh"),
    )


def train_adapter(
    catalog: Catalog,
    data: TrainingData,
    *,
    base_model_dir: Path,
    out_dir: Path,
    name: str,
    role: str,
    recipe: FinetuneConfig,
    progress: Callable[[int, int, float], None] | None = None,
    checkpoint_dir: Path | None = None,
) -> TrainingReport:
    """Train the catalog's metrics adapter on ``data.train`` and save it with its card to ``out_dir``.

    The card records the role the adapter serves, the data hash, the full recipe and the data report, so
    ``kubeai finetune train`` reproduces it from the same catalog, warehouse and recipe.
    """
    conversations = chat_examples(list(data.train), catalog, seed=recipe.seed)
    extra = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "role": role,
        "catalog": catalog.name,
        "data_hash": data.report.data_hash,
        "recipe": recipe.model_dump(mode="json"),
        "data": data.report.to_json(),
    }
    return train_lora(
        base_model_dir,
        conversations,
        out_dir,
        name=name,
        card=adapter_card(catalog),
        config=lora_config(recipe),
        progress=progress,
        card_extra=extra,
        checkpoint_dir=checkpoint_dir,
    )
