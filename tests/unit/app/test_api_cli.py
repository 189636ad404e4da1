"""``kubeai api``: uses the model server that answers at llm.base_url, or starts one as ``kubeai demo`` does.

The command runs through Typer's runner with the real app and the real agents; ``uvicorn.run`` is replaced by a
call that serves the app to Starlette's test client (startup, ``GET /health``, shutdown), and the model server is
a small HTTP server that answers ``GET /v1/models`` like vLLM. In the "none runs" test, the launcher that
``kubeai demo`` uses hands out a fake vLLM that starts that small server. Embeddings come from another such server
(``POST /v1/embeddings``, a vector made from each text's hash), so the planner's opening ingests the demo documents
without running the embedding model (which made each test take most of a minute).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import app
from serving.launcher import free_port


class _Models(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "smollm2-135m", "max_model_len": 2048}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path != "/v1/embeddings":
            self.send_error(404)
            return
        texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
        vectors = [[b / 255 + 0.01 for b in hashlib.sha256(text.encode()).digest()[:8]] for text in texts]
        data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
        body = json.dumps({"object": "list", "data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


@dataclass
class ModelServer:
    """An HTTP server that answers ``GET /v1/models`` (and ``POST /v1/embeddings``) on ``port``; ``start``/``stop``
    like ``VLLMServer``."""

    port: int
    log_path: Path = Path("vllm.log")
    started_in_s: float = 0.0
    events: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Models)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.events.append("start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.events.append("stop")


@dataclass
class Served:
    """What the replaced ``uvicorn.run`` saw: where it was told to listen and what ``/health`` answered."""

    host: str = ""
    port: int = 0
    health: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    import uvicorn

    seen = Served()

    def run(application: Any, *, host: str, port: int, **_options: Any) -> None:
        seen.host, seen.port = host, port
        with TestClient(application) as client:  # runs the lifespan: the agents open on the client given
            seen.health = client.get("/health").json()

    monkeypatch.setattr(uvicorn, "run", run)
    return seen


@pytest.fixture
def embedder() -> Iterator[ModelServer]:
    server = ModelServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path: Path, warehouse: Path, embedder: ModelServer) -> dict[str, str]:
    config = tmp_path / "kubeai.yaml"
    config.write_text(
        "metrics_agent:\n  rag: false\n"
        f"embeddings:\n  provider: openai\n  model: hashed\n  base_url: {embedder.base_url}\n",
        encoding="utf-8",
    )
    return {
        "KUBEAI_CONFIG": str(config),
        "KUBEAI_DATA_DIR": str(tmp_path / "data"),
        "KUBEAI_WAREHOUSE__URL": str(warehouse),
        "KUBEAI_API__PORT": "18080",
    }


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    server = ModelServer(free_port())
    server.start()
    yield server
    server.stop()


def test_api_uses_the_running_model_server_and_says_where_it_listens(
    env: dict[str, str], served: Served, model_server: ModelServer
) -> None:
    result = CliRunner().invoke(
        app, ["api", "--host", "127.0.0.1"], env={**env, "KUBEAI_LLM__BASE_URL": model_server.base_url}
    )

    assert result.exit_code == 0, result.output
    assert f"using the running server at {model_server.base_url}" in result.output
    assert "kubeai API on http://127.0.0.1:18080 (docs: http://127.0.0.1:18080/docs)" in result.output
    assert (served.host, served.port) == ("127.0.0.1", 18080)
    assert served.health["status"] == "ok"


def test_api_starts_a_model_server_when_none_answers_and_stops_it_after(
    env: dict[str, str], served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import runtime

    started = ModelServer(free_port())
    nothing_there = f"http://127.0.0.1:{free_port()}/v1"

    @dataclass
    class Plan:
        base_url: str

    def server_for(_cfg: Any, **_options: Any) -> tuple[ModelServer, Plan]:
        return started, Plan(started.base_url)

    monkeypatch.setattr(runtime, "server_for", server_for)  # the launcher `kubeai demo` uses
    result = CliRunner().invoke(
        app,
        ["api", "--port", "18181"],
        env={**env, "KUBEAI_LLM__BASE_URL": nothing_there, "KUBEAI_LLM__CONNECT_TIMEOUT_S": "2"},
    )

    assert result.exit_code == 0, result.output
    assert f"no server at {nothing_there}; starting vLLM for this run" in result.output
    assert "kubeai API on http://127.0.0.1:18181" in result.output
    assert served.health["status"] == "ok"  # the app was served while the started server ran
    assert started.events == ["start", "stop"]  # and it was stopped when the API returned
