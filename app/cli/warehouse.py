"""``kubeai warehouse``: build the demo warehouse."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="Build and inspect the demo warehouse.", no_args_is_help=True)
