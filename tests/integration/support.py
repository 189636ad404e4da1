"""Shared helpers of the integration tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app import runtime
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
