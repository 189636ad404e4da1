"""``kubeai catalog``: validate, show and index a metric catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli._context import config as load_project_config

__all__ = ["app"]


app = typer.Typer(help="Validate, show and index a metric catalog (YAML).", no_args_is_help=True)

CatalogFile = Annotated[Path, typer.Argument(help="The catalog YAML file.", dir_okay=False)]


@app.command("validate")
def validate(file: CatalogFile) -> None:
    """Check a catalog; print a summary, or every problem with its line and field (exit 1)."""
    from knowledge.catalog import check_catalog

    catalog, errors = check_catalog(file)
    if errors:
        for error in errors:
            typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    assert catalog is not None
    derived = sum(1 for m in catalog.metrics if m.is_derived)
    typer.echo(
        f"ok: {len(catalog.tables)} tables, {len(catalog.joins)} joins, {len(catalog.metrics)} metrics "
        f"({derived} derived), {len(catalog.dimensions)} dimensions, {len(catalog.examples)} examples"
    )


@app.command("show")
def show(file: CatalogFile) -> None:
    """Print the catalog's metrics and dimensions as tables."""
    from rich.console import Console
    from rich.table import Table

    from knowledge.catalog import load_catalog

    catalog = load_catalog(file)
    console = Console()
    w = catalog.warehouse
    console.print(
        f"[bold]{catalog.name}[/bold]: {w.dialect} at {w.connection}, timezone {w.timezone or '-'}, "
        f"reference date {catalog.reference_date.isoformat()}"
    )
    metrics = Table("metric", "label", "definition", "unit", "dims", title="Metrics")
    for metric in catalog.metrics:
        if metric.formula is not None:
            definition = f"= {metric.formula}"
        else:
            where = f" WHERE {metric.filter}" if metric.filter else ""
            definition = f"{metric.sql} FROM {metric.table}{where}"
        metrics.add_row(
            metric.name,
            f"{metric.label.en} / {metric.label.zh}",
            definition,
            metric.unit or metric.format,
            str(len(catalog.allowed_dimensions(metric.name))),
        )
    console.print(metrics)
    dimensions = Table("dimension", "label", "sql", "time grains", title="Dimensions")
    for dim in catalog.all_dimensions:
        sql = "each metric's time column" if dim.metric_time else (dim.sql or "")
        if dim.filter_only:
            sql += " (filter only)"
        dimensions.add_row(dim.name, f"{dim.label.en} / {dim.label.zh}", sql, ", ".join(dim.time_grains))
    console.print(dimensions)


@app.command("index")
def index(
    ctx: typer.Context,
    file: CatalogFile,
    keep_stale: Annotated[
        bool, typer.Option(help="Keep entries of metrics, dimensions or examples no longer in the file.")
    ] = False,
) -> None:
    """Embed every metric, dimension and example into the knowledge base (collection ``catalog``)."""
    from knowledge.catalog import catalog_collection, index_catalog, load_catalog
    from knowledge.index import open_knowledge_base

    catalog = load_catalog(file)
    cfg = load_project_config(ctx)
    with open_knowledge_base(embeddings=cfg.embeddings, store=cfg.vector_store, data_dir=cfg.data_dir) as kb:
        collection = catalog_collection(catalog)
        result = index_catalog(kb, catalog, collection=collection, prune=not keep_stale)
    report = result.report
    typer.echo(
        f"indexed {report.indexed} entries into collection {collection!r} in {report.seconds:.1f} s"
        + (f", removed {result.removed} stale" if result.removed else "")
    )


@app.command("schema")
def schema() -> None:
    """Print the catalog format's JSON Schema."""
    from knowledge.catalog import catalog_json_schema

    typer.echo(json.dumps(catalog_json_schema(), indent=2, ensure_ascii=False, sort_keys=True))
