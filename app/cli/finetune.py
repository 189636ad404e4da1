"""``kubeai finetune data | train`` and ``kubeai onboard``: the method's third step, as commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli._context import config as load_project_config
from kubeai.config import ProjectConfig

__all__ = ["app", "onboard_command"]

app = typer.Typer(help="Fine-tune a metrics adapter on a catalog: data, training, eval gate.", no_args_is_help=True)

CatalogOption = Annotated[
    Path | None, typer.Option("--catalog", help="Metric catalog YAML (default: warehouse.catalog or the demo).")
]
DbOption = Annotated[str | None, typer.Option("--db", help="Warehouse: DuckDB file or URL (default: warehouse.url).")]


@app.command("data")
def data(
    ctx: typer.Context,
    catalog: CatalogOption = None,
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the data (default: data_dir/finetune/<catalog>).")
    ] = None,
) -> None:
    """Synthesize, clean and split the training data of a catalog; print what each stage made and removed."""
    import json

    from app.onboarding import EVAL_DATASETS
    from evals.dataset import eval_questions
    from finetune.pipeline import build_data
    from knowledge.catalog import load_catalog
    from tools.warehouse import open_runner

    cfg = load_project_config(ctx)
    catalog_path, url = _sources(cfg, catalog, db)
    loaded = load_catalog(catalog_path)
    folder = out or cfg.data_dir / "finetune" / loaded.name
    runner = open_runner(url, base_dir=catalog_path.resolve().parent)
    try:
        result = build_data(
            loaded,
            runner,
            recipe=cfg.finetune,
            eval_questions=eval_questions(EVAL_DATASETS),
            folder=folder,
            progress=typer.echo,
        )
    finally:
        runner.close()
    typer.echo(json.dumps(result.report.to_json(), ensure_ascii=False, indent=2))
    typer.echo(f"written to {folder}")


@app.command("train")
def train(
    ctx: typer.Context,
    catalog: CatalogOption = None,
    db: DbOption = None,
    report: Annotated[
        Path | None, typer.Option(help="Report folder (default: data_dir/finetune/<catalog>/run).")
    ] = None,
) -> None:
    """Train the catalog's metrics adapter, gate it against the model it replaces, promote it if it passes."""
    _run(ctx, catalog=catalog, db=db, report=report, steps=("rag",))


def onboard_command(
    ctx: typer.Context,
    catalog: CatalogOption = None,
    db: DbOption = None,
    report: Annotated[Path | None, typer.Option(help="Report folder (default: data_dir/onboard/<catalog>).")] = None,
) -> None:
    """Take a warehouse through PROMPT -> RAG -> RAG + LoRA, measure each step, and leave it ready for `kubeai ask`."""
    _run(ctx, catalog=catalog, db=db, report=report, steps=("prompt", "rag"), onboarding=True)


def _run(
    ctx: typer.Context,
    *,
    catalog: Path | None,
    db: str | None,
    report: Path | None,
    steps: tuple[str, ...],
    onboarding: bool = False,
) -> None:
    from app import runtime
    from app.cli.serving import server_if_needed
    from app.onboarding import onboard
    from knowledge.catalog import load_catalog

    cfg = load_project_config(ctx)
    catalog_path, url = _sources(cfg, catalog, db)
    name = load_catalog(catalog_path).name
    folder = report or cfg.data_dir / ("onboard" if onboarding else "finetune") / name / "run"
    with server_if_needed(cfg, runtime.model_client(cfg)) as client:
        result = onboard(
            cfg, catalog_path=catalog_path, db_url=url, client=client, report_dir=folder, steps=steps,
            progress=typer.echo,
        )  # fmt: skip
    typer.echo("")
    typer.echo(result.table())
    typer.echo(f"\nreports: {folder / 'report.json'}, {folder / 'report.html'}")
    if result.promoted:
        ask = f'kubeai ask --catalog {catalog_path} --db {url} "..."'
        typer.echo(f"{result.adapter} now answers {name}'s questions; try: {ask}")
    else:
        typer.echo(f"{result.adapter} was not promoted; questions keep using the current model.")


def _sources(cfg: ProjectConfig, catalog: Path | None, db: str | None) -> tuple[Path, str]:
    from knowledge.catalog import demo_catalog_path, load_catalog

    path = (catalog or cfg.warehouse.catalog or demo_catalog_path()).resolve()
    url = db or (cfg.warehouse.url if catalog is None else None)
    if url is None:
        connection = load_catalog(path).warehouse.connection
        url = str((path.parent / connection).resolve())
    return path, url
