"""Evaluate a prompt app on an ``app`` dataset: ask every input, score the answer, render pages in Chromium.

The harness stands beside ``agents/`` and never imports an app: the caller passes a :data:`RunApp` that answers one
input (``app/`` fills it with :func:`agents.apps.run_app`). Two scorers:

* ``page``: the answer is a page spec; scored for validity, component recall and field recall against the item's
  reference (:mod:`evals.scorers.page`), and its rendered HTML is opened in headless Chromium
  (:func:`tools.pages.check_render`): a screenshot per item, and the render counts as clean only with no console
  message.
* ``choice``: the answer is a label; scored as accuracy against ``reference.choice``.

An answer that does not fit the app's contract (:class:`~kubeai.errors.ModelOutputError`) scores as invalid; an
unreachable server stops the run. Everything goes under ``out_dir``: ``items/<id>.json``, ``pages/<id>.html``,
``screenshots/<id>.png``, ``summary.json`` and ``report.md``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from evals._records import write_json
from evals.dataset import Dataset
from evals.items import AppItem
from evals.scorers.aggregate import percentile
from evals.scorers.page import PageReference, page_scores
from kubeai.errors import DatasetError, ModelOutputError, ModelServerUnavailableError, ToolError
from tools.pages import check_render

__all__ = ["AppAnswer", "AppEvalResult", "RunApp", "Scorer", "app_eval_table", "evaluate_app"]

Scorer = Literal["page", "choice"]


class AppAnswer(Protocol):
    """What one run of an app gave, as the harness scores it."""

    @property
    def data(self) -> Any:
        """The answer as JSON data: a label, or an object."""
        ...

    @property
    def html(self) -> str | None:
        """The rendered document, for apps that render one."""
        ...

    @property
    def latency_s(self) -> float:
        """Seconds the model took."""
        ...


RunApp = Callable[[str], Awaitable[AppAnswer]]
"""Answers one input with the app under evaluation."""


@dataclass(frozen=True, kw_only=True)
class AppEvalResult:
    """A finished evaluation.

    Attributes:
        records: One scored record per item, in dataset order.
        summary: Figures per slice (``all``, ``en``, ``zh``).
        out_dir: Where records, pages, screenshots and the report went.
    """

    records: tuple[dict[str, Any], ...]
    summary: Mapping[str, Mapping[str, float]]
    out_dir: Path


async def evaluate_app(
    dataset: Dataset,
    run: RunApp,
    *,
    scorer: Scorer,
    out_dir: Path,
    app: str,
    render: bool = True,
    concurrency: int = 1,
    limit: int | None = None,
) -> AppEvalResult:
    """Run ``run`` over every item of ``dataset`` and score each answer.

    Args:
        dataset: An ``app`` dataset.
        run: Answers one input.
        scorer: ``page`` or ``choice``.
        out_dir: Where everything is written.
        app: The app's name, for the report.
        render: For ``page``: open each page in headless Chromium (off: no render figures).
        concurrency: Inputs in flight at once.
        limit: Only the first ``limit`` items.

    Returns:
        The records and summary.

    Raises:
        DatasetError: The dataset is not an ``app`` dataset, or an item's reference does not fit the scorer.
        ModelServerUnavailableError: The model server cannot be reached.
    """
    items = dataset.items_of(AppItem)[:limit]
    references = [_reference(dataset, item, scorer) for item in items]
    out_dir.mkdir(parents=True, exist_ok=True)
    gate = asyncio.Semaphore(concurrency)

    async def one(item: AppItem, reference: Any) -> dict[str, Any]:
        async with gate:
            return await _score_item(item, reference, run, scorer=scorer, out_dir=out_dir, render=render)

    records = tuple(await asyncio.gather(*(one(i, r) for i, r in zip(items, references, strict=True))))
    summary = {
        "all": _summarize(records, scorer, render),
        **{lang: _summarize([r for r in records if r["language"] == lang], scorer, render) for lang in ("en", "zh")},
    }
    head = {"app": app, "dataset": dataset.manifest.name, "version": dataset.manifest.version, "scorer": scorer}
    write_json(out_dir / "summary.json", {**head, "summary": summary})
    table = app_eval_table(summary, scorer)
    report = f"# {app} on {dataset.manifest.name} {dataset.manifest.version}\n\n{table}\n"
    (out_dir / "report.md").write_text(report, encoding="utf-8")
    return AppEvalResult(records=records, summary=summary, out_dir=out_dir)


def app_eval_table(summary: Mapping[str, Mapping[str, float]], scorer: Scorer) -> str:
    """The summary as a Markdown table, one row per slice."""
    if scorer == "page":
        columns = [
            ("items", "n", "{:.0f}"),
            ("valid spec", "valid", "{:.0%}"),
            ("component recall", "component_recall", "{:.2f}"),
            ("field recall", "field_recall", "{:.2f}"),
            ("clean render", "render_clean", "{:.0%}"),
            ("p50 latency (s)", "p50_latency_s", "{:.1f}"),
        ]
    else:
        columns = [
            ("items", "n", "{:.0f}"),
            ("valid answer", "valid", "{:.0%}"),
            ("accuracy", "accuracy", "{:.0%}"),
            ("p50 latency (s)", "p50_latency_s", "{:.1f}"),
        ]
    lines = [
        "| slice | " + " | ".join(title for title, _, _ in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name, figures in summary.items():
        cells = [fmt.format(figures[key]) if key in figures else "-" for _, key, fmt in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _reference(dataset: Dataset, item: AppItem, scorer: Scorer) -> Any:
    if scorer == "choice":
        choice = item.reference.get("choice")
        if not isinstance(choice, str) or not choice:
            raise DatasetError(
                f"Dataset {dataset.manifest.name!r} item {item.id!r} needs reference.choice, the expected label.",
                file=str(dataset.root / dataset.manifest.items),
            )
        return choice
    try:
        return PageReference.model_validate(item.reference)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise DatasetError(
            f"Dataset {dataset.manifest.name!r} item {item.id!r} reference.{where}: {error['msg']}; fix that item.",
            file=str(dataset.root / dataset.manifest.items),
        ) from None


async def _score_item(
    item: AppItem, reference: Any, run: RunApp, *, scorer: Scorer, out_dir: Path, render: bool
) -> dict[str, Any]:
    record: dict[str, Any] = {"id": item.id, "language": item.language, "input": item.input, "tags": item.tags}
    answer: AppAnswer | None = None
    try:
        answer = await run(item.input)
    except ModelServerUnavailableError:
        raise
    except ModelOutputError as exc:
        record["error"] = str(exc)
    record["output"] = answer.data if answer is not None else None
    record["latency_s"] = answer.latency_s if answer is not None else None
    if scorer == "choice":
        record["valid"] = answer is not None
        record["correct"] = answer is not None and answer.data == reference
        record["expected"] = reference
    else:
        scores = page_scores(answer.data if answer is not None else None, reference)
        record.update(
            valid=scores.valid,
            component_recall=scores.component_recall,
            field_recall=scores.field_recall,
            missing_components=scores.missing_components,
            missing_fields=scores.missing_fields,
        )
        if render:
            record.update(await _render(item, answer, out_dir))
    write_json(out_dir / "items" / f"{item.id}.json", record)
    return record


async def _render(item: AppItem, answer: AppAnswer | None, out_dir: Path) -> dict[str, Any]:
    if answer is None or answer.html is None:
        return {"render_clean": False, "console": [], "screenshot": None}
    page = out_dir / "pages" / f"{item.id}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(answer.html, encoding="utf-8")
    try:
        check = await check_render(page, out_dir / "screenshots" / f"{item.id}.png")
    except ToolError as exc:
        return {"render_clean": False, "console": [str(exc)], "screenshot": None}
    return {"render_clean": check.clean, "console": list(check.console), "screenshot": str(check.screenshot)}


def _summarize(records: Sequence[Mapping[str, Any]], scorer: Scorer, render: bool) -> dict[str, float]:
    n = len(records)
    if not n:
        return {"n": 0}
    latencies = [r["latency_s"] for r in records if r["latency_s"] is not None]
    figures: dict[str, float] = {
        "n": n,
        "valid": sum(bool(r["valid"]) for r in records) / n,
        "p50_latency_s": percentile(latencies, 50),
    }
    if scorer == "choice":
        figures["accuracy"] = sum(bool(r["correct"]) for r in records) / n
        return figures
    figures["component_recall"] = sum(r["component_recall"] for r in records) / n
    figures["field_recall"] = sum(r["field_recall"] for r in records) / n
    if render:
        figures["render_clean"] = sum(bool(r["render_clean"]) for r in records) / n
    return figures
