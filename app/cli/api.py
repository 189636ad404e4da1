"""``kubeai api``: the HTTP API (docs/api.md) on ``api.host``/``api.port``, in front of the model server."""

from __future__ import annotations

import typer

from app import runtime
from app.cli._context import config as load
from app.cli.demo import ensure_demo_warehouse
from app.cli.serving import server_if_needed

__all__ = ["api"]


def api(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Address to listen on (default: api.host)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: api.port)."),
) -> None:
    """Serve the agents over HTTP; start vLLM first when nothing answers at llm.base_url (as `kubeai demo` does)."""
    import uvicorn

    from app.api import create_app

    cfg = load(ctx)
    ensure_demo_warehouse(cfg)
    where_host = host or cfg.api.host
    where_port = port or cfg.api.port
    with server_if_needed(cfg, runtime.model_client(cfg)) as client:
        app = create_app(cfg, llm=client)
        typer.echo(f"kubeai API on http://{where_host}:{where_port} (docs: http://{where_host}:{where_port}/docs)")
        uvicorn.run(app, host=where_host, port=where_port, log_level="info", timeout_graceful_shutdown=5)
