"""``kubeai mcp``: serve the metrics agent, the catalog and gated SQL to MCP clients (stdio or streamable HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
from enum import StrEnum
from typing import Annotated

import typer

from app.cli._context import config as load
from app.cli._context import model_client, note
from app.cli._threads import open_agent
from kubeai.config import ProjectConfig

__all__ = ["Transport", "mcp", "register"]


class Transport(StrEnum):
    """How MCP clients reach the server."""

    stdio = "stdio"
    http = "http"


def register(app: typer.Typer) -> None:
    """Add ``mcp`` to the root CLI."""
    app.command("mcp")(mcp)


def mcp(
    ctx: typer.Context,
    transport: Annotated[
        Transport,
        typer.Option(
            help="stdio: an MCP client starts this command and talks over stdin/stdout, as the local user with "
            "full access. http: streamable HTTP; every request needs an API key (kubeai keys create)."
        ),
    ] = Transport.stdio,
    host: Annotated[str, typer.Option(help="Address to listen on (http).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (http); 0 picks a free one.", min=0, max=65535)] = 8765,
) -> None:
    """Serve the metrics agent (ask), the catalog (list_metrics, list_dimensions) and gated SQL (run_sql) over MCP.

    The model server is the one at llm.base_url. Progress and the address go to stderr; on stdio, stdout carries
    only the protocol. See docs/mcp.md for client configuration.
    """
    cfg = load(ctx)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(cfg, transport, host=host, port=port))


async def _serve(cfg: ProjectConfig, transport: Transport, *, host: str, port: int) -> None:
    from app.keys import KeyStore
    from app.mcp_server import build_server, serve_http

    keys = KeyStore.in_data_dir(cfg.data_dir)
    async with open_agent(cfg, llm=model_client(cfg)) as agent:
        server = build_server(cfg, agent=agent)
        if transport is Transport.stdio:
            note("kubeai mcp: serving on stdio")
            await server.run_stdio_async()
            return
        if not any(not key.revoked for key in keys.list()):
            note("no API key can call this server yet; create one with: kubeai keys create --user NAME")
        await serve_http(server, lookup=keys.lookup, host=host, port=port, announce=note)
