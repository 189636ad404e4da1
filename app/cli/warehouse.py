"""``kubeai warehouse``: build the demo warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli._context import config as load_project_config

__all__ = ["app"]

app = typer.Typer(help="Build and inspect the demo warehouse.", no_args_is_help=True)


@app.command("build-demo")
def build_demo(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="DuckDB file to write (default: <data_dir>/demo.duckdb).", dir_okay=False)
    ] = None,
    orders: Annotated[int, typer.Option(help="Number of orders to generate.", min=1_000)] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Generate the seeded demo e-commerce warehouse (2024-2025) into a DuckDB file."""
    from knowledge.warehouse import build_demo_warehouse

    target = out if out is not None else load_project_config(ctx).data_dir / "demo.duckdb"
    report = build_demo_warehouse(target, orders=orders, seed=seed, overwrite=force)
    width = max(len(t) for t in report.rows)
    for table, count in report.rows.items():
        typer.echo(f"  {table:<{width}}  {count:>12,}")
    typer.echo(
        f"built {report.path} in {report.seconds:.1f} s (seed {report.seed}, orders "
        f"{report.first_date.isoformat()} to {report.last_date.isoformat()})"
    )
