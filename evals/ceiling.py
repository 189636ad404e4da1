"""The ceiling of the structured path: how many questions the metric query language can answer at best.

Every ``metrics_qa`` item may carry a hand-written ``gold_query``, the best :class:`~tools.metric_query.MetricQuery`
for its question. The ceiling compiles each one against the dataset's catalog, passes the SQL through the gate,
runs it on the dataset's warehouse and compares the rows with the gold (``gold_result``, or what ``gold_sql``
returns there) by :func:`~evals.scorers.execution.execution_match`. A question is *expressible* when its query
reproduces the gold, or when it expects abstention and its gold is to abstain (no query). The share of
expressible questions is the most any model filling the schema could score::

    report = score_dataset(load_dataset("evals/datasets/metrics_qa"), catalog=catalog, runner=runner)
    report.totals().ratio          # 0.95
    [item.id for item in report.failing()]

Each step is a small function testable alone: :func:`result_diff` compares two result tables and says how they
differ, :func:`score_item` gives one item's outcome, :func:`score_ceiling` the dataset's report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evals.dataset import Dataset
from evals.items import Language, MetricsQAItem
from evals.scorers.execution import execution_match, normalize_value
from knowledge.catalog.models import Catalog
from kubeai.errors import KubeAIError, SQLGateError
from tools.metric_query import compile_metric_query
from tools.sql_gate import GateContext, check_sql
from tools.warehouse import SQLRunner

__all__ = [
    "CEILING_MAX_ROWS",
    "CeilingItem",
    "CeilingOutcome",
    "CeilingReport",
    "CeilingTotals",
    "RunSQL",
    "result_diff",
    "runner_rows",
    "score_ceiling",
    "score_dataset",
    "score_item",
]

CEILING_MAX_ROWS = 10_000
"""The row cap for compiled and gold queries alike: far above any question's answer, so no LIMIT cuts one short."""

CeilingOutcome = Literal["ok", "no_query", "compile_error", "gate_error", "run_error", "no_gold", "mismatch"]
"""What became of one item's gold query.

``ok``: its rows equal the gold (or it expects abstention and has no query); ``no_query``: none is written, or
it is ``null`` (no structured query expresses the question); ``compile_error`` / ``gate_error`` / ``run_error``:
the compiler, the SQL gate or the warehouse refused it; ``no_gold``: the item's own gold could not be computed;
``mismatch``: it ran but its rows differ from the gold.
"""

RunSQL = Callable[[str], Sequence[Sequence[Any]]]
"""Runs one gated SQL statement on the dataset's warehouse and returns its rows."""


@dataclass(frozen=True, kw_only=True)
class CeilingItem:
    """One item's outcome.

    Attributes:
        id: The item's id.
        language: The item's language.
        outcome: What became of its gold query (see :data:`CeilingOutcome`).
        detail: One short sentence: the error, or how the rows differ; empty when ``ok``.
        sql: The compiled SQL, when the query compiled.
    """

    id: str
    language: Language
    outcome: CeilingOutcome
    detail: str = ""
    sql: str | None = None

    @property
    def expressible(self) -> bool:
        """Whether the structured path can answer this item at best."""
        return self.outcome == "ok"


@dataclass(frozen=True, kw_only=True)
class CeilingTotals:
    """Expressible items out of all items of a slice.

    Attributes:
        total: Items in the slice.
        expressible: Those whose outcome is ``ok``.
    """

    total: int
    expressible: int

    @property
    def ratio(self) -> float:
        """The ceiling: the expressible share (0.0 for an empty slice)."""
        return self.expressible / self.total if self.total else 0.0


@dataclass(frozen=True, kw_only=True)
class CeilingReport:
    """The ceiling of one dataset.

    Attributes:
        dataset: The dataset's name.
        items: Every item's outcome, in file order.
    """

    dataset: str
    items: tuple[CeilingItem, ...]

    def totals(self, language: Language | None = None) -> CeilingTotals:
        """Expressible items overall, or of one language."""
        chosen = [item for item in self.items if language is None or item.language == language]
        return CeilingTotals(total=len(chosen), expressible=sum(item.expressible for item in chosen))

    def failing(self) -> tuple[CeilingItem, ...]:
        """The items the structured path cannot answer, in file order."""
        return tuple(item for item in self.items if not item.expressible)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data: totals overall, ``en`` and ``zh``, then every item."""
        slices: dict[str, Language | None] = {"overall": None, "en": "en", "zh": "zh"}
        totals = {}
        for key, language in slices.items():
            found = self.totals(language)
            totals[key] = {"total": found.total, "expressible": found.expressible, "ceiling": round(found.ratio, 4)}
        return {
            "dataset": self.dataset,
            "totals": totals,
            "items": [
                {"id": i.id, "language": i.language, "outcome": i.outcome, "detail": i.detail, "sql": i.sql}
                for i in self.items
            ],
        }


def result_diff(rows: Sequence[Sequence[Any]], gold: Sequence[Sequence[Any]], *, ordered: bool) -> str | None:
    """How a result table differs from the gold, or ``None`` when they match.

    Args:
        rows: The rows the gold query returned.
        gold: The gold rows.
        ordered: Whether row order is part of the answer.

    Returns:
        ``None`` on a match (:func:`~evals.scorers.execution.execution_match`), else one short phrase: the row
        and column counts, and for tables of the same shape the first row of each.
    """
    if execution_match(rows, gold, ordered=ordered):
        return None
    shape = (
        f"{len(rows)} rows x {_width(rows)} columns vs gold {len(gold)} rows x {_width(gold)} columns"
        if rows or gold
        else "no rows"
    )
    if len(rows) != len(gold) or _width(rows) != _width(gold) or not rows:
        return shape
    order = "in order " if ordered else ""
    return f"{shape}, values differ {order}(first row {_cells(rows[0])} vs gold {_cells(gold[0])})"


def score_item(item: MetricsQAItem, *, catalog: Catalog, gate: GateContext, run: RunSQL) -> CeilingItem:
    """One item's outcome: compile, gate and run its gold query, and compare with its gold.

    Args:
        item: The item.
        catalog: The dataset's catalog.
        gate: The gate settings for the dataset's warehouse.
        run: Runs gated SQL on the dataset's warehouse (see :func:`runner_rows`).

    Returns:
        The outcome; errors become outcomes with the error's sentence as ``detail``, never exceptions.
    """
    if item.gold_query is None:
        if item.expect_abstention:
            return _outcome(item, "ok", "abstains, as its gold does")
        written = "gold_query" in item.model_fields_set
        return _outcome(item, "no_query", "gold_query is null: no structured query expresses it" if written else "")
    try:
        sql = compile_metric_query(item.gold_query, catalog).sql
    except KubeAIError as error:
        return _outcome(item, "compile_error", str(error))
    try:
        gated = check_sql(sql, gate).sql
    except SQLGateError as error:
        return _outcome(item, "gate_error", str(error), sql)
    return _compare(item, sql, gated, run)


def score_ceiling(
    items: Sequence[MetricsQAItem], *, dataset: str, catalog: Catalog, gate: GateContext, run: RunSQL
) -> CeilingReport:
    """Score every item's gold query (see :func:`score_item`).

    Args:
        items: The dataset's items.
        dataset: The dataset's name, for the report.
        catalog: The dataset's catalog.
        gate: The gate settings for the dataset's warehouse.
        run: Runs gated SQL on the dataset's warehouse.

    Returns:
        The report, items in the given order.
    """
    return CeilingReport(
        dataset=dataset, items=tuple(score_item(item, catalog=catalog, gate=gate, run=run) for item in items)
    )


def score_dataset(dataset: Dataset, *, catalog: Catalog, runner: SQLRunner, timeout_s: float = 60.0) -> CeilingReport:
    """The ceiling of a metrics-QA dataset on a warehouse, gated as the metrics agent gates its SQL.

    Args:
        dataset: The dataset (``metrics_qa`` kind).
        catalog: Its catalog.
        runner: Its warehouse; the gate transpiles to the runner's dialect.
        timeout_s: Cancel any one query after this many seconds.

    Returns:
        The report (see :func:`score_ceiling`).

    Raises:
        DatasetError: The dataset is not a ``metrics_qa`` dataset.
    """
    gate = GateContext(
        schema=catalog.schema_mapping(),
        source_dialect=catalog.warehouse.dialect,
        target_dialect=runner.dialect,
        max_rows=CEILING_MAX_ROWS,
    )
    items = dataset.items_of(MetricsQAItem)
    run = runner_rows(runner, timeout_s=timeout_s)
    return score_ceiling(items, dataset=dataset.manifest.name, catalog=catalog, gate=gate, run=run)


def runner_rows(runner: SQLRunner, *, timeout_s: float = 60.0) -> RunSQL:
    """A :data:`RunSQL` over a warehouse runner, fetching up to :data:`CEILING_MAX_ROWS` rows."""

    def run(sql: str) -> list[tuple[Any, ...]]:
        frame = runner.run(sql, max_rows=CEILING_MAX_ROWS, timeout_s=timeout_s).frame
        return list(frame.itertuples(index=False, name=None))

    return run


def _outcome(item: MetricsQAItem, kind: CeilingOutcome, detail: str = "", sql: str | None = None) -> CeilingItem:
    return CeilingItem(id=item.id, language=item.language, outcome=kind, detail=detail, sql=sql)


def _compare(item: MetricsQAItem, sql: str, gated: str, run: RunSQL) -> CeilingItem:
    """Run the gated query and the item's gold, and compare them."""
    try:
        rows = run(gated)
    except KubeAIError as error:
        return _outcome(item, "run_error", str(error), sql)
    try:
        gold = _gold_rows(item, run)
    except KubeAIError as error:
        return _outcome(item, "no_gold", f"the gold SQL failed: {error}", sql)
    difference = result_diff(rows, gold, ordered=item.ordered)
    return _outcome(item, "ok" if difference is None else "mismatch", difference or "", sql)


def _gold_rows(item: MetricsQAItem, run: RunSQL) -> Sequence[Sequence[Any]]:
    if item.gold_result is not None:
        return item.gold_result.rows
    assert item.gold_sql is not None, "MetricsQAItem checks that an answerable item has a gold"
    return run(item.gold_sql)


def _width(rows: Sequence[Sequence[Any]]) -> int:
    return len(rows[0]) if rows else 0


def _cells(row: Sequence[Any]) -> str:
    shown = [normalize_value(cell) for cell in row]
    return " | ".join(f"{cell:.6g}" if isinstance(cell, float) else str(cell) for cell in shown)
