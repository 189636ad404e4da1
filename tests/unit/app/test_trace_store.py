"""The local trace store: spans of real (scripted-model) runs written through the configured exporter, read back
per run and per trace, trimmed to the newest runs; a store that cannot be written never fails a run; and
``kubeai traces`` shows it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typer.testing import CliRunner

from agents.metrics import MetricsAgent
from app import tracing
from app.cli import app as cli
from app.trace_store import OUTSIDE_NODES, SqliteSpanExporter, TraceStore
from kubeai.config import LLMConfig, ProjectConfig
from kubeai.errors import ConfigError, TraceNotFoundError
from kubeai.tracing import run_span
from serving.client import ModelClient
from tests.unit.fakes import ScriptedChat

GMV_SQL = '{"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"}'


def client(*texts: str) -> ModelClient:
    chat = ScriptedChat(
        messages=iter(
            AIMessage(
                content=t,
                usage_metadata={"input_tokens": 120, "output_tokens": 9, "total_tokens": 129},
                response_metadata={"finish_reason": "stop", "model_name": "fake"},
            )
            for t in texts
        )
    )
    return ModelClient(LLMConfig(context_length=8192), default_model="fake", chat_factory=lambda _: chat)


def project(tmp_path: Path, warehouse: Path, **observability: object) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "warehouse": {"url": str(warehouse), "max_rows": 200},
            "metrics_agent": {"rag": False, "strategy": "sql", "adapter": "none"},
            "observability": observability,
        }
    )


async def ask(config: ProjectConfig, *questions: tuple[str, str]) -> None:
    """Ask each ``(thread, question)`` with tracing configured as ``config`` says, then close it (flushing)."""
    traced = tracing.configure(config)
    assert traced is not None
    try:
        async with MetricsAgent.open(config, llm=client(*[GMV_SQL] * len(questions))) as agent:
            for thread, question in questions:
                await agent.ask(question, thread_id=thread)
    finally:
        traced.close()


async def test_runs_are_stored_with_per_node_latency_and_tokens(tmp_path: Path, warehouse: Path) -> None:
    config = project(tmp_path, warehouse)
    await ask(config, ("thread-a", "What is the total GMV?"), ("thread-b", "总GMV是多少？"))
    store = TraceStore(tracing.store_path(config))
    assert store.path == config.data_dir / "traces.sqlite"

    runs = store.recent()
    assert [r.thread_id for r in runs] == ["thread-b", "thread-a"]  # newest first
    newest = runs[0]
    assert (newest.agent, newest.entry, newest.language, newest.model) == ("metrics", "ask", "zh", "fake")
    assert newest.error is None and newest.seconds > 0
    nodes = {n.name: n for n in newest.nodes}
    assert next(iter(nodes)) == "understand" and {"generate", "gate", "execute", "answer"} <= set(nodes)
    assert (nodes["generate"].calls, nodes["generate"].input_tokens, nodes["generate"].output_tokens) == (1, 120, 9)
    assert (newest.input_tokens, newest.output_tokens) == (120, 9)
    assert all(n.seconds >= 0 for n in newest.nodes)

    assert [r.thread_id for r in store.recent(thread_id="thread-a")] == ["thread-a"]
    assert [r.thread_id for r in store.recent(thread_id="thread-")] == ["thread-b", "thread-a"]  # a beginning
    assert store.recent(limit=1) == runs[:1]

    spans = store.spans(newest.trace_id[:10])
    assert spans[0].name == "invoke_agent metrics" and spans[0].parent_id is None
    assert {s.trace_id for s in spans} == {newest.trace_id}
    with pytest.raises(TraceNotFoundError, match="No trace 'ffff'"):
        store.spans("ffff")


async def test_the_store_keeps_only_the_newest_runs(tmp_path: Path, warehouse: Path) -> None:
    config = project(tmp_path, warehouse, max_runs=2)
    await ask(config, ("t1", "GMV?"), ("t2", "GMV?"), ("t3", "GMV?"))
    store = TraceStore(tracing.store_path(config))
    assert [r.thread_id for r in store.recent()] == ["t3", "t2"]
    with pytest.raises(TraceNotFoundError):
        store.spans(next(iter(_trace_ids(store.path) - {r.trace_id for r in store.recent()}), "0" * 32))


def _trace_ids(path: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT DISTINCT trace_id FROM spans")}


async def test_an_unwritable_store_is_logged_once_and_the_run_goes_on(
    tmp_path: Path, warehouse: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = project(tmp_path, warehouse)
    config.data_dir.mkdir(parents=True)
    (config.data_dir / "traces.sqlite").mkdir()  # a folder where the file should be: every write fails
    traced = tracing.configure(config)
    assert traced is not None
    with caplog.at_level(logging.WARNING, logger="kubeai.traces"):
        async with MetricsAgent.open(config, llm=client(GMV_SQL, GMV_SQL)) as agent:
            first = await agent.ask("What is the total GMV?", thread_id="t1")
            assert traced.flush()
            second = await agent.ask("What is the total GMV?", thread_id="t2")
        traced.close()
    assert not first.abstained and not second.abstained
    warnings = [r for r in caplog.records if "Cannot write traces" in r.getMessage()]
    assert len(warnings) == 1


def test_the_exporter_reports_failure_without_raising(tmp_path: Path) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("x"):
        pass
    provider_spans = list(memory.get_finished_spans())
    (tmp_path / "blocked").mkdir()
    exporter = SqliteSpanExporter(tmp_path / "blocked", max_runs=5)
    assert exporter.export(provider_spans).name == "FAILURE"
    good = SqliteSpanExporter(tmp_path / "ok.sqlite", max_runs=5)
    assert good.export(provider_spans).name == "SUCCESS"
    stored = TraceStore(tmp_path / "ok.sqlite").spans(format(provider_spans[0].context.trace_id, "032x"))
    assert [s.name for s in stored] == ["x"]


async def test_kubeai_traces_lists_runs_and_shows_one_trace(tmp_path: Path, warehouse: Path) -> None:
    config = project(tmp_path, warehouse)
    await ask(config, ("thread-cli", "What is the total GMV?"), ("other", "GMV?"))
    settings = tmp_path / "kubeai.yaml"
    settings.write_text(f"data_dir: {config.data_dir}\n", encoding="utf-8")
    runner = CliRunner()

    listed = runner.invoke(cli, ["--config", str(settings), "traces", "--thread", "thread-cli"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "metrics ask" in lines[0] and "thread thread-cli" in lines[0] and "tokens 120/9" in lines[0]
    assert lines[1].split()[:6] == ["node", "runs", "seconds", "calls", "in", "out"]
    generate = next(line.split() for line in lines if line.split()[0] == "generate")
    assert generate[1] == "1" and generate[3:] == ["1", "120", "9"]
    assert "other" not in listed.output

    as_json = runner.invoke(cli, ["--config", str(settings), "traces", "--json", "--limit", "5"])
    runs = json.loads(as_json.stdout)
    assert [r["thread_id"] for r in runs] == ["other", "thread-cli"]

    tree = runner.invoke(cli, ["--config", str(settings), "traces", "--trace", runs[1]["trace_id"][:12]])
    assert tree.exit_code == 0, tree.output
    shown = tree.output.splitlines()
    assert shown[0] == f"trace {runs[1]['trace_id']}"
    assert shown[1].startswith("invoke_agent metrics")
    assert any(line.startswith("  node generate") for line in shown)
    assert any(line.startswith("    chat fake") and "tokens 120/9" in line and "stop" in line for line in shown)

    missing = runner.invoke(cli, ["--config", str(settings), "traces", "--trace", "abc"])
    assert isinstance(missing.exception, TraceNotFoundError) and "No trace 'abc'" in str(missing.exception)


def test_kubeai_traces_says_when_the_store_is_off_or_empty(tmp_path: Path) -> None:
    settings = tmp_path / "kubeai.yaml"
    settings.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    empty = CliRunner().invoke(cli, ["--config", str(settings), "traces"])
    assert empty.exit_code == 0 and "No traced runs" in empty.output
    settings.write_text(f"data_dir: {tmp_path / 'data'}\nobservability:\n  traces_store: false\n", encoding="utf-8")
    off = CliRunner().invoke(cli, ["--config", str(settings), "traces"])
    assert isinstance(off.exception, ConfigError) and "observability.traces_store" in str(off.exception)


def test_a_run_span_outside_any_configuration_records_nothing() -> None:
    assert not tracing.active()
    with run_span("metrics", entry="ask") as span:
        assert not span.is_recording()
    assert isinstance(otel_trace.get_tracer_provider(), otel_trace.TracerProvider)


async def test_model_calls_outside_any_graph_node_still_count_their_tokens(tmp_path: Path, warehouse: Path) -> None:
    config = project(tmp_path, warehouse)
    traced = tracing.configure(config)
    assert traced is not None
    try:
        with run_span("support", entry="answer", model="fake"):  # an agent without a graph: calls, no nodes
            await client("one", "two").complete([{"role": "user", "content": "hi"}])
        await client("lone").complete([{"role": "user", "content": "hi"}])  # no run at all
    finally:
        traced.close()
    lone, support = TraceStore(config.data_dir / "traces.sqlite").recent()
    for summary in (lone, support):
        (calls,) = summary.nodes
        assert calls.name == OUTSIDE_NODES and calls.calls == 1, summary
        assert (summary.input_tokens, summary.output_tokens) == (120, 9), summary
    assert support.agent == "support"
