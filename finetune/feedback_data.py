"""Users' feedback as candidate training examples, through the same gold checks as synthesized ones.

Stages, each counted in :class:`FeedbackConversion` (``stored -> usable -> passed gold checks -> kept``):

1. :func:`classify`: what a record can teach. A corrected SQL (``sql``), a corrected metric (``metric``), or a
   thumbs up on an answer with a structured query (``up``) is *usable*. A thumbs down with no SQL or metric to put
   right (a correction in words included) is a *negative*: kept as an evaluation candidate, never as gold.
   Anything else is counted by why it cannot be used (``no_question``, ``not_metrics``, ``no_query``,
   ``not_one_metric``, ``up_without_query``).
2. :func:`check_gold`: the gold a usable record stands for, checked on the warehouse.

   - ``metric``: the original query with its one metric replaced, then :func:`finetune.synth.gold_verdict`
     (compile, SQL gate, run, rows), exactly as a synthesized gold.
   - ``up``: the answer's own query, through the same verdict.
   - ``sql``: the statement through the SQL gate against the catalog, then run; it must return rows. The
     adapter's training target is a metric query, not SQL (:mod:`graphs.metrics.tuned`), so the statement is
     mapped back: among the original query and that query with its metric replaced by each other metric of
     the catalog, the one candidate whose rows equal the statement's (execution match, as the evaluation
     harness scores) becomes the gold. None or several: the statement is kept as an SQL example (an evaluation
     candidate with ``gold_sql``), never trained on, since guessing a query for it would teach a wrong one.
3. Cleaning: the examples go through :func:`finetune.clean.clean_examples`, decontamination against every
   evaluation question (and the held-out questions, when merged) included.

Every example carries its provenance: the feedback id, its trace id and what kind of feedback it was.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evals.scorers.execution import execution_match
from finetune.clean import CleaningConfig, clean_examples
from finetune.examples import Language, QueryExample, examples_hash, write_examples
from finetune.feedback import FeedbackRecord
from finetune.pipeline import TrainingData
from finetune.synth import gold_query_model, gold_verdict
from knowledge.catalog import Catalog
from kubeai.errors import KubeAIError, TrainingError
from kubeai.files import write_text_atomic
from kubeai.language import detect_language
from tools.metric_query import compile_metric_query
from tools.sql_gate import GateContext, check_sql
from tools.warehouse import SQLRunner

__all__ = [
    "UNUSABLE_REASONS",
    "Candidate",
    "FeedbackConversion",
    "Kind",
    "check_gold",
    "classify",
    "convert_feedback",
    "with_feedback",
    "write_feedback",
]

Kind = Literal["sql", "metric", "up", "negative"]
UNUSABLE_REASONS = ("no_question", "not_metrics", "no_query", "not_one_metric", "up_without_query")
"""Why a stored record cannot become an example or a negative, as :attr:`FeedbackConversion.unusable` counts."""

MAX_ROWS = 1000


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A record and what it can teach: ``query`` is the gold to check (``None`` for SQL and negatives)."""

    record: FeedbackRecord
    kind: Kind
    query: dict[str, Any] | None = None

    @property
    def provenance(self) -> dict[str, str | None]:
        """Where the example came from."""
        return {"feedback_id": self.record.id, "trace_id": self.record.trace_id, "kind": self.kind}

    @property
    def language(self) -> Language:
        """The question's language."""
        return "zh" if detect_language(self.record.question or "") == "zh" else "en"


@dataclass(frozen=True, kw_only=True)
class FeedbackConversion:
    """What the feedback became, and what each stage removed.

    Attributes:
        examples: Training examples that passed every stage, with provenance.
        sql_examples: Gated, non-empty corrected SQL that maps to no single metric query: evaluation candidates
            (``question``, ``language``, ``gold_sql``, ``provenance``).
        negatives: Thumbs down without a correction to check: evaluation candidates, never gold.
        stored: Records read.
        unusable: Records that can teach nothing, by reason (:data:`UNUSABLE_REASONS`).
        usable: Records with a gold to check (corrected SQL or metric, thumbs up).
        failed: Golds that failed, by check (``compile``, ``gate``, ``run``, ``empty``).
        passed: Golds that passed (examples and SQL examples).
        cleaning: The cleaning stages' report on the examples (``decontaminated`` among them).
    """

    examples: tuple[QueryExample, ...]
    sql_examples: tuple[dict[str, Any], ...]
    negatives: tuple[dict[str, Any], ...]
    stored: int
    unusable: dict[str, int]
    usable: int
    failed: dict[str, int]
    passed: int
    cleaning: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The counts as JSON-ready data."""
        return {
            "stored": self.stored,
            "unusable": dict(self.unusable),
            "negatives": len(self.negatives),
            "usable": self.usable,
            "failed_gold_checks": dict(self.failed),
            "passed_gold_checks": self.passed,
            "sql_examples": len(self.sql_examples),
            "cleaning": dict(self.cleaning),
            "examples": len(self.examples),
        }


def classify(record: FeedbackRecord) -> Candidate | str:
    """What ``record`` can teach (stage 1): a :class:`Candidate`, or the reason it can teach nothing."""
    if not (record.question or "").strip():
        return "no_question"
    if record.assistant not in (None, "metrics"):
        return "not_metrics"
    fix = record.correction
    if fix is not None and fix.sql:
        return Candidate(record=record, kind="sql")
    if fix is not None and fix.metric:
        return _metric_candidate(record, fix.metric.strip())
    if record.rating == "down" or fix is not None:
        return Candidate(record=record, kind="negative")
    return Candidate(record=record, kind="up", query=dict(record.query)) if record.query else "up_without_query"


def _metric_candidate(record: FeedbackRecord, metric: str) -> Candidate | str:
    """The original query with its one metric replaced by ``metric``; a query with several cannot say which."""
    query = record.query
    if query is None:
        return "no_query"
    if len(query.get("metrics", [])) != 1 or query.get("calculations"):
        return "not_one_metric"
    return Candidate(record=record, kind="metric", query={**query, "metrics": [metric]})


def check_gold(
    candidate: Candidate, catalog: Catalog, runner: SQLRunner, *, timeout_s: float = 30.0
) -> QueryExample | dict[str, Any] | str:
    """Check a usable candidate's gold on the warehouse (stage 2).

    Returns:
        A training example; for corrected SQL that maps to no single metric query, an SQL example (a mapping with
        ``gold_sql``); or why the gold failed (``compile``, ``gate``, ``run``, ``empty``).
    """
    if candidate.kind != "sql":
        assert candidate.query is not None, "classify() gives metric and up candidates a query"
        reason = gold_verdict(catalog, runner, candidate.query, timeout_s=timeout_s)
        return reason if reason is not None else _example(candidate, candidate.query)
    return _check_sql(candidate, catalog, runner, timeout_s=timeout_s)


def _check_sql(
    candidate: Candidate, catalog: Catalog, runner: SQLRunner, *, timeout_s: float
) -> QueryExample | dict[str, Any] | str:
    """A corrected statement through the gate and the warehouse, then mapped back to a metric query if it can be."""
    statement = candidate.record.correction.sql if candidate.record.correction is not None else None
    assert statement, "classify() gives sql candidates a corrected statement"
    gate = _gate(catalog, runner)
    try:
        sql = check_sql(statement, gate).sql
    except KubeAIError:
        return "gate"
    try:
        frame = runner.run(sql, max_rows=MAX_ROWS, timeout_s=timeout_s).frame
    except KubeAIError:
        return "run"
    if frame.empty or frame.isna().all(axis=None):
        return "empty"
    rows = frame.itertuples(index=False, name=None)
    query = _query_for(list(rows), candidate.record.query, catalog, runner, gate, timeout_s=timeout_s)
    if query is not None:
        return _example(candidate, query)
    return {
        "question": candidate.record.question,
        "language": candidate.language,
        "gold_sql": sql,
        "provenance": candidate.provenance,
    }


def convert_feedback(
    records: Iterable[FeedbackRecord],
    catalog: Catalog,
    runner: SQLRunner,
    *,
    eval_questions: Sequence[str],
    cleaning: CleaningConfig | None = None,
    timeout_s: float = 30.0,
) -> FeedbackConversion:
    """Run every stage over the stored feedback; see the module docstring.

    Args:
        records: The stored feedback (:meth:`finetune.feedback.FeedbackStore.recent`).
        catalog: The catalog the examples are for.
        runner: Its warehouse, read-only.
        eval_questions: Questions no training example may be near: every evaluation question, and the
            held-out questions when the examples join synthesized data.
        cleaning: The cleaning thresholds (default: the pipeline's).
        timeout_s: Cancel any one gold query after this many seconds.
    """
    stored = list(records)
    unusable: Counter[str] = Counter(dict.fromkeys(UNUSABLE_REASONS, 0))
    failed: Counter[str] = Counter(dict.fromkeys(("compile", "gate", "run", "empty"), 0))
    candidates: list[Candidate] = []
    negatives: list[dict[str, Any]] = []
    for record in stored:
        verdict = classify(record)
        if isinstance(verdict, str):
            unusable[verdict] += 1
        elif verdict.kind == "negative":
            negatives.append(_negative(verdict))
        else:
            candidates.append(verdict)
    examples: list[QueryExample] = []
    sql_examples: list[dict[str, Any]] = []
    for candidate in candidates:
        checked = check_gold(candidate, catalog, runner, timeout_s=timeout_s)
        if isinstance(checked, str):
            failed[checked] += 1
        elif isinstance(checked, QueryExample):
            examples.append(checked)
        else:
            sql_examples.append(checked)
    cleaned = clean_examples(examples, eval_questions=eval_questions, config=cleaning)
    return FeedbackConversion(
        examples=cleaned.kept,
        sql_examples=tuple(sql_examples),
        negatives=tuple(negatives),
        stored=len(stored),
        unusable=dict(unusable),
        usable=len(candidates),
        failed=dict(failed),
        passed=len(examples) + len(sql_examples),
        cleaning=cleaned.to_json(),
    )


def with_feedback(data: TrainingData, examples: Sequence[QueryExample], *, alone: bool = False) -> TrainingData:
    """The training data with the feedback examples added, or (``alone``) in place of the synthesized ones.

    The held-out questions stay the synthesized ones, so the gate measures every run on the same questions. A
    synthesized example asking a question a user corrected (the same words, casefolded) gives way to the
    correction.

    Raises:
        TrainingError: ``alone`` and no feedback example survived.
    """
    if alone and not examples:
        raise TrainingError(
            "No feedback example passed the gold checks and cleaning, so there is nothing to train on alone; "
            "drop --feedback-only to merge with the synthesized data, or collect more feedback."
        )
    corrected = {e.question.casefold() for e in examples}
    kept = () if alone else tuple(e for e in data.train if e.question.casefold() not in corrected)
    train = (*kept, *examples)
    report = dataclasses.replace(data.report, train=len(train), data_hash=examples_hash(train))
    return dataclasses.replace(data, train=train, report=report)


def write_feedback(folder: Path, data: TrainingData, conversion: FeedbackConversion) -> None:
    """Write the training data as :func:`finetune.pipeline.load_data` reads it, and the feedback's own files.

    ``folder`` gets ``train.jsonl``, ``held_out.jsonl`` and ``data_report.json``; ``folder/feedback`` gets
    ``examples.jsonl`` (training examples with provenance), ``sql_examples.jsonl`` and ``negatives.jsonl``
    (evaluation candidates) and ``report.json`` (the counts per stage). Every file is written atomically.
    """
    write_examples(folder / "train.jsonl", data.train)
    write_examples(folder / "held_out.jsonl", data.held_out)
    write_text_atomic(folder / "data_report.json", json.dumps(data.report.to_json(), ensure_ascii=False, indent=2))
    own = folder / "feedback"
    write_examples(own / "examples.jsonl", conversion.examples)
    for name, rows in (("sql_examples", conversion.sql_examples), ("negatives", conversion.negatives)):
        write_text_atomic(own / f"{name}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    write_text_atomic(own / "report.json", json.dumps(conversion.to_json(), ensure_ascii=False, indent=2))


def _example(candidate: Candidate, query: Mapping[str, Any]) -> QueryExample:
    return QueryExample(
        question=(candidate.record.question or "").strip(),
        language=candidate.language,
        query=dict(query),
        intent=f"feedback_{candidate.kind}",
        source="feedback",
        provenance=candidate.provenance,
    )


def _negative(candidate: Candidate) -> dict[str, Any]:
    record = candidate.record
    return {
        "question": record.question,
        "language": candidate.language,
        "answer": record.answer,
        "sql": record.sql,
        "query": record.query,
        "comment": record.correction.text if record.correction is not None else None,
        "provenance": candidate.provenance,
    }


def _gate(catalog: Catalog, runner: SQLRunner) -> GateContext:
    return GateContext(
        schema=catalog.schema_mapping(),
        source_dialect=catalog.warehouse.dialect,
        target_dialect=runner.dialect,
        max_rows=MAX_ROWS,
    )


def _query_for(
    rows: Sequence[Sequence[Any]],
    original: Mapping[str, Any] | None,
    catalog: Catalog,
    runner: SQLRunner,
    gate: GateContext,
    *,
    timeout_s: float,
) -> dict[str, Any] | None:
    """The one candidate query (the original, or it with another metric) whose rows equal ``rows``; else ``None``."""
    if original is None:
        return None
    candidates = [dict(original)]
    if len(original.get("metrics", [])) == 1 and not original.get("calculations"):
        current = original["metrics"][0]
        candidates += [{**original, "metrics": [m.name]} for m in catalog.metrics if m.name != current]
    model = gold_query_model(catalog)
    matches = []
    for query in candidates:
        try:
            sql = check_sql(compile_metric_query(model.model_validate(query), catalog).sql, gate).sql
            gold = runner.run(sql, max_rows=MAX_ROWS, timeout_s=timeout_s).frame
        except (KubeAIError, ValueError):
            continue
        if execution_match(rows, list(gold.itertuples(index=False, name=None))):
            matches.append(query)
            if len(matches) > 1:
                return None
    return matches[0] if matches else None
