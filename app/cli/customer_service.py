"""``kubeai cs``: the customer-service example, taken from a prompt to RAG to a LoRA adapter (docs/customer-service.md).

Note for the data/training half (W1, issue 16): this file was created by the assistant/eval half with the Typer
app and ``kubeai cs eval``; add ``data`` and ``train`` as further ``@app.command`` functions here. The app is
registered in ``app/cli/__init__.py`` as ``cs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli._context import config as load_project_config
from app.cli._context import model_client, note

__all__ = ["app"]

app = typer.Typer(
    help="Customer-service example: product docs and chat logs to pairs, a LoRA adapter, and the PROMPT / RAG / "
    "LoRA / RAG + LoRA comparison.",
    no_args_is_help=True,
)


@app.command("eval")
def evaluate(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    modes: Annotated[
        str, typer.Option(help="Comma-separated modes to compare: prompt, rag, lora, rag+lora.")
    ] = "prompt,rag,lora,rag+lora",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N questions (the CPU server is slow).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Report folder (default: <data_dir>/customer_service/eval).", file_okay=False),
    ] = None,
    k: Annotated[int, typer.Option(min=1, max=10, help="Passages retrieved per question in the RAG modes.")] = 3,
    max_tokens: Annotated[int, typer.Option(min=16, max=1024, help="The most tokens an answer may take.")] = 160,
) -> None:
    """Ask the held-out customer questions in each mode, score the answers, print the table, write the report."""
    from agents.support import SupportConfig, parse_modes
    from app.support_eval import run_support_eval

    chosen = parse_modes(modes)
    config = load_project_config(ctx)
    run = run_support_eval(
        config,
        model_client(config),
        chosen,
        assistant=SupportConfig(k=k, max_tokens=max_tokens),
        limit=limit,
        out_dir=out,
        progress=note,
    )
    from evals.support import support_table

    typer.echo(support_table(run.result))
    typer.echo(f"\nreport: {run.markdown} and {run.json}")
