"""``kubeai plan``: split a multi-step request into tasks, run them in parallel, answer with provenance."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import plotly.io
import typer

from agents.planner import PlannerAgent, PlanRun
from app.cli._context import EXIT_ABSTAINED, model_client
from app.cli._context import config as load
from kubeai.config import ProjectConfig
from kubeai.errors import KubeAIError
from tools.charts import export_chart

__all__ = ["plan", "print_run", "register"]


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the root CLI."""
    app.command("plan")(plan)


def plan(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    request: str = typer.Argument(..., help="The request, in Chinese or English."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    show_plan: bool = typer.Option(False, "--show-plan", help="Print the task graph before the answer."),
    plan_only: bool = typer.Option(False, "--plan-only", help="Plan and choose models; run nothing."),
    plan_file: Path | None = typer.Option(
        None, "--plan-file", help="Run this JSON plan ({'tasks': [...]}) instead of asking the model for one."
    ),
    mermaid: Path | None = typer.Option(None, help="Write the task graph as a Mermaid file (.mmd)."),
    charts: Path | None = typer.Option(None, help="Folder to write each chart task's figure to (HTML)."),
    model: str | None = typer.Option(None, help="Model or adapter that plans and answers (default: base)."),
    demos: int = typer.Option(2, min=0, max=6, help="Demonstrations shown to the planner (0: zero-shot)."),
) -> None:
    """Plan a multi-step request as a task graph, run it (in parallel where possible) and answer."""
    cfg = load(ctx)
    given = _read_plan(plan_file) if plan_file is not None else None
    result = asyncio.run(_plan_once(cfg, request, plan_only=plan_only, given=given, model=model, demos=demos))
    if mermaid is not None:
        _write(mermaid, result.mermaid())
    written = write_charts(result, charts) if charts is not None else []
    if as_json:
        payload = result.to_json()
        payload["chart_files"] = [str(p) for p in written]
        typer.echo(json.dumps(payload, ensure_ascii=False, default=str))
        _exit_for(result)
        return
    if show_plan or plan_only:
        print_plan(result)
    if not plan_only:
        print_run(result)
    for path in written:
        typer.echo(f"chart: {path}")
    if mermaid is not None:
        typer.echo(f"plan: {mermaid}")
    _exit_for(result)


def _exit_for(result: PlanRun) -> None:
    """The same exit status with or without ``--json``: 4 declined, 1 every task failed, else 0.

    A run where some tasks failed (``partial``) still answers with what it has and exits 0; its status says so.
    """
    if result.status == "abstained":
        raise typer.Exit(EXIT_ABSTAINED)
    if result.status == "failed":
        raise typer.Exit(1)


async def _plan_once(
    cfg: ProjectConfig,
    request: str,
    *,
    plan_only: bool,
    given: list[dict[str, object]] | None,
    model: str | None,
    demos: int,
) -> PlanRun:
    async with PlannerAgent.open(cfg, model=model, demos=demos, llm=model_client(cfg)) as agent:
        if plan_only:
            return await agent.plan(request)
        return await agent.run(request, plan=given)


def _read_plan(path: Path) -> list[dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise KubeAIError(f"Cannot read the plan file {path} ({exc}); give a JSON file {{'tasks': [...]}}.") from None
    tasks = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise KubeAIError(f"The plan file {path} must hold {{'tasks': [...]}} with one object per task.")
    return tasks


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KubeAIError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def write_charts(result: PlanRun, folder: Path) -> list[Path]:
    """Export every chart a task produced to ``folder/<task id>.html``."""
    written = []
    for report in result.tasks:
        if report.chart is not None and report.status == "ok":
            figure = plotly.io.from_json(json.dumps(report.chart))
            written.append(export_chart(figure, folder / f"{report.task.id}.html"))
    return written


def print_plan(result: PlanRun) -> None:
    """The task graph as an indented list."""
    typer.secho("Plan:", bold=True)
    for report in result.tasks:
        task = report.task
        after = f" after {', '.join(task.depends_on)}" if task.depends_on else ""
        on = f" on {task.model}" if task.model else ""
        args = json.dumps(dict(task.args), ensure_ascii=False)
        typer.echo(f"  {task.id} {task.tool}{on}{after}: {args}")
    for repair in result.repairs:
        typer.echo(f"  (fixed: {repair})")
    typer.echo("")


def print_run(result: PlanRun) -> None:
    """Answer, then each task's outcome, then the facts the answer rests on."""
    typer.secho(result.answer, bold=True)
    typer.echo("")
    marks = {"ok": "ok", "failed": "FAILED", "skipped": "skipped"}
    for report in result.tasks:
        span = ""
        if report.started_s is not None and report.finished_s is not None:
            span = f" [{report.started_s:.2f}-{report.finished_s:.2f}s]"
        first = report.text.splitlines()[0] if report.text else ""
        typer.echo(f"  {report.task.id} {report.task.tool}: {marks.get(report.status, report.status)}{span} {first}")
    facts = result.provenance()
    if facts:
        typer.secho("\nSources:", bold=True)
        for fact in facts:
            typer.echo(f"  {fact}")
    spent = ", ".join(f"{stage} {seconds:.2f}s" for stage, seconds in result.timings.items())
    tokens = sum(c.get("prompt", 0) + c.get("completion", 0) for c in result.tokens.values())
    typer.echo(f"\n[{result.status}; {spent}; {tokens} tokens; up to {result.peak_parallel} tasks at once]")
