"""The API returns each run's trace id (``X-Trace-Id``, the stream's ``metadata``, the values), and that trace holds
the request, the agent's run with the key's user, its nodes and model calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import tracing
from app.api.tracing import traced_lifespan
from finetune.feedback import FeedbackStore
from kubeai.config import ProjectConfig
from tests.unit.app.api.conftest import GMV_SQL, Opener, sse_events


class Caught:
    def __init__(self, traced: tracing.Tracing, exporter: InMemorySpanExporter) -> None:
        self.traced, self.exporter = traced, exporter

    def trace(self, trace_id: str) -> list[ReadableSpan]:
        assert self.traced.flush()
        return [
            s
            for s in self.exporter.get_finished_spans()
            if s.context and format(s.context.trace_id, "032x") == trace_id
        ]


@pytest.fixture
def caught(config: ProjectConfig) -> Iterator[Caught]:
    exporter = InMemorySpanExporter()
    traced = tracing.configure(config, also=(exporter,))
    assert traced is not None
    yield Caught(traced, exporter)
    traced.close()


async def test_a_streamed_run_returns_its_trace_id_three_ways(api: Opener, secret: str, caught: Caught) -> None:
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        response = await http.post(f"/threads/{thread}/runs/stream", json={"input": {"question": "GMV?"}})
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    trace_id = response.headers["X-Trace-Id"]
    assert len(trace_id) == 32 and int(trace_id, 16)
    assert events[0][0] == "metadata" and events[0][1]["trace_id"] == trace_id
    values = next(data for kind, data in events if kind == "values")
    assert values["trace_id"] == trace_id

    spans = caught.trace(trace_id)
    names = [s.name for s in spans]
    assert "POST /threads/{thread_id}/runs/stream" in names and "invoke_agent metrics" in names
    assert "node generate" in names and "chat fake" in names
    run = next(s for s in spans if s.name == "invoke_agent metrics")
    assert run.attributes is not None
    assert run.attributes["enduser.id"] == "ana" and run.attributes["gen_ai.conversation.id"] == thread
    assert run.attributes["kubeai.entry"] == "stream"


async def test_wait_runs_return_their_trace_id(api: Opener, secret: str, caught: Caught) -> None:
    async with api(GMV_SQL, GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        waited = await http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "GMV?"}})
        once = await http.post("/runs/wait", json={"input": {"question": "GMV?"}})
    for response in (waited, once):
        assert response.status_code == 200, response.text
        trace_id = response.headers["X-Trace-Id"]
        assert response.json()["trace_id"] == trace_id
        request = next(s for s in caught.trace(trace_id) if s.parent is None)
        assert request.attributes is not None and request.attributes["enduser.id"] == "ana"
    assert waited.headers["X-Trace-Id"] != once.headers["X-Trace-Id"]  # a new trace per run


async def test_untraced_runs_say_so(api: Opener, secret: str) -> None:
    assert not tracing.active()
    async with api(GMV_SQL, secret=secret) as http:
        response = await http.post("/runs/wait", json={"input": {"question": "GMV?"}})
    assert response.status_code == 200
    assert "X-Trace-Id" not in response.headers and response.json()["trace_id"] is None


async def test_the_app_sets_up_tracing_for_its_lifetime_unless_the_cli_did(config: ProjectConfig) -> None:
    import contextlib
    from collections.abc import AsyncIterator

    @contextlib.asynccontextmanager
    async def inner(app: FastAPI) -> AsyncIterator[None]:
        yield

    lifespan = traced_lifespan(config, inner)
    async with lifespan(FastAPI()):
        assert tracing.active()
    assert not tracing.active()

    cli = tracing.configure(config)
    assert cli is not None
    async with lifespan(FastAPI()):
        assert tracing.active()
    assert tracing.active()  # the CLI's configuration is the CLI's to close
    cli.close()


async def test_an_approved_edit_is_stored_with_the_trace_of_the_run_that_resumed(
    api: Opener, secret: str, caught: Caught, config: ProjectConfig
) -> None:
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        await http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "GMV?"}, "require_approval": True})
        resumed = await http.post(
            f"/threads/{thread}/runs/wait",
            json={"command": {"resume": {"action": "edit", "sql": "SELECT COUNT(*) AS n FROM orders"}}},
        )
    assert resumed.status_code == 200, resumed.text
    [record] = FeedbackStore.in_data_dir(config.data_dir).recent()
    assert record.origin == "approval" and record.trace_id == resumed.headers["X-Trace-Id"]
