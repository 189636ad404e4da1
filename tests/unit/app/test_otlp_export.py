"""``observability.otlp_endpoint`` sends spans over real OTLP/HTTP: a small collector (a threading HTTP server that
accepts ``POST /v1/traces`` and decodes the protobuf body with ``opentelemetry-proto``) receives them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from app import tracing
from kubeai.config import ProjectConfig
from kubeai.errors import ConfigError
from kubeai.tracing import run_span
from tests.unit.fakes import scripted_client


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver that keeps what it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, str], ExportTraceServiceRequest]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """``(name, attributes, resource attributes)`` of every span received."""
        found = []
        for _path, _headers, request in self.requests:
            for resource_spans in request.resource_spans:
                resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        found.append((span.name, {kv.key: _value(kv.value) for kv in span.attributes}, resource))
        return found


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.requests.append((self.path, dict(self.headers), request))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_spans_reach_an_otlp_http_collector(collector: Collector, tmp_path: Path) -> None:
    config = ProjectConfig.model_validate(
        {
            "data_dir": str(tmp_path),
            "observability": {
                "otlp_endpoint": collector.url,  # the base URL: /v1/traces is added
                "otlp_headers": {"x-tenant": "analytics"},
                "traces_store": False,
                "service_name": "kubeai-test",
            },
        }
    )
    client, _ = scripted_client("hello there", default_model="smollm2-135m")
    traced = tracing.configure(config)
    assert traced is not None
    with run_span("metrics", entry="ask", thread_id="t-otlp", model="smollm2-135m"):
        await client.complete("hi", max_tokens=16)
    traced.close()  # flushes the batch to the collector

    assert {path for path, _, _ in collector.requests} == {"/v1/traces"}
    assert all(headers.get("x-tenant") == "analytics" for _, headers, _ in collector.requests)
    spans = {name: (attributes, resource) for name, attributes, resource in collector.spans()}
    assert set(spans) == {"invoke_agent metrics", "chat smollm2-135m"}
    run, resource = spans["invoke_agent metrics"]
    assert run["gen_ai.conversation.id"] == "t-otlp" and run["gen_ai.operation.name"] == "invoke_agent"
    assert resource["service.name"] == "kubeai-test"
    chat, _ = spans["chat smollm2-135m"]
    assert chat["gen_ai.operation.name"] == "chat" and chat["gen_ai.request.max_tokens"] == 16
    assert not (tmp_path / "traces.sqlite").exists()  # the store was off


def test_the_exporter_follows_the_protocol(tmp_path: Path) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    settings = ProjectConfig.model_validate(
        {"observability": {"otlp_endpoint": "http://collector:4317", "otlp_protocol": "grpc"}}
    ).observability
    assert isinstance(tracing.otlp_exporter(settings), GrpcExporter)
    given_path = ProjectConfig.model_validate(
        {"observability": {"otlp_endpoint": "https://otel.example.com/api/v1/traces"}}
    ).observability
    exporter = tracing.otlp_exporter(given_path)
    assert isinstance(exporter, HttpExporter) and exporter._endpoint == "https://otel.example.com/api/v1/traces"


def test_a_bad_endpoint_is_one_sentence_naming_the_field() -> None:
    from kubeai.config import load_config

    with pytest.raises(ConfigError, match=r"observability\.otlp_endpoint.*http\(s\) URL"):
        load_config(environ={"KUBEAI_OBSERVABILITY__OTLP_ENDPOINT": "collector:4318"})
