"""``kubeai knowledge``: ingest documents for RAG, search them, show store statistics."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="Ingest documents into the knowledge base and search it.", no_args_is_help=True)
