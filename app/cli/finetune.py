"""``kubeai finetune data | train`` and ``kubeai onboard``: the method's third step, as commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli._context import config as load_project_config
from kubeai.config import ProjectConfig

if TYPE_CHECKING:
    from finetune.pipeline import TrainingData
    from knowledge.catalog import Catalog
    from tools.warehouse import SQLRunner

__all__ = ["app", "onboard_command"]

app = typer.Typer(help="Fine-tune a metrics adapter on a catalog: data, training, eval gate.", no_args_is_help=True)

CatalogOption = Annotated[
    Path | None, typer.Option("--catalog", help="Metric catalog YAML (default: warehouse.catalog or the demo).")
]
DbOption = Annotated[str | None, typer.Option("--db", help="Warehouse: DuckDB file or URL (default: warehouse.url).")]


@app.command("data")
def data(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    catalog: CatalogOption = None,
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the data (default: data_dir/finetune/<catalog>).")
    ] = None,
    from_feedback: Annotated[
        bool,
        typer.Option(
            "--from-feedback", help="Add users' ratings and corrections (data_dir/feedback.sqlite) to the data."
        ),
    ] = False,
    feedback_only: Annotated[
        bool,
        typer.Option(
            "--feedback-only", help="With --from-feedback: train on feedback examples alone (held out: synthesized)."
        ),
    ] = False,
    task: Annotated[
        str, typer.Option(help="metrics: questions -> metric queries; planning: requests -> task graphs.")
    ] = "metrics",
) -> None:
    """Synthesize, clean and split the training data of a catalog; print what each stage made and removed.

    With --from-feedback, stored feedback goes through the same gold checks and cleaning and joins the training
    examples; `kubeai finetune train --data FOLDER` trains on the result. With --task planning, requests and their
    gold task graphs are synthesized from the planner's tools and the catalog instead (app/planning_data.py).
    """
    import json

    if task == "planning":
        from app.planning_data import write_planning_data

        cfg = load_project_config(ctx)
        write_planning_data(cfg, _sources(cfg, catalog, db)[0], out, progress=typer.echo)
        return
    if task != "metrics":
        raise typer.BadParameter(f"unknown task {task!r}; use metrics or planning.", param_hint="--task")

    from app.onboarding import EVAL_DATASETS
    from evals.dataset import eval_questions
    from finetune.pipeline import build_data
    from knowledge.catalog import load_catalog
    from tools.warehouse import open_runner

    if feedback_only and not from_feedback:
        raise typer.BadParameter("--feedback-only needs --from-feedback.", param_hint="--feedback-only")
    cfg = load_project_config(ctx)
    catalog_path, url = _sources(cfg, catalog, db)
    loaded = load_catalog(catalog_path)
    folder = out or cfg.data_dir / "finetune" / loaded.name
    runner = open_runner(url, base_dir=catalog_path.resolve().parent)
    try:
        questions = eval_questions(EVAL_DATASETS)
        result = build_data(
            loaded, runner, recipe=cfg.finetune, eval_questions=questions, folder=folder, progress=typer.echo
        )
        if from_feedback:
            result = _with_feedback(
                cfg, loaded, runner, result, questions=questions, folder=folder, alone=feedback_only
            )
    finally:
        runner.close()
    typer.echo(json.dumps(result.report.to_json(), ensure_ascii=False, indent=2))
    typer.echo(f"written to {folder}")


def _with_feedback(
    cfg: ProjectConfig,
    catalog: Catalog,
    runner: SQLRunner,
    data: TrainingData,
    *,
    questions: list[str],
    folder: Path,
    alone: bool,
) -> TrainingData:
    """Convert the stored feedback, join it to ``data`` (or replace its training examples), write both."""
    import json

    from finetune.clean import CleaningConfig
    from finetune.feedback import FeedbackStore
    from finetune.feedback_data import convert_feedback, with_feedback, write_feedback

    records = FeedbackStore.in_data_dir(cfg.data_dir).recent()
    typer.echo(f"checking {len(records)} stored feedback records on the warehouse")
    held_out = [e.question for e in data.held_out]  # a user's question must not leak into the held-out set
    conversion = convert_feedback(
        records,
        catalog,
        runner,
        eval_questions=[*questions, *held_out],
        cleaning=CleaningConfig(seed=cfg.finetune.seed),
    )
    merged = with_feedback(data, conversion.examples, alone=alone)
    write_feedback(folder, merged, conversion)
    counts = conversion.to_json()
    typer.echo(
        f"feedback: {counts['stored']} stored -> {counts['usable']} usable -> {counts['passed_gold_checks']} passed "
        f"gold checks -> {counts['examples']} after cleaning and decontamination "
        f"({counts['sql_examples']} SQL-only and {counts['negatives']} negative evaluation candidates)"
    )
    typer.echo(json.dumps(counts, ensure_ascii=False, indent=2))
    mode = "alone" if alone else "with the synthesized ones"
    typer.echo(f"{len(merged.train)} training examples ({len(conversion.examples)} from feedback, {mode})")
    typer.echo(f"train on them: kubeai finetune train --data {folder}")
    return merged


@app.command("train")
def train(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    catalog: CatalogOption = None,
    db: DbOption = None,
    report: Annotated[
        Path | None, typer.Option(help="Report folder (default: data_dir/finetune/<catalog>/run).")
    ] = None,
    data_folder: Annotated[
        Path | None,
        typer.Option("--data", help="Train on the data `kubeai finetune data` wrote there instead of building it."),
    ] = None,
    task: Annotated[
        str, typer.Option(help="metrics: the metrics agent's adapter; planning: the planner's adapter.")
    ] = "metrics",
) -> None:
    """Train the catalog's metrics adapter, gate it against the model it replaces, promote it if it passes.

    With --task planning, the planner's adapter instead: trained on the planning data without demonstrations,
    gated on node and edge F1 of both planning sets against the planner it would replace.
    """
    if task == "planning":
        _train_planning(ctx, catalog=catalog, db=db, report=report, data_folder=data_folder)
        return
    if task != "metrics":
        raise typer.BadParameter(f"unknown task {task!r}; use metrics or planning.", param_hint="--task")
    _run(ctx, catalog=catalog, db=db, report=report, steps=("rag",), data_folder=data_folder)


def _train_planning(
    ctx: typer.Context, *, catalog: Path | None, db: str | None, report: Path | None, data_folder: Path | None
) -> None:
    from app import runtime
    from app.cli.serving import server_if_needed
    from app.planning_training import train_planning
    from knowledge.catalog import load_catalog

    cfg = load_project_config(ctx)
    catalog_path, url = _sources(cfg, catalog, db)
    name = load_catalog(catalog_path).name
    folder = report or cfg.data_dir / "finetune" / name / "planning-run"
    with server_if_needed(cfg, runtime.model_client(cfg)) as client:
        result = train_planning(
            cfg, catalog_path=catalog_path, db_url=url, client=client, report_dir=folder, progress=typer.echo,
            data_folder=data_folder,
        )  # fmt: skip
    typer.echo("")
    typer.echo(result.table())
    typer.echo(f"\nreport: {folder / 'report.json'}")
    if result.promoted:
        typer.echo(f"{result.adapter} now writes the planner's plans for {name}; try: kubeai plan '...'")
    else:
        typer.echo(f"{result.adapter} was not promoted; the planner keeps {result.incumbent}.")


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
    data_folder: Path | None = None,
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
            progress=typer.echo, data_folder=data_folder,
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
