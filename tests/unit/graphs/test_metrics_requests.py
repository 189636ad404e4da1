"""The metrics graph declines non-questions before any model is asked, and names the real cause when it abstains.

Scripted fake chat models on the real interface; the demo catalog; a real DuckDB warehouse, or a fake runner whose
warehouse cannot be reached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.metrics import MetricsAgent
from graphs.metrics import Context
from graphs.metrics import nodes as metric_nodes
from knowledge.catalog import Catalog
from kubeai.errors import WarehouseUnavailableError
from serving.client import ModelClient
from tests.unit.fakes import ScriptedChat, scripted_client
from tools.sql_gate import GateContext
from tools.warehouse import QueryResult, SQLRunner, open_runner
from tools.warehouse._errors import connection_error


def scripted(*replies: str | dict[str, Any]) -> tuple[ModelClient, ScriptedChat]:
    return scripted_client(*replies, default_model="fake")


def agent(catalog: Catalog, client: ModelClient, runner: SQLRunner, **settings: Any) -> MetricsAgent:
    context = Context(
        catalog=catalog,
        knowledge=None,
        llm=client,
        runner=runner,
        gate=GateContext(schema=catalog.schema_mapping()),
        **settings,
    )
    return MetricsAgent(context=context, checkpointer=InMemorySaver())


@pytest.fixture
def duckdb_runner(warehouse: Path) -> Any:
    runner = open_runner(str(warehouse))
    yield runner
    runner.close()


class UnreachableWarehouse:
    """A runner whose PostgreSQL server refuses connections, as the real runner reports it."""

    dialect = "duckdb"

    def __init__(self) -> None:
        self.calls = 0

    def run(self, sql: str, *, max_rows: int, timeout_s: float) -> QueryResult:
        self.calls += 1
        raise connection_error("PostgreSQL", "postgresql://u:***@127.0.0.1:1/db", "connection refused")

    def close(self) -> None:
        pass


GMV_LAST_MONTH = {"metrics": ["gmv"], "dimensions": [], "time_range": "last_month"}


@pytest.mark.parametrize(
    ("question", "language", "says"),
    [
        ("'; DROP TABLE orders; --", "en", "SQL statement"),
        ("😀🎉🔥", "en", "no words"),
        ("delete all refunds", "en", "change data"),
        ("Please update the order status to shipped for order 1001", "en", "change data"),
        ("hello!", "en", "not a question about the data"),
        ("删除所有退款记录", "zh", "修改数据"),
        ("帮我把订单12345的状态改成已完成", "zh", "修改数据"),
        ("你好", "zh", "不是关于数据的问题"),
    ],
)
async def test_non_questions_abstain_before_any_model_is_asked(
    catalog: Catalog, duckdb_runner: SQLRunner, question: str, language: str, says: str
) -> None:
    client, chat = scripted(GMV_LAST_MONTH, GMV_LAST_MONTH, GMV_LAST_MONTH)
    result = await agent(catalog, client, duckdb_runner).ask(question)
    assert result.abstained
    assert chat.prompts == []  # no model call: a 135M model would have answered with a metric total
    assert result.frame.empty and result.sql is None
    assert result.language == language
    assert says in result.reason
    opening = "抱歉，我无法回答这个问题：" if language == "zh" else "I can't answer that: "
    assert result.answer.startswith(opening) and result.reason in result.answer


async def test_a_question_that_mentions_cancelled_orders_is_still_answered(
    catalog: Catalog, duckdb_runner: SQLRunner
) -> None:
    client, chat = scripted({"metrics": ["cancelled_order_count"], "dimensions": [], "time_range": "last_month"})
    result = await agent(catalog, client, duckdb_runner, strategy="structured").ask(
        "How many cancelled orders were there last month?"
    )
    assert len(chat.prompts) == 1
    assert not result.abstained, result.reason
    assert result.metrics == ("cancelled_order_count",) and len(result.frame) == 1


async def test_an_unreachable_warehouse_ends_the_turn_with_its_cause(catalog: Catalog) -> None:
    client, chat = scripted(GMV_LAST_MONTH, GMV_LAST_MONTH, GMV_LAST_MONTH)
    runner = UnreachableWarehouse()
    with pytest.raises(WarehouseUnavailableError, match=r"Could not connect to the PostgreSQL warehouse"):
        await agent(catalog, client, runner, strategy="auto", max_attempts=3).ask("What was GMV last month?")
    assert runner.calls == 1  # not retried as if the model had written a bad query
    assert len(chat.prompts) == 1


async def test_an_unreachable_postgres_warehouse_is_reported_as_unavailable() -> None:
    runner = open_runner("postgresql://u:p@127.0.0.1:1/db")
    try:
        with pytest.raises(WarehouseUnavailableError, match=r"127\.0\.0\.1:1"):
            runner.run("SELECT 1", max_rows=1, timeout_s=5)
    finally:
        runner.close()


FAILING_ATTEMPTS = ({"sql": "SELECT nosuch_column FROM orders"}, "this is not json", {"sql": "DROP TABLE orders"})


async def test_when_every_attempt_fails_the_abstention_names_the_first_error(
    catalog: Catalog, duckdb_runner: SQLRunner
) -> None:
    client, _ = scripted(*FAILING_ATTEMPTS)
    result = await agent(catalog, client, duckdb_runner, strategy="sql", max_attempts=3).ask("What is the GMV?")
    assert result.abstained
    assert result.answer.startswith("I can't answer that: no valid query came out of 3 attempts; the first error:")
    first, last = result.reason.split("; the last: ")
    assert "nosuch_column" in first  # the cause the repairs tried to fix
    assert "read_only" in last


async def test_a_chinese_abstention_is_worded_in_chinese(catalog: Catalog, duckdb_runner: SQLRunner) -> None:
    client, _ = scripted(*FAILING_ATTEMPTS)
    result = await agent(catalog, client, duckdb_runner, strategy="sql", max_attempts=3).ask("成交额是多少？")
    assert result.abstained
    assert result.answer.startswith("抱歉，我无法回答这个问题：3 次尝试都没有得到可用的查询")
    assert "attempt" not in result.answer


def test_knowledge_snippets_read_as_before(catalog: Catalog) -> None:
    """The snippets moved from f-strings into prompts/knowledge.yaml; the prompt text is unchanged."""
    metrics = metric_nodes._metric_knowledge(catalog, [m.name for m in catalog.metrics])
    for item, m in zip(metrics, catalog.metrics, strict=True):
        synonyms = ", ".join([*m.synonyms.en, *m.synonyms.zh])
        want = f"{m.label.en} / {m.label.zh}. {m.description}" + (f" Also called: {synonyms}." if synonyms else "")
        assert item == {"name": m.name, "text": want}
    dimensions = metric_nodes._dimension_knowledge(catalog, [d.name for d in catalog.dimensions])
    for item, d in zip(dimensions, catalog.dimensions, strict=True):
        synonyms = ", ".join([*d.synonyms.en, *d.synonyms.zh])
        grains = f" Time grains: {', '.join(d.time_grains)}." if d.time_grains else ""
        grains += " Each metric's own date." if d.metric_time else ""
        grains += " Filter only, never a breakdown." if d.filter_only else ""
        want = f"{d.label.en} / {d.label.zh}.{grains}" + (f" Also called: {synonyms}." if synonyms else "")
        assert item == {"name": d.name, "text": want}
    assert any(" Time grains: " in item["text"] for item in dimensions)
    conventions = catalog.conventions
    lines = [" ".join(catalog.description.split())] if catalog.description else []
    lines.append(
        f"Rates are returned as {conventions.rate_format}s and growth as {conventions.growth_format}s"
        f"{' (0.125 means +12.5%)' if conventions.growth_format == 'fraction' else ''}."
    )
    lines.extend(" ".join(note.split()) for note in conventions.notes)
    assert metric_nodes._business(catalog) == "\n".join(f"- {line}" for line in lines)
    periods = metric_nodes._periods(catalog, "上个月和今年的GMV")
    assert periods and all(" / " in p["text"] and ".." in p["text"] for p in periods)
