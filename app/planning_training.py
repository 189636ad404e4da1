"""``kubeai finetune train --task planning``: train the planner's adapter, gate it on both planning sets, promote it.

1. the training conversations: read from ``--data`` (``kubeai finetune data --task planning`` wrote them) or
   synthesized again (:func:`app.planning_data.write_planning_data`); the plan prompt without demonstrations;
2. train with the metrics adapter's trainer (:func:`finetune.planning_adapter.train_planning_adapter`), load the
   adapter into the running server;
3. plan the planning set and the held-out planning set with it (no demonstrations) and with the planner it would
   replace (the adapter promoted before, else the base model with its two demonstrations), through the evaluation
   harness; node and edge F1 per set;
4. gate (:func:`finetune.gate.planning_gate_decision`): any drop blocks promotion; on a pass the adapter is routed
   for ``planning:<catalog>`` and the planner plans with it (:func:`agents.planner.planning_adapter`).
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

from agents.planner import planning_role
from app.eval_agents import EVAL_AGENTS
from app.onboarding import EVAL_DATASETS, training_steps, update_card
from app.runtime import adapter_store, prepare_models
from evals.runfile import RunFile
from evals.runner import run_evaluation
from finetune.gate import PlanGateDecision, PlanScore, plan_score, planning_gate_decision
from finetune.lora import load_examples
from finetune.planning_adapter import PLANNING_CARD, train_planning_adapter
from knowledge.catalog import load_catalog
from kubeai.config import AdapterSpec, ProjectConfig
from kubeai.files import write_text_atomic
from serving.adapters import AdapterStore, activate
from serving.client import ModelClient

__all__ = ["PLANNING_SETS", "PlanningTrainingReport", "gate_and_promote", "train_planning"]

PLANNING_SETS = (EVAL_DATASETS / "planning", EVAL_DATASETS / "planning_heldout")
"""The sets a planning adapter is gated on: the planning set and the one written apart from every template."""

Progress = Callable[[str], None]


@dataclass(kw_only=True)
class PlanningTrainingReport:
    """What a planning adapter's run trained, measured and decided."""

    catalog: str
    adapter: str = ""
    incumbent: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    gate: PlanGateDecision | None = None
    promoted: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (``report.json``)."""
        return {
            "catalog": self.catalog,
            "adapter": self.adapter,
            "incumbent": self.incumbent,
            "training": self.training,
            "gate": self.gate.to_json() if self.gate else None,
            "promoted": self.promoted,
            "timings": self.timings,
        }

    def table(self) -> str:
        """Node and edge F1 per set, adapter against the planner it would replace."""
        if self.gate is None:
            return "not measured"
        lines = [f"{'set':<20} {'planner':<34} {'node F1':>8} {'edge F1':>8} {'valid':>6}"]
        for label, scores in ((self.adapter, self.gate.candidate), (self.incumbent, self.gate.incumbent)):
            lines += [
                f"{s.dataset:<20} {label[:34]:<34} {s.node_f1:>8.3f} {s.edge_f1:>8.3f} {s.valid_plan:>6.0%}"
                for s in scores
            ]
        return "\n".join(lines)


def train_planning(
    config: ProjectConfig,
    *,
    catalog_path: Path,
    db_url: str,
    client: ModelClient,
    report_dir: Path,
    progress: Progress | None = None,
    data_folder: Path | None = None,
) -> PlanningTrainingReport:
    """Train, measure, gate and (on a pass) promote the catalog's planning adapter; see the module docstring.

    Raises:
        KubeAIError: A stage failed (an example longer than the recipe's ``max_length`` among them); nothing is
            promoted and the routes are unchanged.
    """
    from app.planning_data import write_planning_data

    say = progress or (lambda _line: None)
    began = time.perf_counter()
    catalog = load_catalog(catalog_path)
    report = PlanningTrainingReport(catalog=catalog.name)
    folder = data_folder or write_planning_data(config, catalog_path, report_dir / "data", progress=say)
    examples = load_examples(folder / "planning_train.jsonl")

    name = f"{catalog.name.replace('_', '-')}-planning-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    store = adapter_store(config)
    role = planning_role(catalog)
    report.adapter = name
    stage = time.perf_counter()
    report.training = _train(config, examples, name=name, store=store, role=role, catalog=catalog.name, say=say)
    report.timings["train_s"] = round(time.perf_counter() - stage, 1)

    stage = time.perf_counter()
    asyncio.run(client.load_adapter(name, (store.root / name).resolve()))
    eval_config = _with_adapter(config, name, store.root / name, catalog_path, db_url)
    say(f"planning both sets with {name} (no demonstrations)")
    candidate = _measure(eval_config, client, name, "plan_zeroshot", report_dir)
    current = store.active(role)
    if current is not None:
        report.incumbent = current.name
        eval_config = _with_adapter(eval_config, current.name, current.path, catalog_path, db_url)
        incumbent = _measure(eval_config, client, current.name, "plan_zeroshot", report_dir)
    else:
        report.incumbent = f"{config.models.base.name} (2 demonstrations)"
        incumbent = _measure(eval_config, client, config.models.base.name, "plan", report_dir)
    say(f"measured with {report.incumbent} too")
    report.timings["measure_s"] = round(time.perf_counter() - stage, 1)

    report.gate, report.promoted = gate_and_promote(
        config, store, name, candidate, incumbent, role=role, client=client, progress=say
    )
    report.timings["total_s"] = round(time.perf_counter() - began, 1)
    write_text_atomic(report_dir / "report.json", json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    return report


def gate_and_promote(
    config: ProjectConfig,
    store: AdapterStore,
    name: str,
    candidate: Sequence[PlanScore],
    incumbent: Sequence[PlanScore],
    *,
    role: str,
    client: ModelClient,
    progress: Progress | None = None,
) -> tuple[PlanGateDecision, bool]:
    """Decide on the adapter, record the decision in its card, and route ``role`` to it when it passed.

    Returns:
        The decision, and whether the adapter was promoted.
    """
    say = progress or (lambda _line: None)
    recipe = config.finetune.planning
    decision = planning_gate_decision(
        candidate, incumbent, margin=recipe.gate_margin, max_regression=recipe.max_regression
    )
    update_card(store.root / name, {"gate": decision.to_json()})
    say(f"gate: {'passed' if decision.passed else 'failed'}: {decision.reason}")
    if not decision.passed:
        return decision, False
    asyncio.run(activate(store, name, client=client, role=role))
    say(f"promoted {name} for {role}: the planner now plans with it, without demonstrations")
    return decision, True


def _train(
    config: ProjectConfig,
    examples: Sequence[Any],
    *,
    name: str,
    store: AdapterStore,
    role: str,
    catalog: str,
    say: Progress,
) -> dict[str, Any]:
    base_dir = prepare_models(config).base_dir
    step = training_steps(say)
    say(f"training {name} on {len(examples)} planning examples")
    result = train_planning_adapter(
        examples,
        base_model_dir=base_dir,
        out_dir=store.root / name,
        name=name,
        role=role,
        recipe=config.finetune,
        catalog=catalog,
        progress=step,
        checkpoint_dir=config.data_dir / "finetune" / f".{catalog}-planning-checkpoint",
    )
    return {
        "steps": result.steps,
        "examples": result.examples,
        "first_loss": round(result.first_loss, 4),
        "final_loss": round(result.final_loss, 4),
        "seconds": round(result.seconds, 1),
        "resumed_from": result.resumed_from,
    }


def _with_adapter(config: ProjectConfig, name: str, path: Path, catalog_path: Path, db_url: str) -> ProjectConfig:
    """``config`` with the adapter registered (the harness plans only with registered models) and the catalog."""
    models = config.models
    if name not in models.names():
        spec = AdapterSpec(name=name, base=models.base.name, path=path.resolve(), card=PLANNING_CARD)
        models = models.model_copy(update={"adapters": (*models.adapters, spec)})
    warehouse = config.warehouse.model_copy(update={"catalog": catalog_path, "url": db_url})
    return config.model_copy(update={"models": models, "warehouse": warehouse})


def _measure(
    config: ProjectConfig, client: ModelClient, model: str, strategy: str, report_dir: Path
) -> list[PlanScore]:
    """Node and edge F1 of ``model`` with ``strategy`` on each planning set, through the evaluation harness."""
    runfile = RunFile(
        name=f"planning-gate-{model}-{strategy}",
        datasets=PLANNING_SETS,
        models=(model,),
        strategies=(strategy,),
        concurrency=4,
        output_dir=report_dir / "evals",
    )
    result = asyncio.run(run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False))
    by_set: dict[str, list[dict[str, Any]]] = {}
    for record in result.records:
        by_set.setdefault(str(record["dataset"]), []).append(record)
    return [plan_score(dataset, records) for dataset, records in sorted(by_set.items())]
