"""``kubeai catalog``: validate, show and index a metric catalog."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="Validate, show and index a metric catalog (YAML).", no_args_is_help=True)
