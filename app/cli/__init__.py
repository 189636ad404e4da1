"""The ``kubeai`` command line.

Each command group lives in its own module and registers a Typer sub-application here. Every command loads the
project configuration once (``--config`` or ``$KUBEAI_CONFIG`` or ``./kubeai.yaml``) and passes typed sections
down. A :class:`~kubeai.errors.KubeAIError` is printed as one sentence and exits with status 1.
"""

from __future__ import annotations

import sys

import typer

from app.cli import _context
from app.cli.api import api as api_command
from app.cli.apps import app as apps_app
from app.cli.ask import register as register_ask
from app.cli.catalog import app as catalog_app
from app.cli.customer_service import app as customer_service_app
from app.cli.demo import demo
from app.cli.evals import app as evals_app
from app.cli.finetune import app as finetune_app
from app.cli.finetune import onboard_command
from app.cli.keys import app as keys_app
from app.cli.knowledge import app as knowledge_app
from app.cli.mcp import register as register_mcp
from app.cli.plan import register as register_plan
from app.cli.serving import register as register_serving
from app.cli.traces import register as register_traces
from app.cli.warehouse import app as warehouse_app
from kubeai import __version__
from kubeai.errors import KubeAIError

__all__ = ["app", "main"]

app = typer.Typer(
    name="kubeai",
    help="Wire business systems to LLMs: prompting, RAG and fine-tuning on vLLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kubeai {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: str | None = typer.Option(
        None, "--config", "-c", help="Project config file (default: $KUBEAI_CONFIG or ./kubeai.yaml)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    ctx.obj = _context.CliState(config_path=config)


register_serving(app)
register_ask(app)
register_plan(app)
register_mcp(app)
register_traces(app)
app.command("demo")(demo)
app.add_typer(catalog_app, name="catalog")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(evals_app, name="eval")
app.add_typer(finetune_app, name="finetune")
app.command("onboard")(onboard_command)
app.command("api")(api_command)
app.add_typer(keys_app, name="keys")
app.add_typer(apps_app, name="app")
app.add_typer(customer_service_app, name="cs")


def main() -> None:
    """Run the CLI; turn project errors into one sentence on stderr and exit status 1.

    Usage errors (a missing argument, an unknown command) are Typer's: a short message and exit status 2.
    """
    try:
        app()
    except KubeAIError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)
