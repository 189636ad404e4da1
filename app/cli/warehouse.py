"""``kubeai warehouse``: build a bundled warehouse (the e-commerce demo or the logistics company)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli._context import config as load_project_config

__all__ = ["app"]

app = typer.Typer(help="Build and inspect the bundled warehouses.", no_args_is_help=True)


@app.command("build-demo")
def build_demo(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    domain: Annotated[
        str, typer.Option(help="Bundled domain: demo (e-commerce) or logistics (parcel delivery).")
    ] = "demo",
    out: Annotated[
        Path | None,
        typer.Option(
            help="DuckDB file to write (default: <data_dir>/demo.duckdb or logistics.duckdb).", dir_okay=False
        ),
    ] = None,
    orders: Annotated[
        int | None, typer.Option(help="Number of orders to generate (demo; default 1,000,000).", min=1_000)
    ] = None,
    shipments: Annotated[
        int | None, typer.Option(help="Number of shipments to generate (logistics; default 200,000).", min=5_000)
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; the same seed gives the same data.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Generate a seeded bundled warehouse (2024-2025) into a DuckDB file."""
    from knowledge.warehouse.bundled import BUNDLED_DOMAINS

    chosen = BUNDLED_DOMAINS.get(domain)
    if chosen is None:
        raise typer.BadParameter(f"pick one of {', '.join(sorted(BUNDLED_DOMAINS))}", param_hint="--domain")
    sizes = {"orders": orders, "shipments": shipments}
    for unit, value in sizes.items():
        if value is not None and unit != chosen.size_unit:
            raise typer.BadParameter(
                f"the {chosen.name} warehouse is sized in {chosen.size_unit}; pass --{chosen.size_unit} instead",
                param_hint=f"--{unit}",
            )
    target = out if out is not None else load_project_config(ctx).data_dir / chosen.warehouse_file
    report = chosen.build(target, size=sizes[chosen.size_unit], seed=seed, overwrite=force)
    width = max(len(t) for t in report.rows)
    for table, count in report.rows.items():
        typer.echo(f"  {table:<{width}}  {count:>12,}")
    typer.echo(
        f"built {report.path} in {report.seconds:.1f} s (seed {report.seed}, {chosen.size_unit} "
        f"{report.first_date.isoformat()} to {report.last_date.isoformat()})"
    )
