"""Take a warehouse through the method and measure each step: PROMPT -> RAG -> RAG + LoRA.

:func:`onboard` is ``kubeai onboard`` and, without the PROMPT step, ``kubeai finetune train``:

1. build the training data from the catalog and warehouse (``finetune.pipeline.build_data``) and write the
   held-out questions as an evaluation dataset;
2. measure the base model on them: the whole catalog in the prompt (PROMPT) and retrieved definitions (RAG);
3. train the catalog's metrics adapter, load it into the running server, measure RAG + LoRA;
4. gate: the adapter is promoted (routed for ``metrics:<catalog>``) only if it beats the model it replaces;
5. write ``report.json`` and a self-contained ``report.html``.

Every step's figures come from the evaluation harness on the same held-out questions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.metrics import metrics_role
from app.eval_agents import EVAL_AGENTS
from app.runtime import adapter_store, prepare_models
from evals.dataset import eval_questions
from evals.runfile import RunFile
from evals.runner import run_evaluation
from finetune.gate import GateDecision, StepScore, gate_decision, step_score
from finetune.pipeline import TrainingData, build_data, load_data, train_adapter, write_held_out_dataset
from knowledge.catalog import Catalog, load_catalog
from kubeai.config import ProjectConfig
from kubeai.errors import TrainingError
from kubeai.files import write_text_atomic
from serving.adapters import activate
from serving.client import ModelClient
from serving.registry import ADAPTER_CARD_FILE
from tools.warehouse import open_runner

__all__ = ["STEPS", "OnboardingReport", "onboard", "training_steps", "update_card"]

STEPS: dict[str, str] = {"prompt": "structured", "rag": "rag", "rag_lora": "rag_lora"}
"""The method's steps and the evaluation strategy that measures each."""
STEP_LABELS = {"prompt": "PROMPT", "rag": "RAG", "rag_lora": "RAG + LoRA"}
EVAL_DATASETS = Path(__file__).resolve().parent.parent / "evals" / "datasets"

Progress = Callable[[str], None]


@dataclass(kw_only=True)
class OnboardingReport:
    """What an onboarding run measured and decided.

    Attributes:
        catalog: The catalog's name.
        adapter: The trained adapter's name (empty when training did not happen).
        steps: Each measured step's score on the held-out questions, in method order.
        gate: The gate's decision.
        promoted: Whether the adapter now serves the catalog's questions.
        data: The data report (examples made, removed by each stage).
        training: Steps, loss and seconds of the LoRA run.
        timings: Wall seconds per stage and in total.
        teacher: The teacher model used, or ``None`` (the catalog synthesizer alone).
    """

    catalog: str
    adapter: str = ""
    steps: dict[str, StepScore] = field(default_factory=dict)
    gate: GateDecision | None = None
    promoted: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    teacher: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data: ``report.json``."""
        return {
            "catalog": self.catalog,
            "adapter": self.adapter,
            "teacher": self.teacher,
            "steps": {name: score.to_json() for name, score in self.steps.items()},
            "gate": self.gate.to_json() if self.gate else None,
            "promoted": self.promoted,
            "data": self.data,
            "training": self.training,
            "timings": self.timings,
        }

    def table(self) -> str:
        """The PROMPT -> RAG -> RAG + LoRA table as plain text."""
        lines = [f"{'step':<12} {'accuracy':>9} {'EN':>7} {'ZH':>7} {'false abst.':>11} {'p50 s':>7}"]
        for name, score in self.steps.items():
            lines.append(
                f"{STEP_LABELS.get(name, name):<12} {score.accuracy:>9.1%} {_pct(score.en):>7} {_pct(score.zh):>7} "
                f"{score.false_abstentions:>11} {score.p50_latency_s or 0:>7.1f}"
            )
        return "\n".join(lines)


def onboard(
    config: ProjectConfig,
    *,
    catalog_path: Path,
    db_url: str,
    client: ModelClient,
    report_dir: Path,
    steps: Sequence[str] = ("prompt", "rag", "rag_lora"),
    progress: Progress | None = None,
    data_folder: Path | None = None,
) -> OnboardingReport:
    """Run the method on one catalog and warehouse; see the module docstring.

    Args:
        config: The project configuration (``finetune`` holds the recipe).
        catalog_path: The catalog file.
        db_url: The warehouse.
        client: A client of the running model server (adapters are hot-loaded into it).
        report_dir: Where ``report.json``, ``report.html``, the data and the held-out dataset go.
        steps: The base-model steps to measure besides RAG + LoRA (``prompt``, ``rag``).
        progress: Called with one line per stage.
        data_folder: Train on the data ``kubeai finetune data`` wrote there (with feedback, say) instead of
            building it again.

    Raises:
        KubeAIError: A stage failed; nothing is promoted and the routes are unchanged.
    """
    say = progress or (lambda _line: None)
    began = time.perf_counter()
    catalog = load_catalog(catalog_path)
    report = OnboardingReport(catalog=catalog.name)
    recipe = config.finetune
    report.teacher = recipe.teacher.model if recipe.teacher else None
    agent_config = config.model_copy(
        update={"warehouse": config.warehouse.model_copy(update={"catalog": catalog_path, "url": db_url})}
    )
    stage = time.perf_counter()
    data, held_out = _prepare_data(
        config, catalog_path, catalog, db_url, report_dir, progress=say, data_folder=data_folder
    )
    report.data = data.report.to_json()
    report.timings["data_s"] = round(time.perf_counter() - stage, 1)

    for step in [s for s in steps if s != "rag_lora"]:
        stage = time.perf_counter()
        say(f"measuring {STEP_LABELS[step]} on {_count(held_out)} held-out questions")
        report.steps[step] = _measure(agent_config, client, held_out, step, report_dir, adapter="none")
        report.timings[f"{step}_s"] = round(time.perf_counter() - stage, 1)

    stage = time.perf_counter()
    name = f"{catalog.name.replace('_', '-')}-metrics-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    adapters = config.data_dir / "adapters"
    trained = _train(config, catalog, data, name=name, out_dir=adapters / name, progress=say)
    report.adapter = name
    report.training = trained
    report.timings["train_s"] = round(time.perf_counter() - stage, 1)

    stage = time.perf_counter()
    asyncio.run(client.load_adapter(name, (adapters / name).resolve()))
    say(f"measuring {STEP_LABELS['rag_lora']} with {name}")
    report.steps["rag_lora"] = _measure(agent_config, client, held_out, "rag_lora", report_dir, adapter=name)
    report.timings["rag_lora_s"] = round(time.perf_counter() - stage, 1)

    _gate_and_promote(
        agent_config, report, catalog, client=client, held_out=held_out, report_dir=report_dir, progress=say
    )
    report.timings["total_s"] = round(time.perf_counter() - began, 1)
    _write_reports(report, report_dir)
    return report


def _prepare_data(
    config: ProjectConfig,
    catalog_path: Path,
    catalog: Catalog,
    db_url: str,
    report_dir: Path,
    *,
    progress: Progress,
    data_folder: Path | None = None,
) -> tuple[TrainingData, Path]:
    """Build the training data (or read it from ``data_folder``) and write the held-out questions as a dataset."""
    recipe = config.finetune
    runner = open_runner(db_url, base_dir=catalog_path.resolve().parent)
    try:
        paraphrase = None
        if recipe.teacher is not None:
            from finetune.teacher import paraphraser

            paraphrase = paraphraser(
                recipe.teacher,
                catalog,
                seed=recipe.seed,
                progress=lambda done, total: progress(f"teacher paraphrased {done}/{total} questions"),
            )
        if data_folder is not None:
            progress(f"reading the training data in {data_folder}")
            data = load_data(data_folder)
        else:
            data = build_data(
                catalog,
                runner,
                recipe=recipe,
                eval_questions=eval_questions(EVAL_DATASETS),
                folder=report_dir / "data",
                paraphrase=paraphrase,
                progress=progress,
            )
        held_out = write_held_out_dataset(
            catalog_path,
            catalog,
            runner,
            data.held_out,
            report_dir / "held_out",
            warehouse=db_url,
            limit=recipe.eval_questions,
        )
    finally:
        runner.close()
    return data, held_out


def _gate_and_promote(
    agent_config: ProjectConfig,
    report: OnboardingReport,
    catalog: Catalog,
    *,
    client: ModelClient,
    held_out: Path,
    report_dir: Path,
    progress: Progress,
) -> None:
    """Compare the new adapter with the model it replaces; record the decision in its card; promote on a pass."""
    config = agent_config
    store = adapter_store(config)
    role = metrics_role(catalog)
    current = store.active(role)
    incumbent = report.steps.get("rag")
    if current is not None:
        progress(f"measuring the current adapter {current.name} on the same questions")
        incumbent = _measure(agent_config, client, held_out, "rag_lora", report_dir, adapter=current.name)
    elif incumbent is None:
        incumbent = _measure(agent_config, client, held_out, "rag", report_dir, adapter="none")
    recipe = config.finetune
    report.gate = gate_decision(
        report.steps["rag_lora"],
        incumbent,
        margin=recipe.gate_margin,
        max_false_abstentions=recipe.max_false_abstentions,
    )
    adapter_dir = config.data_dir / "adapters" / report.adapter
    update_card(adapter_dir, {"gate": report.gate.to_json(), "onboarding": {"steps": _steps_json(report)}})
    progress(f"gate: {'passed' if report.gate.passed else 'failed'}: {report.gate.reason}")
    if report.gate.passed:
        asyncio.run(activate(store, report.adapter, client=client, role=role))
        report.promoted = True
        progress(f"promoted {report.adapter} for {role}")


def update_card(adapter_dir: Path, extra: dict[str, Any]) -> None:
    """Add keys to an adapter's ``kubeai_card.json``, atomically."""
    card_file = adapter_dir / ADAPTER_CARD_FILE
    try:
        card = json.loads(card_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"Cannot read the adapter card {card_file}: {exc}.") from None
    card.update(extra)
    write_text_atomic(card_file, json.dumps(card, ensure_ascii=False, indent=2))


def training_steps(say: Progress) -> Callable[[int, int, float], None]:
    """A trainer's step callback that says the loss and the time left on the first, every fifth and the last step."""
    began = time.perf_counter()

    def step(done: int, total: int, loss: float) -> None:
        if done == 1 or done % 5 == 0 or done == total:
            elapsed = time.perf_counter() - began
            left = elapsed / done * (total - done)
            say(f"  step {done}/{total} loss {loss:.3f} ({elapsed:.0f} s, about {left:.0f} s left)")

    return step


def _train(
    config: ProjectConfig, catalog: Catalog, data: TrainingData, *, name: str, out_dir: Path, progress: Progress
) -> dict[str, Any]:
    base_dir = prepare_models(config).base_dir
    step = training_steps(progress)
    progress(f"training {name} on {len(data.train)} examples")
    result = train_adapter(
        catalog,
        data,
        base_model_dir=base_dir,
        out_dir=out_dir,
        name=name,
        role=metrics_role(catalog),
        recipe=config.finetune,
        progress=step,
        checkpoint_dir=config.data_dir / "finetune" / f".{catalog.name}-checkpoint",
    )
    return {
        "steps": result.steps,
        "examples": result.examples,
        "first_loss": round(result.first_loss, 4),
        "final_loss": round(result.final_loss, 4),
        "seconds": round(result.seconds, 1),
        "resumed_from": result.resumed_from,
    }


def _measure(
    config: ProjectConfig, client: ModelClient, dataset: Path, step: str, report_dir: Path, *, adapter: str
) -> StepScore:
    """One step's score on the held-out dataset, through the evaluation harness."""
    settings = config.model_copy(update={"metrics_agent": config.metrics_agent.model_copy(update={"adapter": adapter})})
    runfile = RunFile(
        name=f"onboard-{step}-{adapter}",
        datasets=(dataset,),
        strategies=(STEPS[step],),
        concurrency=4,
        output_dir=report_dir / "evals",
    )
    result = asyncio.run(run_evaluation(runfile, settings, agents=EVAL_AGENTS, llm=client, progress=False))
    return step_score(step, result.records)


def _steps_json(report: OnboardingReport) -> dict[str, Any]:
    return {name: score.to_json() for name, score in report.steps.items()}


def _write_reports(report: OnboardingReport, folder: Path) -> None:
    from app.onboarding_html import render_report

    data = report.to_json()
    write_text_atomic(folder / "report.json", json.dumps(data, ensure_ascii=False, indent=2))
    write_text_atomic(folder / "report.html", render_report(data))


def _count(dataset: Path) -> int:
    return sum(1 for line in (dataset / "questions.jsonl").read_text("utf-8").splitlines() if line.strip())


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
