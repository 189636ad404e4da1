"""``kubeai cs eval`` with a scripted model, a mock server admin API and a real embedded store of the shipped docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from app.cli import app, main
from knowledge.index import KnowledgeBase
from knowledge.stores.sqlite import SQLiteVectorStore
from kubeai.config import LLMConfig
from serving.client import ModelClient
from serving.registry import ADAPTER_CARD_FILE
from tests.unit.fakes import ScriptedChat

REPLIES = {
    "cs-en-01": "Remove the plastic bag from the filter and close the cover until it clicks.",
    "cs-zh-01": "不清楚，我帮您转人工客服。",
}


class _Server:
    """The admin side of a vLLM server: ``GET /models`` and ``POST /load_lora_adapter``."""

    def __init__(self, models: list[str]) -> None:
        self.models = models
        self.loaded: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": name} for name in self.models]})
        if request.url.path.endswith("/load_lora_adapter"):
            self.loaded.append(json.loads(request.content))
            return httpx.Response(200, text="Success")
        return httpx.Response(404, json={"message": "not found"})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "kubeai.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nllm: {{base_url: 'http://127.0.0.1:9/v1'}}\n", encoding="utf-8")

    def knowledge(**kwargs: Any) -> KnowledgeBase:
        store = SQLiteVectorStore(kwargs["data_dir"] / "vectors.sqlite")
        return KnowledgeBase(embeddings=DeterministicFakeEmbedding(size=16), store=store)

    monkeypatch.setattr("knowledge.index.open_knowledge_base", knowledge)
    return config


def _client(monkeypatch: pytest.MonkeyPatch, server: _Server, replies: int) -> ScriptedChat:
    texts = list(REPLIES.values()) * replies
    chat = ScriptedChat(messages=iter(AIMessage(content=t) for t in texts))

    def factory(name: str) -> ScriptedChat:
        chat.models.append(name)
        return chat

    client = ModelClient(
        LLMConfig(base_url="http://127.0.0.1:9/v1", context_length=8192),
        default_model="smollm2-135m",
        transport=httpx.MockTransport(server),
        chat_factory=factory,
    )
    monkeypatch.setattr("app.cli.customer_service.model_client", lambda _config: client)
    return chat


def test_compares_modes_prints_the_table_and_writes_the_report(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = _client(monkeypatch, _Server(["smollm2-135m", "cs-assistant"]), replies=2)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["--config", str(project), "cs", "eval", "--modes", "rag,lora", "--limit", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "| rag | all | 2 | 0.50 |" in result.stdout  # the English answer states both facts, the Chinese one refuses
    assert "| lora | en | 1 | 1.00 |" in result.stdout
    assert "| lora | zh | 1 | 0.00 |" in result.stdout
    assert "rag 1/2 cs-en-01: correct in" in result.output and "lora 2/2 cs-zh-01: refused in" in result.output
    assert chat.models == ["smollm2-135m", "smollm2-135m", "cs-assistant", "cs-assistant"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["modes"] == ["rag", "lora"]
    assert report["summaries"]["rag"]["all"]["refusal_precision"] == 0.0
    assert [r["correct"] for r in report["records"]] == [True, False, True, False]
    assert "# Customer-service comparison on customer_service 1" in (out / "report.md").read_text(encoding="utf-8")


def test_an_untrained_adapter_leaves_the_lora_modes_pending(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _Server(["smollm2-135m"])
    _client(monkeypatch, server, replies=1)
    result = CliRunner().invoke(
        app, ["--config", str(project), "cs", "eval", "--modes", "prompt,rag+lora", "--limit", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "| prompt | all | 2 |" in result.stdout
    assert "| rag+lora | pending |" in result.stdout
    assert "`kubeai cs train`" in result.stdout
    assert server.loaded == []
    assert (tmp_path / "data" / "customer_service" / "eval" / "report.json").is_file()


def test_a_trained_adapter_is_loaded_into_the_running_server(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = tmp_path / "data" / "adapters" / "cs-assistant"
    version.mkdir(parents=True)
    (version / "adapter_config.json").write_text("{}", encoding="utf-8")
    (version / ADAPTER_CARD_FILE).write_text(json.dumps({"role": "cs-assistant"}), encoding="utf-8")
    server = _Server(["smollm2-135m"])
    chat = _client(monkeypatch, server, replies=1)
    result = CliRunner().invoke(app, ["--config", str(project), "cs", "eval", "--modes", "lora", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert server.loaded == [{"lora_name": "cs-assistant", "lora_path": str(version.resolve())}]
    assert chat.models == ["cs-assistant", "cs-assistant"]


def test_an_unknown_mode_is_one_sentence(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["kubeai", "--config", str(project), "cs", "eval", "--modes", "prompt,finetune"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown mode 'finetune'; choose from prompt, rag, lora, rag+lora.")
    assert "Traceback" not in err and err.count("\n") == 1
