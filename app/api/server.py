"""The FastAPI application: :func:`create_app` builds it from the configuration; nothing is built at import.

    app = create_app(config)                       # opens the agents on startup, closes them on shutdown
    app = create_app(config, agents=agents)        # agents the caller opened (tests, embedding)

Every route except ``GET /health`` needs an API key (:mod:`app.api.auth`). OpenAPI docs are at ``/docs``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import FastAPI

from app import runtime
from app.api import (
    routes_adapters,
    routes_apps,
    routes_assistants,
    routes_feedback,
    routes_openai,
    routes_runs,
    routes_threads,
    routes_web,
)
from app.api.errors import install_handlers
from app.api.limits import BodyLimit
from app.api.service import Agents, Service
from app.api.threads import ThreadRegistry
from app.api.tracing import traced_lifespan
from app.keys import KeyStore
from kubeai import __version__
from kubeai.config import ProjectConfig
from serving.client import ModelClient

__all__ = ["create_app"]

DESCRIPTION = """The kubeai agents over HTTP, in the shape of the LangGraph Agent Protocol: assistants (`metrics`,
`planner`), threads owned by the key's user, runs that wait or stream (Server-Sent Events), and SQL approval as an
interrupt resumed with a `command`. Send an API key from `kubeai keys create` as `Authorization: Bearer <key>`."""


def create_app(
    config: ProjectConfig,
    *,
    agents: Agents | None = None,
    keys: KeyStore | None = None,
    llm: ModelClient | None = None,
) -> FastAPI:
    """The HTTP API on ``config``.

    Args:
        config: The project configuration (``api`` section: limits; ``data_dir``: keys and threads).
        agents: Opened agents to serve; by default they are opened on startup with ``llm`` (or a client built
            from ``config.llm``) and closed on shutdown.
        keys: The API key store (default: ``<data_dir>/keys.sqlite``).
        llm: The model client the agents use when this function opens them.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if agents is not None:
            app.state.service = Service(config=config, agents=agents, threads=threads)
            yield
            return
        client = llm or runtime.model_client(config)
        async with Agents.open(config, llm=client) as opened:
            app.state.service = Service(config=config, agents=opened, threads=threads)
            yield

    threads = ThreadRegistry(config.data_dir / "api_threads.sqlite")
    app = FastAPI(
        title="kubeai", version=__version__, description=DESCRIPTION, lifespan=traced_lifespan(config, lifespan)
    )
    app.state.keys = keys or KeyStore.in_data_dir(config.data_dir)
    app.state.started_at = datetime.now(UTC).isoformat()
    if agents is not None:  # usable without the lifespan too (a TestClient outside `with`)
        app.state.service = Service(config=config, agents=agents, threads=threads)
    install_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=config.api.max_body_bytes)

    @app.get("/health", tags=["health"], summary="Is the API up?")
    def health() -> dict[str, str]:
        """``{"status": "ok"}``; needs no key."""
        return {"status": "ok", "version": __version__}

    app.include_router(routes_assistants.router)
    app.include_router(routes_threads.router)
    app.include_router(routes_runs.router)
    app.include_router(routes_openai.router)
    app.include_router(routes_feedback.router)
    app.include_router(routes_adapters.router)
    app.include_router(routes_web.router)
    app.include_router(routes_apps.router)
    return app
