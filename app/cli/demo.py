"""``kubeai demo``: the main job on the embedded defaults, end to end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from agents.metrics import MetricsAgent
from app import runtime
from app.cli._context import config as load
from app.cli.ask import print_result, write_chart
from app.cli.serving import server_if_needed
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import ProjectConfig
from serving.client import ModelClient

__all__ = ["DEMO_QUESTIONS", "demo"]

DEMO_QUESTIONS = ("上个月各地区的GMV是多少？", "What was the monthly GMV over the last 12 months?")


def demo(
    ctx: typer.Context,
    question: list[str] = typer.Option(list(DEMO_QUESTIONS), "--question", "-q", help="Question (repeatable)."),
    charts: Path | None = typer.Option(None, help="Folder for the charts (default: <data_dir>/demo)."),
) -> None:
    """Build the demo warehouse if needed, start vLLM if none runs, and ask the metrics agent the questions.

    Prints each answer with its SQL and rows, and writes each chart as HTML and PNG.
    """
    cfg = load(ctx)
    ensure_demo_warehouse(cfg)
    out = charts or cfg.data_dir / "demo"
    with server_if_needed(cfg, runtime.model_client(cfg)) as client:
        asyncio.run(_ask_all(cfg, client, question, out))


def ensure_demo_warehouse(cfg: ProjectConfig) -> None:
    """Build the demo DuckDB file named by warehouse.url when the demo catalog is used and the file is missing."""
    url = cfg.warehouse.url
    if cfg.warehouse.catalog is not None or url is None or "://" in url:
        return
    path = Path(url.removeprefix("duckdb:"))
    if not path.exists():
        typer.echo(f"building the demo warehouse at {path} (1M orders, well under a minute)")
        build_demo_warehouse(path)


async def _ask_all(cfg: ProjectConfig, client: ModelClient, questions: list[str], out: Path) -> None:
    async with MetricsAgent.open(cfg, llm=client) as agent:
        for number, text in enumerate(questions, start=1):
            typer.secho(f"\nQ{number}: {text}", fg=typer.colors.CYAN)
            result = await agent.ask(text)
            print_result(result)
            for suffix in (".html", ".png"):
                written = write_chart(result, out / f"chart-{number}{suffix}")
                if written is not None:
                    typer.echo(f"chart: {written}")
