"""``kubeai ask`` and ``kubeai chat``: put business questions to the metrics-analysis agent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from agents.metrics import MetricsResult
from app.cli._context import EXIT_ABSTAINED, model_client
from app.cli._context import config as load
from app.cli._threads import check_thread_options, earlier_turns, open_agent, thread_for
from kubeai.config import ProjectConfig
from kubeai.errors import KubeAIError, ModelServerUnavailableError
from tools.charts import export_chart

__all__ = ["ask", "chat", "print_result", "register"]

CHART_SUFFIXES = (".html", ".png", ".json")


def register(app: typer.Typer) -> None:
    """Add ``ask`` and ``chat`` to the root CLI."""
    app.command("ask")(ask)
    app.command("chat")(chat)


def ask(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    question: str = typer.Argument(..., help="The question, in Chinese or English."),
    catalog: Path | None = typer.Option(None, help="Metric catalog YAML (default: warehouse.catalog or the demo)."),
    db: str | None = typer.Option(None, help="Warehouse: DuckDB file or SQLAlchemy URL (default: warehouse.url)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    chart: Path | None = typer.Option(None, help="Write the chart to this .html, .png or .json file."),
    thread: str | None = typer.Option(
        None, help="Continue a stored conversation thread (its id, or enough of its beginning); unknown: an error."
    ),
    new_thread: str | None = typer.Option(None, help="Start a conversation thread under this id (default: a new id)."),
    model: str | None = typer.Option(None, help="Model or LoRA adapter to use (default: base model)."),
) -> None:
    """Answer one question on the warehouse: SQL, rows, a chart and a short answer.

    Exits with status 4 when the agent declines (not a question about the data, or one it cannot answer), with
    the reason as the answer; 1 on an error such as an unreachable warehouse or model server.
    """
    if chart is not None and chart.suffix not in CHART_SUFFIXES:
        raise typer.BadParameter(f"--chart must end in one of {', '.join(CHART_SUFFIXES)}", param_hint="--chart")
    check_thread_options(thread, new_thread)
    cfg = load(ctx)
    result = asyncio.run(
        _ask_once(cfg, question, catalog=catalog, db=db, thread=thread, new_thread=new_thread, model=model)
    )
    written = write_chart(result, chart) if chart is not None else None
    if as_json:
        payload = result.to_json()
        payload["chart_file"] = str(written) if written else None
        typer.echo(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        print_result(result)
        if written:
            typer.echo(f"chart: {written}")
        typer.echo(f"thread: {result.thread_id} (ask a follow-up with --thread {result.thread_id})")
    if result.abstained:
        raise typer.Exit(EXIT_ABSTAINED)


async def _ask_once(
    cfg: ProjectConfig,
    question: str,
    *,
    catalog: Path | None,
    db: str | None,
    thread: str | None,
    new_thread: str | None,
    model: str | None,
) -> MetricsResult:
    async with open_agent(cfg, catalog_path=catalog, db_url=db, model=model, llm=model_client(cfg)) as agent:
        return await agent.ask(question, thread_id=await thread_for(agent, thread=thread, new_thread=new_thread))


def write_chart(result: MetricsResult, path: Path) -> Path | None:
    """Export the result's chart; ``None`` when the result has no chart (an abstention or an empty table)."""
    if result.chart is None:
        return None
    import plotly.io

    return export_chart(plotly.io.from_json(json.dumps(result.chart)), path)


def print_result(result: MetricsResult, *, max_rows: int = 20) -> None:
    """Human-readable output: answer, SQL, table (headed by the columns' labels with units), timings."""
    typer.secho(result.answer, bold=True)
    if result.abstained:
        return
    if result.sql:
        typer.echo(f"\nSQL ({result.dialect}, {result.path} path):\n{result.sql}")
    if not result.frame.empty:
        with pd.option_context("display.max_columns", 20, "display.width", 160):
            typer.echo("\n" + result.frame.head(max_rows).to_string(index=False, header=result.headers))
        if len(result.frame) > max_rows:
            typer.echo(f"... {len(result.frame) - max_rows} more rows")
    spent = ", ".join(f"{node} {seconds:.2f}s" for node, seconds in result.timings.items())
    tokens = sum(c.get("prompt", 0) + c.get("completion", 0) for c in result.tokens.values())
    typer.echo(f"\n[{spent}; {tokens} tokens]")


def chat(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    catalog: Path | None = typer.Option(None, help="Metric catalog YAML (default: warehouse.catalog or the demo)."),
    db: str | None = typer.Option(None, help="Warehouse: DuckDB file or SQLAlchemy URL (default: warehouse.url)."),
    model: str | None = typer.Option(None, help="Model or LoRA adapter to use (default: base model)."),
    thread: str | None = typer.Option(
        None, help="Resume a stored conversation thread (its id, or enough of its beginning); unknown: an error."
    ),
    new_thread: str | None = typer.Option(None, help="Start the conversation under this id (default: a new id)."),
) -> None:
    """A multi-turn terminal conversation with the metrics agent (follow-ups understood; /quit to leave).

    Prints the thread's id; ``kubeai chat --thread ID`` resumes it later, showing its last turns.
    """
    check_thread_options(thread, new_thread)
    cfg = load(ctx)
    asyncio.run(_chat(cfg, catalog=catalog, db=db, model=model, thread=thread, new_thread=new_thread))


async def _chat(
    cfg: ProjectConfig,
    *,
    catalog: Path | None,
    db: str | None,
    model: str | None,
    thread: str | None = None,
    new_thread: str | None = None,
) -> None:
    async with open_agent(cfg, catalog_path=catalog, db_url=db, model=model, llm=model_client(cfg)) as agent:
        resumed = thread is not None
        thread = await thread_for(agent, thread=thread, new_thread=new_thread)
        typer.echo(f"metrics chat, thread {thread}{' (resumed)' if resumed else ''}")
        if resumed:
            for line in await earlier_turns(agent, thread):
                typer.echo(line)
        typer.echo(f"ask in Chinese or English, /quit to leave; resume later with: kubeai chat --thread {thread}")
        while True:
            try:
                question = await asyncio.to_thread(input, "\n> ")
            except (EOFError, KeyboardInterrupt):
                break
            if question.strip() in {"/quit", "/exit", "/q"}:
                break
            if not question.strip():
                continue
            try:
                result = await agent.ask(question, thread_id=thread)
                while result.pending_sql is not None:
                    result = await agent.resume(thread, await _review(result.pending_sql))
            except ModelServerUnavailableError:
                raise  # no usable model server (down, frozen, or not OpenAI-compatible): no question can succeed
            except KubeAIError as exc:
                typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
                continue
            print_result(result)
        typer.echo(f"\nresume with: kubeai chat --thread {thread}")


async def _review(sql: str) -> Any:
    typer.echo(f"\nSQL to run:\n{sql}")
    answer = (await asyncio.to_thread(input, "run it? [y]es / [n]o / [e]dit: ")).strip().lower()
    if answer.startswith("y"):
        return "approve"
    if answer.startswith("e"):
        edited = await asyncio.to_thread(input, "SQL: ")
        return {"action": "edit", "sql": edited}
    return "reject"
