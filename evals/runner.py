"""The evaluation runner: ask every item through the agent its dataset evaluates, per variant, and score it.

For each variant (model x strategy) and each dataset of the strategy's kind the runner opens one agent and sends
the items concurrently (at most ``concurrency`` in flight):

- ``metrics_qa`` items go to a :class:`~agents.metrics.MetricsAgent` and are scored against their gold: the gold
  result is ``gold_result`` or what ``gold_sql`` returns on the same warehouse (read-only runner);
- ``planning`` requests go to :meth:`agents.planner.PlannerAgent.plan` and the task graph is scored against the
  gold graph with TaskBench node and edge F1 (when no valid plan comes back, the model's last draft is scored).

Each item's trace and scores go to ``<run_dir>/items/<variant>/<item>.json`` with a fingerprint of everything that
decides the answer (code and prompt files, catalog, dataset, model, strategy, the item itself): a re-run reads
back items whose fingerprint still matches and asks only the rest, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import kubeai
from agents.metrics import MetricsAgent, MetricsResult
from agents.planner import PlannerAgent
from evals.dataset import Dataset, load_dataset
from evals.items import MetricsQAItem, PlanningItem
from evals.report import total_tokens
from evals.runfile import STRATEGIES, PlanStrategySpec, RunFile, StrategySpec, Variant, load_runfile, strategies_for
from evals.scorers import PlanNode, chart_validity, execution_match, plan_scores, sql_exact_match
from knowledge.catalog import demo_catalog_path
from kubeai.config import ProjectConfig
from kubeai.errors import ConfigError, KubeAIError, ModelServerUnavailableError, PlanningError
from kubeai.files import write_text_atomic
from serving.client import ModelClient
from serving.registry import ModelRegistry
from tools.warehouse import SQLRunner, open_runner

__all__ = ["ITEMS_DIR", "RunResult", "load_records", "run_evaluation", "run_evaluation_sync"]

ITEMS_DIR = "items"
ROWS_HEAD = 10
GOLD_MAX_ROWS = 10_000
# The code and prompt files (folders or single files) that decide each kind's answers: part of every fingerprint.
_CODE_PATHS: dict[str, tuple[str, ...]] = {
    "metrics_qa": ("graphs/metrics", "graphs/shared.py", "kubeai/prompting.py", "evals/scorers", "tools/sql_gate"),
    "planning": (
        "graphs/planner",
        "graphs/shared.py",
        "kubeai/prompting.py",
        "evals/scorers",
        "agents/planner.py",
        "tools/registry.py",
        "tools/toolbox.py",
        # The tools whose names, descriptions and argument schemas the planner is shown.
        "tools/metric_tool.py",
        "tools/doc_qa.py",
        "tools/text_tasks.py",
        "tools/calculator.py",
        "tools/tables.py",
        "tools/charts/tool.py",
    ),
}
_CODE_SUFFIXES = frozenset({".py", ".yaml", ".yml", ".jinja", ".jsonl"})
_REPO = Path(__file__).resolve().parents[1]

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
    llm: ModelClient | None = None,
    run_dir: Path | None = None,
    progress: bool = True,
) -> RunResult:
    """Run every variant of a run file over its datasets, resuming from cached items.

    Args:
        runfile: A loaded run file or its path.
        config: The project configuration (model endpoint, registry, warehouse, vector store).
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
    _write_json(out / "runfile.json", spec.model_dump(mode="json"))
    records: list[dict[str, Any]] = []
    asked = cached = 0
    for variant in spec.variants(registry.base.name):
        for dataset in datasets:
            if dataset.manifest.kind != variant.kind:
                continue
            done, count = await _run_variant(spec, config, variant, dataset, out=out, llm=llm, progress=progress)
            records.extend(done)
            asked += count
            cached += len(done) - count
    return RunResult(
        run_dir=out, records=tuple(records), asked=asked, cached=cached, wall_s=time.perf_counter() - began
    )


def run_evaluation_sync(runfile: RunFile | str | Path, config: ProjectConfig, **options: Any) -> RunResult:
    """Synchronous wrapper around :func:`run_evaluation`."""
    return asyncio.run(run_evaluation(runfile, config, **options))


def load_records(run_dir: str | Path) -> tuple[dict[str, Any], ...]:
    """Read back the scored item traces of a run folder, sorted by variant, dataset and item id.

    Raises:
        ConfigError: The folder holds no run (no ``items`` folder).
    """
    root = Path(run_dir) / ITEMS_DIR
    if not root.is_dir():
        raise ConfigError(
            f"{run_dir} holds no evaluation run (no {ITEMS_DIR}/ folder); pass a folder written by `kubeai eval run`."
        )
    records = []
    for path in sorted(root.glob("*/*.json")):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a torn or foreign file is not a result; the next run rewrites it
    return tuple(sorted(records, key=lambda r: (r["variant"], r["dataset"], r["item_id"])))


def _check_pairing(spec: RunFile, datasets: Sequence[Dataset]) -> None:
    """Every dataset is of a kind the runner evaluates and has a strategy of its kind; every strategy a dataset."""
    kinds = {dataset.manifest.kind for dataset in datasets}
    for dataset in datasets:
        kind = dataset.manifest.kind
        if kind not in _CODE_PATHS:
            raise ConfigError(
                f"Dataset {dataset.manifest.name!r} is of kind {kind}; the runner evaluates "
                f"{' and '.join(_CODE_PATHS)} datasets only, so list only those in the run file.",
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
    out: Path,
    llm: ModelClient | None,
    progress: bool,
) -> tuple[list[dict[str, Any]], int]:
    """Run one variant over one dataset of its kind: the records in item order and how many were asked."""
    strategy = variant.spec
    code = _code_hash(_CODE_PATHS[dataset.manifest.kind])
    if isinstance(strategy, PlanStrategySpec):
        base = _variant_hash(code, variant, dataset, json.dumps(_planner_settings(config), sort_keys=True))
        return await _run_items(
            spec,
            variant,
            dataset,
            dataset.items_of(PlanningItem)[: spec.limit],
            base=base,
            out=out,
            progress=progress,
            open_asker=lambda: _planner_asker(config, variant=variant, dataset=dataset, strategy=strategy, llm=llm),
        )
    catalog_path = dataset.catalog_path() or Path(config.warehouse.catalog or demo_catalog_path())
    base = _variant_hash(
        code, variant, dataset, _file_hash(catalog_path), json.dumps(_metrics_settings(config), sort_keys=True)
    )
    return await _run_items(
        spec,
        variant,
        dataset,
        dataset.items_of(MetricsQAItem)[: spec.limit],
        base=base,
        out=out,
        progress=progress,
        open_asker=lambda: _metrics_asker(
            spec, config, variant=variant, dataset=dataset, strategy=strategy, catalog_path=catalog_path, llm=llm
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
        fingerprint = _sha(base + item.model_dump_json())
        path = folder / _item_file(dataset.manifest.name, item.id)
        previous = _read_cached(path, fingerprint)
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
                _write_json(path, record)  # reports read it; a record with retry set is asked again next run
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


@asynccontextmanager
async def _metrics_asker(
    spec: RunFile,
    config: ProjectConfig,
    *,
    variant: Variant,
    dataset: Dataset,
    strategy: StrategySpec,
    catalog_path: Path,
    llm: ModelClient | None,
) -> AsyncIterator[Ask[MetricsQAItem]]:
    """A metrics agent set as ``strategy`` wants and a read-only runner for the gold SQL, open for one variant."""
    url = _warehouse_url(spec, dataset, config, catalog_path)
    agent_config = config.model_copy(
        update={
            "metrics_agent": config.metrics_agent.model_copy(
                update={
                    "strategy": strategy.strategy,
                    "rag": strategy.rag,
                    "chain_of_thought": strategy.chain_of_thought,
                    "require_approval": False,
                    "adapter": config.metrics_agent.adapter if strategy.tuned else "none",
                }
            )
        }
    )
    gold_runner = open_runner(url, base_dir=catalog_path.resolve().parent)
    gold_lock = asyncio.Lock()
    try:
        async with MetricsAgent.open(
            agent_config, catalog_path=catalog_path, db_url=url, model=variant.model, llm=llm
        ) as agent:
            if strategy.tuned and agent.context.tuned_model is None:
                raise ConfigError(
                    f"Strategy {variant.strategy!r} needs an adapter fine-tuned on catalog "
                    f"{agent.context.catalog.name!r}; train one with `kubeai finetune train` or `kubeai onboard`."
                )

            async def ask(item: MetricsQAItem) -> dict[str, Any]:
                return await _evaluate(
                    agent, item, variant, dataset, gold_runner=gold_runner, gold_lock=gold_lock, config=config
                )

            yield ask
    finally:
        gold_runner.close()


@asynccontextmanager
async def _planner_asker(
    config: ProjectConfig, *, variant: Variant, dataset: Dataset, strategy: PlanStrategySpec, llm: ModelClient | None
) -> AsyncIterator[Ask[PlanningItem]]:
    """A planner with every tool (so that gold graphs using metric_query and doc_qa are reachable), plan only."""
    async with PlannerAgent.open(config, llm=llm, model=variant.model, demos=strategy.demos) as agent:

        async def ask(item: PlanningItem) -> dict[str, Any]:
            return await _evaluate_plan(agent, item, variant, dataset)

        yield ask


def _record_head(item: MetricsQAItem | PlanningItem, variant: Variant, dataset: Dataset) -> dict[str, Any]:
    """The fields every record starts with, whatever its kind."""
    return {
        "item_id": item.id,
        "dataset": dataset.manifest.name,
        "dataset_version": dataset.manifest.version,
        "kind": dataset.manifest.kind,
        "variant": variant.name,
        "model": variant.model,
        "strategy": variant.strategy,
        "language": item.language,
        "tags": list(item.tags),
        "retry": False,
        "error": None,
    }


async def _evaluate(
    agent: MetricsAgent,
    item: MetricsQAItem,
    variant: Variant,
    dataset: Dataset,
    *,
    gold_runner: SQLRunner,
    gold_lock: asyncio.Lock,
    config: ProjectConfig,
) -> dict[str, Any]:
    record = _record_head(item, variant, dataset)
    record.update(
        question=item.question,
        difficulty=item.difficulty,
        expect_abstention=item.expect_abstention,
        gold_sql=item.gold_sql,
    )
    began = time.perf_counter()
    try:
        result = await agent.ask(item.question)
    except ModelServerUnavailableError:
        raise
    except KubeAIError as exc:
        record.update(_failed(f"{type(exc).__name__}: {exc}", time.perf_counter() - began))
        record["retry"] = True  # a timeout or server hiccup is asked again on the next run
        return record
    latency = time.perf_counter() - began
    record.update(_trace(result, latency))
    if item.expect_abstention:
        record.update(execution_match=None, exact_match=None, correct=result.abstained)
    else:
        gold_rows, gold_error = await _gold_rows(item, gold_runner, gold_lock, config)
        predicted = [tuple(row) for row in result.frame.itertuples(index=False, name=None)]
        matched = (
            None
            if gold_rows is None
            else (not result.abstained and execution_match(predicted, gold_rows, ordered=item.ordered))
        )
        exact = None
        if item.gold_sql and result.sql:
            catalog = agent.context.catalog
            exact = sql_exact_match(
                _without_gate_limit(result.sql, item.gold_sql, config.warehouse.max_rows, agent.context.runner.dialect),
                item.gold_sql,
                dialect=agent.context.runner.dialect,
                schema=catalog.schema_mapping(),
            )
        record.update(execution_match=matched, exact_match=exact, correct=bool(matched), gold_error=gold_error)
        if gold_rows is not None:
            record["gold_rows_head"] = _json_safe(gold_rows[:ROWS_HEAD])
            record["gold_row_count"] = len(gold_rows)
    if result.chart is not None:
        columns = [str(c) for c in result.frame.columns]
        verdict = chart_validity(result.chart, columns, list(result.frame.itertuples(index=False, name=None)))
        record.update(chart_valid=verdict.valid, chart_reason=verdict.reason)
    else:
        record.update(chart_valid=None, chart_reason="")
    return record


def _trace(result: MetricsResult, latency: float) -> dict[str, Any]:
    data = result.to_json()
    tokens = result.tokens
    total = total_tokens(tokens)
    return {
        "path": result.path,
        "sql": result.sql,
        "columns": data["columns"],
        "rows_head": data["rows"][:ROWS_HEAD],
        "row_count": len(result.frame),
        "answer": result.answer,
        "abstained": result.abstained,
        "reason": result.reason,
        "chart_kind": result.chart_kind,
        "latency_s": latency,
        "timings": result.timings,
        "tokens": tokens,
        "total_tokens": total,
        # Per prompt: tokens, budget, what was left out to fit the context; and whether an answer was cut off by
        # its token limit or a prompt did not fit at all.
        "prompt_fit": list(result.prompt_fit),
        "cut_off": any(fit.get("cut_off") for fit in result.prompt_fit),
        "prompt_too_long": any(fit.get("too_long") for fit in result.prompt_fit),
    }


def _failed(error: str, latency: float) -> dict[str, Any]:
    return {
        "error": error,
        "path": None,
        "sql": None,
        "columns": [],
        "rows_head": [],
        "row_count": 0,
        "answer": "",
        "abstained": False,
        "reason": "",
        "chart_kind": None,
        "latency_s": latency,
        "timings": {},
        "tokens": {},
        "total_tokens": 0,
        "execution_match": None,
        "exact_match": None,
        "correct": False,
        "chart_valid": None,
        "chart_reason": "",
    }


async def _evaluate_plan(agent: PlannerAgent, item: PlanningItem, variant: Variant, dataset: Dataset) -> dict[str, Any]:
    record = _record_head(item, variant, dataset)
    record.update(request=item.request, gold_tasks=[_task_json(_Task.of(task)) for task in item.tasks])
    began = time.perf_counter()
    try:
        run = await agent.plan(item.request)
    except ModelServerUnavailableError:
        raise
    except PlanningError as exc:
        # No valid plan: score what the model last wrote, which is what TaskBench scores too.
        predicted = _draft_tasks(exc.draft)
        record.update(
            valid_plan=False,
            attempts=agent.context.max_plan_attempts,  # the planner gives up only once its attempts are spent
            repairs=[],
            demo_ids=[],
            problems=list(exc.problems),
            timings={},
            tokens={},
            error=f"{type(exc).__name__}: {exc}",
        )
    except KubeAIError as exc:
        record.update(_failed_plan(f"{type(exc).__name__}: {exc}", time.perf_counter() - began))
        record["retry"] = True  # a timeout or server hiccup is asked again on the next run
        return record
    else:
        predicted = [_Task.of(task) for task in run.plan]
        tokens = {node: dict(counts) for node, counts in run.tokens.items()}
        record.update(
            valid_plan=True,
            attempts=run.attempts,
            repairs=list(run.repairs),
            demo_ids=list(run.demo_ids),
            problems=[],
            timings=dict(run.timings),
            tokens=tokens,
        )
    scores = plan_scores(predicted, item.tasks)
    exact = bool(record["valid_plan"]) and scores.node_f1 == scores.edge_f1 == 1.0
    record.update(
        asdict(scores),
        gold_edges=sum(len(task.depends_on) for task in item.tasks),
        exact_plan=exact,
        correct=exact,
        predicted_tasks=[_task_json(task) for task in predicted],
        latency_s=time.perf_counter() - began,
        total_tokens=total_tokens(record["tokens"]),
    )
    return record


@dataclass(frozen=True, kw_only=True)
class _Task:
    """A task as plans are scored and recorded: a planner's task, a gold task or a task of a rejected draft."""

    id: str
    tool: str | None
    type: str
    depends_on: tuple[str, ...] = ()
    args: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, node: PlanNode) -> _Task:
        return cls(
            id=node.id,
            tool=node.tool,
            type=node.type,
            depends_on=tuple(node.depends_on),
            args=dict(getattr(node, "args", None) or {}),
        )


def _draft_tasks(draft: Sequence[Mapping[str, Any]]) -> list[_Task]:
    """The tasks of a draft the planner rejected (``{"id", "tool", "args", "dep"}``, as the model wrote them).

    A draft task has no type of its own; its tool stands in (scoring names a node by its tool first anyway).
    """
    tasks = []
    for index, raw in enumerate(draft):
        deps = raw.get("dep", raw.get("depends_on")) or ()
        deps = (deps,) if isinstance(deps, str) else deps
        tool = str(raw.get("tool") or "")
        args = raw.get("args")
        tasks.append(
            _Task(
                id=str(raw.get("id") or f"#{index + 1}"),
                tool=tool or None,
                type=tool or "unknown",
                depends_on=tuple(str(d) for d in deps) if isinstance(deps, Sequence) else (),
                args=dict(args) if isinstance(args, Mapping) else {},
            )
        )
    return tasks


def _task_json(task: _Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "tool": task.tool,
        "type": task.type,
        "depends_on": list(task.depends_on),
        "args": dict(task.args),
    }


def _failed_plan(error: str, latency: float) -> dict[str, Any]:
    return {
        "error": error,
        "valid_plan": False,
        "exact_plan": False,
        "correct": False,
        "node_precision": 0.0,
        "node_recall": 0.0,
        "node_f1": 0.0,
        "edge_precision": 0.0,
        "edge_recall": 0.0,
        "edge_f1": 0.0,
        "predicted_tasks": [],
        "attempts": 0,
        "repairs": [],
        "demo_ids": [],
        "problems": [],
        "latency_s": latency,
        "timings": {},
        "tokens": {},
        "total_tokens": 0,
    }


async def _gold_rows(
    item: MetricsQAItem, runner: SQLRunner, lock: asyncio.Lock, config: ProjectConfig
) -> tuple[list[tuple[Any, ...]] | None, str | None]:
    if item.gold_result is not None:
        return [tuple(row) for row in item.gold_result.rows], None
    if not item.gold_sql:
        return None, "the item has no gold"
    try:
        async with lock:
            result = await asyncio.to_thread(
                runner.run, item.gold_sql, max_rows=GOLD_MAX_ROWS, timeout_s=config.warehouse.statement_timeout_s
            )
    except KubeAIError as exc:
        return None, f"gold SQL failed: {exc}"
    return [tuple(row) for row in result.frame.itertuples(index=False, name=None)], None


def _without_gate_limit(sql: str, gold: str, max_rows: int, dialect: str) -> str:
    """Drop the LIMIT the SQL gate appends, unless the gold query has a LIMIT of its own."""
    import sqlglot
    from sqlglot import exp

    try:
        predicted = sqlglot.parse_one(sql, read=dialect)
        gold_tree = sqlglot.parse_one(gold, read=dialect)
    except sqlglot.errors.ParseError:
        return sql
    limit = predicted.args.get("limit")
    if gold_tree.args.get("limit") is not None or not isinstance(limit, exp.Limit):
        return sql
    value = limit.expression
    if isinstance(value, exp.Literal) and value.is_int and int(value.this) == max_rows:
        predicted.set("limit", None)
        return predicted.sql(dialect=dialect)
    return sql


def _warehouse_url(spec: RunFile, dataset: Dataset, config: ProjectConfig, catalog_path: Path) -> str:
    return spec.warehouse or dataset.warehouse_url(
        configured=config.warehouse.url, catalog_path=catalog_path, data_dir=config.data_dir
    )


def _metrics_settings(config: ProjectConfig) -> dict[str, Any]:
    return {
        "max_attempts": config.metrics_agent.max_attempts,
        "adapter": config.metrics_agent.adapter,
        "retrieval_k": config.metrics_agent.retrieval_k,
        "alpha": config.metrics_agent.alpha,
        "max_rows": config.warehouse.max_rows,
    }


def _planner_settings(config: ProjectConfig) -> dict[str, Any]:
    # The embedding model ranks the demonstrations the planner is shown.
    return {"embeddings": [config.embeddings.provider, config.embeddings.model]}


def _variant_hash(code: str, variant: Variant, dataset: Dataset, *settings: str) -> str:
    parts = [
        code,
        variant.model,
        variant.strategy,
        repr(variant.spec),
        _file_hash(dataset.root / dataset.manifest.items),
        *settings,
    ]
    return _sha("\n".join(parts))


def _code_hash(paths: Sequence[str]) -> str:
    """A hash of the package version and of the code and prompt files under ``paths`` (folders or files)."""
    digest = hashlib.sha256(kubeai.__version__.encode())
    for entry in paths:
        root = _REPO / entry
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.suffix in _CODE_SUFFIXES and path.is_file():
                digest.update(path.relative_to(_REPO).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _item_file(dataset: str, item_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in item_id)[:80]
    return f"{dataset}__{safe}-{_sha(item_id)[:8]}.json"


def _read_cached(path: Path, fingerprint: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint or data.get("retry"):
        return None
    return data


def _json_safe(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [[_cell(v) for v in row] for row in rows]


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return _cell(value.item())
    return str(value)


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a torn write never leaves a half file that looks like a result."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=_cell) + "\n")
