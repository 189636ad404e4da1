"""The evaluation runner: ask every item through the agent its dataset evaluates, per variant, and score it.

For each variant (model x strategy) and each dataset of the strategy's kind the runner opens one agent through the
openers the caller passes in (:class:`~evals.protocols.EvalAgents`; ``app/`` fills them with the real agents) and
sends the items concurrently (at most ``concurrency`` in flight):

- ``metrics_qa`` items go to a metrics agent and are scored against their gold: the gold result is
  ``gold_result`` or what ``gold_sql`` returns on the same warehouse (read-only runner), see
  :mod:`evals._metrics_items`;
- ``planning`` requests go to a planner and the task graph is scored against the gold graph with TaskBench node
  and edge F1 (when no valid plan comes back, the model's last draft is scored), see :mod:`evals._plan_items`.

Each item's trace and scores go to ``<run_dir>/items/<variant>/<item>.json`` (:mod:`evals._records`) with a
fingerprint of everything that decides the answer (code and prompt files, catalog, dataset, model, strategy, the
item itself; :mod:`evals._fingerprint`): a re-run reads back items whose fingerprint still matches and asks only
the rest, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evals._fingerprint import CODE_PATHS, code_hash, file_hash, variant_hash
from evals._metrics_items import metrics_asker, metrics_settings
from evals._plan_items import planner_asker, planner_settings
from evals._records import ITEMS_DIR, item_file, load_records, read_cached, sha, write_json
from evals.dataset import Dataset, load_dataset
from evals.items import MetricsQAItem, PlanningItem
from evals.protocols import EvalAgents
from evals.runfile import STRATEGIES, PlanStrategySpec, RunFile, Variant, load_runfile, strategies_for
from knowledge.catalog import demo_catalog_path
from kubeai.config import ProjectConfig
from kubeai.errors import ConfigError
from serving.client import ModelClient
from serving.registry import ModelRegistry

__all__ = ["ITEMS_DIR", "RunResult", "load_records", "run_evaluation", "run_evaluation_sync"]

ItemT = TypeVar("ItemT", MetricsQAItem, PlanningItem)
Ask = Callable[[ItemT], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What one evaluation run produced.

    Attributes:
        run_dir: The run folder (item traces, summary and reports).
        records: One scored trace per (variant, item), in variant then dataset order.
        asked: Items sent to the model in this call.
        cached: Items read back from an earlier call with the same fingerprint.
        wall_s: Wall time of this call.
    """

    run_dir: Path
    records: tuple[dict[str, Any], ...]
    asked: int
    cached: int
    wall_s: float


async def run_evaluation(
    runfile: RunFile | str | Path,
    config: ProjectConfig,
    *,
    agents: EvalAgents,
    llm: ModelClient | None = None,
    run_dir: Path | None = None,
    progress: bool = True,
) -> RunResult:
    """Run every variant of a run file over its datasets, resuming from cached items.

    Args:
        runfile: A loaded run file or its path.
        config: The project configuration (model endpoint, registry, warehouse, vector store).
        agents: Opens the agent each dataset kind is asked through (``app.eval_agents.EVAL_AGENTS``: the real
            metrics agent and planner).
        llm: A model client to use instead of one built from ``config.llm``.
        run_dir: The run folder (default: ``<output_dir or data_dir/evals>/<name>``).
        progress: Show a tqdm progress bar on stderr.

    Returns:
        The scored records; reports are built from them by :mod:`evals.report`.

    Raises:
        ConfigError: A model is not in the registry, a dataset is of a kind the runner cannot evaluate, or a
            dataset and the strategies do not pair (a dataset no strategy evaluates, a strategy with no dataset).
        DatasetError: A dataset is malformed.
        ModelServerUnavailableError: The model server cannot be reached (finished items stay cached).
    """
    spec = runfile if isinstance(runfile, RunFile) else load_runfile(runfile)
    began = time.perf_counter()
    registry = ModelRegistry(config.models)
    for name in spec.models:
        if name not in registry:
            known = ", ".join(m.name for m in registry)
            raise ConfigError(
                f"The run file names model {name!r}, which is not in the registry ({known}); use one of those.",
                field="models",
            )
    datasets = [load_dataset(path) for path in spec.datasets]
    _check_pairing(spec, datasets)
    out = run_dir or (spec.output_dir or config.resolve(Path("evals"))) / spec.name
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "runfile.json", spec.model_dump(mode="json"))
    records: list[dict[str, Any]] = []
    asked = cached = 0
    for variant in spec.variants(registry.base.name):
        for dataset in datasets:
            if dataset.manifest.kind != variant.kind:
                continue
            done, count = await _run_variant(
                spec, config, variant, dataset, agents=agents, out=out, llm=llm, progress=progress
            )
            records.extend(done)
            asked += count
            cached += len(done) - count
    return RunResult(
        run_dir=out, records=tuple(records), asked=asked, cached=cached, wall_s=time.perf_counter() - began
    )


def run_evaluation_sync(
    runfile: RunFile | str | Path, config: ProjectConfig, *, agents: EvalAgents, **options: Any
) -> RunResult:
    """Synchronous wrapper around :func:`run_evaluation`."""
    return asyncio.run(run_evaluation(runfile, config, agents=agents, **options))


def _check_pairing(spec: RunFile, datasets: Sequence[Dataset]) -> None:
    """Every dataset is of a kind the runner evaluates and has a strategy of its kind; every strategy a dataset."""
    kinds = {dataset.manifest.kind for dataset in datasets}
    for dataset in datasets:
        kind = dataset.manifest.kind
        if kind not in CODE_PATHS:
            raise ConfigError(
                f"Dataset {dataset.manifest.name!r} is of kind {kind}; the runner evaluates "
                f"{' and '.join(CODE_PATHS)} datasets only, so list only those in the run file.",
                field="datasets",
            )
        if not any(STRATEGIES[s].kind == kind for s in spec.strategies):
            raise ConfigError(
                f"Dataset {dataset.manifest.name!r} is a {kind} dataset, but none of the run file's strategies "
                f"({', '.join(spec.strategies)}) evaluates {kind} datasets; add one of "
                f"{', '.join(strategies_for(kind))}, or remove the dataset.",
                field="strategies",
            )
    for strategy in spec.strategies:
        kind = STRATEGIES[strategy].kind
        if kind not in kinds:
            raise ConfigError(
                f"Strategy {strategy!r} evaluates {kind} datasets and the run file lists none; remove the strategy "
                f"or add a {kind} dataset.",
                field="strategies",
            )


async def _run_variant(
    spec: RunFile,
    config: ProjectConfig,
    variant: Variant,
    dataset: Dataset,
    *,
    agents: EvalAgents,
    out: Path,
    llm: ModelClient | None,
    progress: bool,
) -> tuple[list[dict[str, Any]], int]:
    """Run one variant over one dataset of its kind: the records in item order and how many were asked."""
    strategy = variant.spec
    code = code_hash(CODE_PATHS[dataset.manifest.kind])
    if isinstance(strategy, PlanStrategySpec):
        base = variant_hash(code, variant, dataset, json.dumps(planner_settings(config), sort_keys=True))
        return await _run_items(
            spec,
            variant,
            dataset,
            dataset.items_of(PlanningItem)[: spec.limit],
            base=base,
            out=out,
            progress=progress,
            open_asker=lambda: planner_asker(
                config, open_planner=agents.planner, variant=variant, dataset=dataset, strategy=strategy, llm=llm
            ),
        )
    catalog_path = dataset.catalog_path() or Path(config.warehouse.catalog or demo_catalog_path())
    base = variant_hash(
        code, variant, dataset, file_hash(catalog_path), json.dumps(metrics_settings(config), sort_keys=True)
    )
    return await _run_items(
        spec,
        variant,
        dataset,
        dataset.items_of(MetricsQAItem)[: spec.limit],
        base=base,
        out=out,
        progress=progress,
        open_asker=lambda: metrics_asker(
            spec,
            config,
            open_agent=agents.metrics,
            variant=variant,
            dataset=dataset,
            strategy=strategy,
            catalog_path=catalog_path,
            llm=llm,
        ),
    )


async def _run_items(
    spec: RunFile,
    variant: Variant,
    dataset: Dataset,
    items: Sequence[ItemT],
    *,
    base: str,
    out: Path,
    progress: bool,
    open_asker: Callable[[], AbstractAsyncContextManager[Ask[ItemT]]],
) -> tuple[list[dict[str, Any]], int]:
    """Read back cached items, ask the rest concurrently through one opened agent, write each record as it ends."""
    folder = out / ITEMS_DIR / variant.slug
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    todo: list[tuple[ItemT, str, Path]] = []
    for item in items:
        fingerprint = sha(base + item.model_dump_json())
        path = folder / item_file(dataset.manifest.name, item.id)
        previous = read_cached(path, fingerprint)
        if previous is not None:
            results[item.id] = previous
        else:
            todo.append((item, fingerprint, path))
    if not todo:
        return [results[item.id] for item in items], 0
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc=f"{variant.name} {dataset.manifest.name}", disable=not progress)
    semaphore = asyncio.Semaphore(spec.concurrency)
    try:
        async with open_asker() as ask:

            async def one(item: ItemT, fingerprint: str, path: Path) -> None:
                async with semaphore:
                    record = await ask(item)
                record["fingerprint"] = fingerprint
                write_json(path, record)  # reports read it; a record with retry set is asked again next run
                results[item.id] = record
                bar.update(1)

            tasks = [asyncio.ensure_future(one(*entry)) for entry in todo]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                # Stop the items still in flight before the agent closes; finished ones stay cached.
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
    finally:
        bar.close()
    return [results[item.id] for item in items], len(todo)
