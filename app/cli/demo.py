"""``kubeai demo``: the main job on the embedded defaults, end to end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from agents.metrics import MetricsAgent, metrics_role
from agents.planner import PlannerAgent
from app import runtime
from app.cli._context import config as load
from app.cli.ask import print_result, write_chart
from app.cli.plan import print_plan, print_run, write_charts
from app.cli.serving import server_if_needed
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import ProjectConfig
from kubeai.errors import KubeAIError, PlanningError
from serving.client import ModelClient

__all__ = ["DEMO_QUESTIONS", "DEMO_REQUEST", "demo"]

DEMO_QUESTIONS = ("上个月各地区的GMV是多少？", "What was the monthly GMV over the last 12 months?")
DEMO_REQUEST = "Compare last month's GMV and refund amount by region, chart the GMV, and summarize in English."


def demo(
    ctx: typer.Context,
    question: list[str] = typer.Option(list(DEMO_QUESTIONS), "--question", "-q", help="Question (repeatable)."),
    request: str = typer.Option(DEMO_REQUEST, help="A multi-step request for the planner ('' to skip it)."),
    charts: Path | None = typer.Option(None, help="Folder for the charts (default: <data_dir>/demo)."),
) -> None:
    """Build the demo warehouse, start vLLM if none runs, ask the questions, then plan and run one request.

    Prints each answer with its SQL and rows and the planner's task graph, outcomes and sources; writes each
    chart as HTML and PNG and the plan as Mermaid.
    """
    cfg = load(ctx)
    ensure_demo_warehouse(cfg)
    out = charts or cfg.data_dir / "demo"
    with server_if_needed(cfg, runtime.model_client(cfg)) as client:
        asyncio.run(_ask_all(cfg, client, question, out))
        if request.strip():
            asyncio.run(_plan(cfg, client, request, out))


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
        _print_method(cfg, agent)
        for number, text in enumerate(questions, start=1):
            typer.secho(f"\nQ{number}: {text}", fg=typer.colors.CYAN)
            result = await agent.ask(text)
            print_result(result)
            for suffix in (".html", ".png"):
                written = write_chart(result, out / f"chart-{number}{suffix}")
                if written is not None:
                    typer.echo(f"chart: {written}")


def _print_method(cfg: ProjectConfig, agent: MetricsAgent) -> None:
    """Which model answers, and what each step of the method bought on this catalog (from the adapter's card)."""
    tuned = agent.context.tuned_model
    catalog = agent.context.catalog
    try:
        versions = runtime.adapter_store(cfg).versions(role=metrics_role(catalog))
    except KubeAIError:
        versions = []
    if tuned is None:
        typer.echo(f"metrics questions: base model {cfg.models.base.name} (no adapter is promoted for {catalog.name})")
        if not versions:
            return
        gate = versions[0].card.get("gate") or {}
        typer.echo(f"  adapter {versions[0].name} is installed, not promoted: {gate.get('reason', 'no gate decision')}")
        card = versions[0].card
    else:
        typer.echo(f"metrics questions: adapter {tuned}, fine-tuned on {catalog.name}")
        card = next((v.card for v in versions if v.name == tuned), {})
    steps = (card.get("onboarding") or {}).get("steps") or {}
    if steps:
        typer.echo("  measured on held-out questions it was not trained on:")
        labels = {"prompt": "PROMPT", "rag": "RAG", "rag_lora": "RAG + LoRA"}
        for name, score in steps.items():
            en, zh = score.get("en"), score.get("zh")
            typer.echo(
                f"    {labels.get(name, name):<11} {score.get('accuracy', 0):>6.1%}"
                f"  EN {'-' if en is None else f'{en:.0%}'}  ZH {'-' if zh is None else f'{zh:.0%}'}"
            )
    evaluation = card.get("evaluation") or {}
    if evaluation:
        earlier = ", ".join(
            f"{k} {v.get('accuracy', 0):.1%}" for k, v in (evaluation.get("compared_with") or {}).items()
        )
        typer.echo(
            f"  on {evaluation.get('dataset', 'the evaluation set')}: {evaluation.get('accuracy', 0):.1%}"
            + (f" (base model: {earlier})" if earlier else "")
        )


async def _plan(cfg: ProjectConfig, client: ModelClient, request: str, out: Path) -> None:
    typer.secho(f"\nPlan: {request}", fg=typer.colors.CYAN)
    async with PlannerAgent.open(cfg, llm=client) as agent:
        try:
            result = await agent.run(request)
        except PlanningError as exc:  # the small model may not manage a valid graph; say so and carry on
            typer.secho(f"no plan: {exc}", fg=typer.colors.YELLOW)
            return
    print_plan(result)
    print_run(result)
    for path in write_charts(result, out / "plan"):
        typer.echo(f"chart: {path}")
    mermaid = out / "plan.mmd"
    mermaid.write_text(result.mermaid(), encoding="utf-8")
    typer.echo(f"plan: {mermaid}")
