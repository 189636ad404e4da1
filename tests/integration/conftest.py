"""Integration fixtures: one real vLLM server per test session, serving the base model and the default adapter.

The server is started from the repository's kubeai.yaml on a free port (models are prepared first, which is a
no-op when `make prepare` already ran). Set TEST_LLM_URL to reuse a server you started yourself (it is
outside the KUBEAI_ namespace on purpose: the configuration refuses unknown KUBEAI_* variables, and CLI tests
read the configuration from the environment).

`kubeai api` processes: ``shared_api`` is one process for every test that needs nothing but the repository's
configuration (each such test creates its own key for its own user); a test that restarts the API or changes its
configuration makes its own with ``new_api``. Every process starts on a copy of ``index_seed``, the vector store
built once per session, so none spends minutes embedding the catalog and the demo documents again.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import runtime
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import ProjectConfig, load_config
from serving.launcher import free_port
from tests.integration.postgres_server import postgres_server  # noqa: F401 - shared session fixture
from tests.integration.support import REPO, Api, ApiFactory, LiveServer, api_env, copy_index


@pytest.fixture(scope="session")
def project_config() -> ProjectConfig:
    return load_config(REPO / "kubeai.yaml", environ={})


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warehouse") / "demo.duckdb"
    build_demo_warehouse(path, orders=200_000, seed=7)
    return path


@pytest.fixture(scope="session")
def agent_config(project_config: ProjectConfig, demo_warehouse: Path) -> ProjectConfig:
    """The repository's configuration on a 200k-order demo warehouse built for this session."""
    warehouse = project_config.warehouse.model_copy(update={"url": str(demo_warehouse)})
    return project_config.model_copy(update={"warehouse": warehouse})


@pytest.fixture(scope="session")
def live_server(project_config: ProjectConfig) -> Iterator[LiveServer]:
    external = os.environ.get("TEST_LLM_URL")
    if external:
        yield LiveServer(config=project_config, base_url=external.rstrip("/"), server=None)
        return
    server, plan = runtime.server_for(project_config, port=free_port())
    server.start()
    try:
        yield LiveServer(config=project_config, base_url=plan.base_url, server=server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def index_seed(agent_config: ProjectConfig, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose vector store holds the catalog and the demo documents, indexed once per session.

    Built by opening the agents exactly as `kubeai api` does on start-up; each API process below starts on a copy,
    so the embedding (minutes on a busy CPU) is done once instead of once per process.
    """
    from app.api.service import Agents

    seed = tmp_path_factory.mktemp("index-seed")

    async def build() -> None:
        async with Agents.open(agent_config.model_copy(update={"data_dir": seed}), llm=live_server.client()):
            pass

    started = time.monotonic()
    asyncio.run(build())
    print(f"\nthe session's index built in {time.monotonic() - started:.1f} s")
    return seed


@pytest.fixture(scope="session")
def new_api(
    live_server: LiveServer, demo_warehouse: Path, index_seed: Path, tmp_path_factory: pytest.TempPathFactory
) -> ApiFactory:
    """Makes a `kubeai api` (not started) on a new data folder holding a copy of the session's index.

    Call it with a folder name and ``KUBEAI_*`` overrides; the caller starts and stops the process.
    """

    def make(name: str, **overrides: str) -> Api:
        data = tmp_path_factory.mktemp(name)
        copy_index(index_seed, data)
        env = api_env(
            llm_url=live_server.base_url, warehouse=demo_warehouse, data_dir=data, port=free_port(), **overrides
        )
        return Api(env)

    return make


@pytest.fixture(scope="session")
def shared_api(new_api: ApiFactory) -> Iterator[Api]:
    """One running `kubeai api` on the repository's configuration, for every test that needs no other.

    Tests on it keep their own data: each creates its own key for its own user, so its threads and feedback
    are its own.
    """
    api = new_api("api-shared")
    api.start()
    try:
        yield api
    finally:
        api.stop()
