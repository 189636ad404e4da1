"""``kubeai eval``: run evaluation suites, rebuild their reports, and compare two runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli._context import config as load_project_config

__all__ = ["app"]

app = typer.Typer(
    help="Evaluate the metrics agent and the planner on datasets and report their scores.", no_args_is_help=True
)


@app.command("run")
def run(
    ctx: typer.Context,
    runfile: Annotated[Path, typer.Argument(help="Run file (YAML), e.g. evals/runs/demo.yaml.", dir_okay=False)],
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default: <output_dir or data_dir/evals>/<name>).", file_okay=False)
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Model endpoint to use instead of llm.base_url, e.g. http://host:8000/v1.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Ask every item of the run file's datasets with every variant; resume from cached items; write reports."""
    from app.eval_agents import EVAL_AGENTS
    from app.runtime import model_client
    from evals.report import terminal_table, write_reports
    from evals.runner import run_evaluation_sync

    config = load_project_config(ctx)
    llm = model_client(config, base_url=base_url)
    result = run_evaluation_sync(runfile, config, agents=EVAL_AGENTS, llm=llm, run_dir=out, progress=progress)
    summary = write_reports(result.run_dir, result.records)
    typer.echo(terminal_table(summary))
    typer.echo(
        f"\n{len(result.records)} items ({result.asked} asked, {result.cached} cached) in {result.wall_s:.1f} s; "
        f"reports in {result.run_dir} (report.html, report.md, summary.json)"
    )


@app.command("report")
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `kubeai eval run`.", file_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON summary instead of the table.")] = False,
) -> None:
    """Rebuild a run's reports from its item traces and print the summary table."""
    from evals.report import terminal_table, write_reports
    from evals.runner import load_records

    summary = write_reports(run_dir, load_records(run_dir))
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2) if as_json else terminal_table(summary))


@app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="The baseline run folder.", file_okay=False)],
    run_b: Annotated[Path, typer.Argument(help="The run folder to compare with it.", file_okay=False)],
    fail_on_regression: Annotated[
        bool, typer.Option(help="Exit with status 3 when an item right in A is wrong in B.")
    ] = False,
) -> None:
    """List regressions (right in A, wrong in B), improvements, and per-variant deltas (accuracy; node/edge F1)."""
    from evals.report import compare as compare_runs
    from evals.runner import load_records

    result = compare_runs(load_records(run_a), load_records(run_b))
    typer.echo(result.text())
    if fail_on_regression and result.regressions:
        raise typer.Exit(3)


@app.command("ceiling")
def ceiling(
    ctx: typer.Context,
    dataset: Annotated[
        str, typer.Argument(help="A metrics-QA dataset folder, or the name of a bundled one (e.g. metrics_qa).")
    ],
    warehouse: Annotated[
        str | None, typer.Option(help="Warehouse (DuckDB file or URL) instead of the dataset's or the configured.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of the table.")] = False,
) -> None:
    """Score every item's hand-written gold_query: the most the structured path can answer (no model needed)."""
    from evals import Language, load_dataset
    from evals.ceiling import score_dataset
    from knowledge.catalog import demo_catalog_path, load_catalog
    from tools.warehouse import open_runner

    config = load_project_config(ctx)
    loaded = load_dataset(_dataset_folder(dataset))
    catalog_path = loaded.catalog_path() or Path(config.warehouse.catalog or demo_catalog_path())
    catalog = load_catalog(catalog_path)
    url = warehouse or loaded.warehouse_url(
        configured=config.warehouse.url, catalog_path=catalog_path, data_dir=config.data_dir
    )
    runner = open_runner(url)
    try:
        report = score_dataset(loaded, catalog=catalog, runner=runner, timeout_s=config.warehouse.statement_timeout_s)
    finally:
        runner.close()
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    width = max(len(item.id) for item in report.items)
    for item in report.items:
        typer.echo(f"{item.id:<{width}}  {item.language}  {item.outcome:<13}  {item.detail}".rstrip())
    slices: tuple[tuple[str, Language | None], ...] = (("overall", None), ("en", "en"), ("zh", "zh"))
    for label, language in slices:
        totals = report.totals(language)
        typer.echo(f"{label:<8} {totals.expressible:>4}/{totals.total:<4} {100 * totals.ratio:5.1f}%")
    typer.echo(f"ceiling of {loaded.manifest.name}: {100 * report.totals().ratio:.1f}% of questions expressible")


def _dataset_folder(dataset: str) -> Path:
    """A folder as given, else the bundled dataset of that name (``evals/datasets/<name>``)."""
    given = Path(dataset)
    if given.exists() or "/" in dataset or "\\" in dataset:
        return given
    import evals

    return Path(evals.__file__).parent / "datasets" / dataset
