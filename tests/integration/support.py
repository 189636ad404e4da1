"""Shared helpers of the integration tests."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app import runtime
from app.keys import KeyStore
from kubeai.config import ProjectConfig
from serving.client import ModelClient
from serving.launcher import VLLMServer

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LiveServer:
    """A running vLLM server and the configuration it was started from."""

    config: ProjectConfig
    base_url: str
    server: VLLMServer | None

    def client(self) -> ModelClient:
        return runtime.model_client(self.config, base_url=self.base_url)


def cli_env(**overrides: str) -> dict[str, str]:
    """The environment for a ``kubeai`` subprocess: ours without the test-only ``KUBEAI_TEST_*`` variables
    (the CLI would read them as configuration overrides), plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEAI_TEST_")}
    return {**env, **overrides}


def api_env(*, llm_url: str, warehouse: Path, data_dir: Path, port: int, **overrides: str) -> dict[str, str]:
    """The environment of a `kubeai api` process: ours without any ``KUBEAI_*`` variable, then the repository's
    kubeai.yaml on ``data_dir`` and ``warehouse``, the model server at ``llm_url``, ``port``, and ``overrides``
    (``KUBEAI_*`` names, e.g. ``KUBEAI_METRICS_AGENT__CHECKPOINT_URL``)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KUBEAI_")},
        "KUBEAI_CONFIG": str(REPO / "kubeai.yaml"),
        "KUBEAI_DATA_DIR": str(data_dir),
        "KUBEAI_LLM__BASE_URL": llm_url,
        "KUBEAI_LLM__TIMEOUT_S": "600",
        "KUBEAI_WAREHOUSE__URL": str(warehouse),
        "KUBEAI_API__PORT": str(port),
        **overrides,
    }


class Api:
    """A `kubeai api` process (a real uvicorn server) on ``env``; start() and stop() it as often as needed.

    Its output is appended to ``api.log`` in its data folder.
    """

    START_S = 600

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.data_dir = Path(env["KUBEAI_DATA_DIR"])
        self.log = self.data_dir / "api.log"
        self.url = f"http://127.0.0.1:{env['KUBEAI_API__PORT']}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process and wait until ``/health`` answers; fail the test if it exits or takes too long."""
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "api"], cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        while time.monotonic() < started + self.START_S:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    print(f"\nkubeai api at {self.url} started in {time.monotonic() - started:.1f} s")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"kubeai api did not start in {self.START_S} s; its log: {self.log}")

    def stop(self) -> None:
        """Stop the process (SIGTERM) and wait for it to exit."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)
            self.process = None

    def keys(self) -> KeyStore:
        """The process's key store (create a key for the test's own user here)."""
        return KeyStore.in_data_dir(self.data_dir)

    def client(self, secret: str | None) -> httpx.Client:
        """An HTTP client for the API, sending ``secret`` as the bearer key when given."""
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=900)


ApiFactory = Callable[..., Api]
"""The ``new_api`` fixture: ``new_api(folder_name, **KUBEAI_overrides)`` makes an :class:`Api`, not started."""


def copy_index(seed: Path, data_dir: Path) -> None:
    """Give ``data_dir`` a copy of the vector store in ``seed`` (a data folder whose index is built).

    A `kubeai api` on a new data folder embeds the whole catalog and the demo documents before it answers (minutes
    on a busy CPU); on a copy it finds them indexed with the same texts and embeds nothing.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    source, target = sqlite3.connect(seed / "vectors.sqlite"), sqlite3.connect(data_dir / "vectors.sqlite")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
