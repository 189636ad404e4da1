"""Running ``metrics_qa`` items: ask each question through a metrics agent and score the answer against its gold.

The gold result is the item's ``gold_result`` or what its ``gold_sql`` returns on the same warehouse, run by a
read-only runner the asker opens beside the agent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from evals._records import record_head
from evals.dataset import Dataset
from evals.items import MetricsQAItem
from evals.protocols import MetricsAnswer, OpenMetricsAgent
from evals.report import total_tokens
from evals.runfile import RunFile, StrategySpec, Variant
from evals.scorers import chart_validity, execution_match, sql_exact_match
from knowledge.catalog import Catalog, load_catalog
from kubeai.config import ProjectConfig
from kubeai.errors import ConfigError, KubeAIError, ModelServerUnavailableError
from kubeai.values import json_value
from serving.client import ModelClient
from tools.warehouse import SQLRunner, open_runner

__all__ = ["GOLD_MAX_ROWS", "ROWS_HEAD", "metrics_asker", "metrics_settings", "warehouse_url"]

ROWS_HEAD = 10
GOLD_MAX_ROWS = 10_000

AskMetrics = Callable[[MetricsQAItem], Awaitable[dict[str, Any]]]


@asynccontextmanager
async def metrics_asker(
    spec: RunFile,
    config: ProjectConfig,
    *,
    open_agent: OpenMetricsAgent,
    variant: Variant,
    dataset: Dataset,
    strategy: StrategySpec,
    catalog_path: Path,
    llm: ModelClient | None,
) -> AsyncIterator[AskMetrics]:
    """A metrics agent set as ``strategy`` wants and a read-only runner for the gold SQL, open for one variant."""
    url = warehouse_url(spec, dataset, config, catalog_path)
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
    catalog = load_catalog(catalog_path)
    gold_runner = open_runner(url, base_dir=catalog_path.resolve().parent)
    gold_lock = asyncio.Lock()
    try:
        async with open_agent(
            agent_config, catalog_path=catalog_path, db_url=url, model=variant.model, llm=llm
        ) as agent:
            if strategy.tuned and agent.tuned_model is None:
                raise ConfigError(
                    f"Strategy {variant.strategy!r} needs an adapter fine-tuned on catalog "
                    f"{catalog.name!r}; train one with `kubeai finetune train` or `kubeai onboard`."
                )

            async def ask(item: MetricsQAItem) -> dict[str, Any]:
                began = time.perf_counter()
                try:
                    result = await agent.ask(item.question)
                except ModelServerUnavailableError:
                    raise
                except KubeAIError as exc:
                    return _failed(item, variant, dataset, f"{type(exc).__name__}: {exc}", time.perf_counter() - began)
                return await _scored(
                    result,
                    item,
                    variant,
                    dataset,
                    latency=time.perf_counter() - began,
                    catalog=catalog,
                    gold_runner=gold_runner,
                    gold_lock=gold_lock,
                    config=config,
                )

            yield ask
    finally:
        gold_runner.close()


def metrics_settings(config: ProjectConfig) -> dict[str, Any]:
    """The settings beyond the strategy that decide a metrics answer: part of the variant's fingerprint."""
    return {
        "max_attempts": config.metrics_agent.max_attempts,
        "adapter": config.metrics_agent.adapter,
        "retrieval_k": config.metrics_agent.retrieval_k,
        "alpha": config.metrics_agent.alpha,
        "max_rows": config.warehouse.max_rows,
    }


def warehouse_url(spec: RunFile, dataset: Dataset, config: ProjectConfig, catalog_path: Path) -> str:
    """The warehouse the items are asked on: the run file's, else the dataset's, else the configured one."""
    return spec.warehouse or dataset.warehouse_url(
        configured=config.warehouse.url, catalog_path=catalog_path, data_dir=config.data_dir
    )


def _question_head(item: MetricsQAItem, variant: Variant, dataset: Dataset) -> dict[str, Any]:
    record = record_head(item, variant, dataset)
    record.update(
        question=item.question,
        difficulty=item.difficulty,
        expect_abstention=item.expect_abstention,
        gold_sql=item.gold_sql,
    )
    return record


async def _scored(
    result: MetricsAnswer,
    item: MetricsQAItem,
    variant: Variant,
    dataset: Dataset,
    *,
    latency: float,
    catalog: Catalog,
    gold_runner: SQLRunner,
    gold_lock: asyncio.Lock,
    config: ProjectConfig,
) -> dict[str, Any]:
    """The record of an answered item: its trace, its scores against the gold, and its chart's verdict."""
    record = _question_head(item, variant, dataset)
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
            dialect = gold_runner.dialect  # the agent's runner: the same warehouse
            exact = sql_exact_match(
                _without_gate_limit(result.sql, item.gold_sql, config.warehouse.max_rows, dialect),
                item.gold_sql,
                dialect=dialect,
                schema=catalog.schema_mapping(),
            )
        record.update(execution_match=matched, exact_match=exact, correct=bool(matched), gold_error=gold_error)
        if gold_rows is not None:
            record["gold_rows_head"] = [[json_value(v) for v in row] for row in gold_rows[:ROWS_HEAD]]
            record["gold_row_count"] = len(gold_rows)
    if result.chart is not None:
        columns = [str(c) for c in result.frame.columns]
        verdict = chart_validity(result.chart, columns, list(result.frame.itertuples(index=False, name=None)))
        record.update(chart_valid=verdict.valid, chart_reason=verdict.reason)
    else:
        record.update(chart_valid=None, chart_reason="")
    return record


def _trace(result: MetricsAnswer, latency: float) -> dict[str, Any]:
    frame = result.frame
    tokens = {node: dict(counts) for node, counts in result.tokens.items()}
    return {
        "path": result.path,
        "sql": result.sql,
        "columns": [str(c) for c in frame.columns],
        "rows_head": [[json_value(v) for v in row] for row in frame.head(ROWS_HEAD).itertuples(index=False, name=None)],
        "row_count": len(frame),
        "answer": result.answer,
        "abstained": result.abstained,
        "reason": result.reason,
        "chart_kind": result.chart_kind,
        "latency_s": latency,
        "timings": dict(result.timings),
        "tokens": tokens,
        "total_tokens": total_tokens(tokens),
        # Per prompt: tokens, budget, what was left out to fit the context; and whether an answer was cut off by
        # its token limit or a prompt did not fit at all.
        "prompt_fit": [dict(fit) for fit in result.prompt_fit],
        "cut_off": any(fit.get("cut_off") for fit in result.prompt_fit),
        "prompt_too_long": any(fit.get("too_long") for fit in result.prompt_fit),
    }


def _failed(item: MetricsQAItem, variant: Variant, dataset: Dataset, error: str, latency: float) -> dict[str, Any]:
    """The record of an item the agent failed on: wrong, and asked again on the next run."""
    record = _question_head(item, variant, dataset)
    record.update(
        error=error,
        path=None,
        sql=None,
        columns=[],
        rows_head=[],
        row_count=0,
        answer="",
        abstained=False,
        reason="",
        chart_kind=None,
        latency_s=latency,
        timings={},
        tokens={},
        total_tokens=0,
        execution_match=None,
        exact_match=None,
        correct=False,
        chart_valid=None,
        chart_reason="",
        retry=True,  # a timeout or server hiccup is asked again on the next run
    )
    return record


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
