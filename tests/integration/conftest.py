"""Integration fixtures: one real vLLM server per test session, serving the base model and the default adapter.

The server is started from the repository's kubeai.yaml on a free port (models are prepared first, which is a
no-op when `make prepare` already ran). Set TEST_LLM_URL to reuse a server you started yourself (it is
outside the KUBEAI_ namespace on purpose: the configuration refuses unknown KUBEAI_* variables, and CLI tests
read the configuration from the environment).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import runtime
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import ProjectConfig, load_config
from serving.launcher import free_port
from tests.integration.postgres_server import postgres_server  # noqa: F401 - shared session fixture
from tests.integration.support import REPO, LiveServer


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
