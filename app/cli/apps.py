"""``kubeai app``: list, run and evaluate prompt apps (one YAML file each: docs/apps.md)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.cli._context import config as load_project_config
from app.cli._context import model_client, note
from kubeai.config import ProjectConfig

if TYPE_CHECKING:
    from agents.apps import AppRegistry

__all__ = ["app"]

app = typer.Typer(
    help="Prompt apps: a need met by a well-built prompt alone (e.g. a product description to a page prototype).",
    no_args_is_help=True,
)


@app.command("list")
def list_apps(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the apps as JSON.")] = False,
) -> None:
    """List the bundled apps and those in apps.dir, each validated."""
    registry = _registry(load_project_config(ctx))
    rows: list[dict[str, Any]] = [
        {
            "name": item.name,
            "output": item.contract.kind,
            "shots": len(item.examples),
            "chain_of_thought": item.spec.chain_of_thought,
            "model": item.spec.model or "(base)",
            "source": "bundled" if item.bundled else str(item.path),
            "description_en": item.description("en"),
            "description_zh": item.description("zh"),
        }
        for item in registry
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        cot = ", chain of thought" if row["chain_of_thought"] else ""
        typer.echo(
            f"{row['name']:<{width}}  {row['output']}, {row['shots']} shots{cot}, {row['model']}, {row['source']}"
        )
        typer.echo(f"{'':<{width}}  {row['description_en']}")
        if row["description_zh"] != row["description_en"]:
            typer.echo(f"{'':<{width}}  {row['description_zh']}")


@app.command("run")
def run(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app, e.g. prototype (see `kubeai app list`).")],
    text: Annotated[str, typer.Argument(metavar="INPUT", help="What to send the app, in English or Chinese.")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the rendered document (a page for prototype) or the JSON answer here.", dir_okay=False
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="A model or adapter instead of the app's own.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer (and any reasoning) as JSON.")] = False,
) -> None:
    """Answer INPUT with the app; its answer is decoded under the app's output contract."""
    from agents.apps import render, run_app

    config = load_project_config(ctx)
    chosen = _registry(config).get(name)
    result = asyncio.run(run_app(chosen, text, model_client(config), model=model))
    document = render(chosen, result)
    data = result.data()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        written = document if document is not None else json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        out.write_text(written, encoding="utf-8")
        note(f"{chosen.name}: {result.model} answered in {result.latency_s:.1f} s; wrote {out}")
    if as_json:
        answer = {"app": chosen.name, "model": result.model, "result": data, "reasoning": result.reasoning}
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    elif out is None or document is None:
        typer.echo(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, indent=2))


@app.command("eval")
def evaluate(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app to evaluate on its dataset (its file's eval.dataset).")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: <data_dir>/evals/apps/<name>).", file_okay=False)
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N items.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=16, help="Inputs in flight at once.")] = 1,
    browser: Annotated[bool, typer.Option(help="Render each page in headless Chromium (page apps).")] = True,
) -> None:
    """Run the app over its dataset, score every answer, and print the table."""
    from agents.apps import ChoiceContract, ModelContract, render, run_app
    from app.onboarding import EVAL_DATASETS
    from evals.apps import Scorer, app_eval_table, evaluate_app
    from evals.dataset import load_dataset
    from kubeai.errors import KubeAIError

    config = load_project_config(ctx)
    chosen = _registry(config).get(name)
    folder = chosen.eval_dataset(EVAL_DATASETS)
    if folder is None:
        raise KubeAIError(f"App {name!r} names no eval dataset; add `eval: {{dataset: ...}}` to {chosen.path}.")
    scorer: Scorer
    if isinstance(chosen.contract, ChoiceContract):
        scorer = "choice"
    elif isinstance(chosen.contract, ModelContract) and chosen.contract.name == "page":
        scorer = "page"
    else:
        raise KubeAIError(f"App {name!r} answers with a {chosen.contract.kind} contract, which has no scorer yet.")
    dataset = load_dataset(folder)
    llm = model_client(config)

    async def answer(text: str) -> _Answer:
        result = await run_app(chosen, text, llm)
        return _Answer(data=result.data(), html=render(chosen, result), latency_s=result.latency_s)

    target = out or config.data_dir / "evals" / "apps" / name
    note(f"evaluating {name} on {dataset.manifest.name} {dataset.manifest.version} ({len(dataset)} items)...")
    result = asyncio.run(
        evaluate_app(
            dataset,
            answer,
            scorer=scorer,
            out_dir=target,
            app=name,
            render=browser,
            concurrency=concurrency,
            limit=limit,
        )
    )
    typer.echo(app_eval_table(result.summary, scorer))
    shots = [r["screenshot"] for r in result.records if r.get("screenshot")]
    typer.echo(
        f"\nrecords, report.md and summary.json in {target}" + (f"; screenshots e.g. {shots[0]}" if shots else "")
    )


@dataclass(frozen=True)
class _Answer:
    data: Any
    html: str | None
    latency_s: float


def _registry(config: ProjectConfig) -> AppRegistry:
    from agents.apps import AppRegistry

    return AppRegistry.load(user_dir=config.apps.dir, models=config.models.names())
