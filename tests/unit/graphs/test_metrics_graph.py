"""The metrics graph with scripted fake chat models on a real (small) DuckDB demo warehouse.

Every model reply is scripted; everything else is real: prompts, structured-output validation, the metric-query
compiler, the SQL gate, the read-only DuckDB runner, charts, answers, the SQLite checkpointer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.metrics import MetricsAgent
from graphs.metrics import Context
from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from kubeai.config import LLMConfig, ProjectConfig
from serving.client import ModelClient
from tests.unit.fakes import ScriptedChat, scripted_client
from tools.sql_gate import GateContext
from tools.warehouse import open_runner


def scripted(*replies: str | dict[str, Any]) -> tuple[ModelClient, ScriptedChat]:
    return scripted_client(*replies, default_model="fake")


def project(tmp_path: Path, warehouse: Path, **agent: Any) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "data_dir": str(tmp_path),
            "warehouse": {"url": str(warehouse), "max_rows": 200},
            "metrics_agent": {"rag": False, **agent},
        }
    )


@pytest.fixture
def open_agent(tmp_path: Path, warehouse: Path) -> Any:
    def make(client: ModelClient, **agent: Any) -> Any:
        return MetricsAgent.open(project(tmp_path, warehouse, **agent), llm=client)

    return make


GMV_BY_REGION_SQL = (
    "SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv FROM orders o "
    "JOIN cities c ON o.city_id = c.city_id JOIN regions r ON c.region_id = r.region_id "
    "WHERE o.status <> 'cancelled' GROUP BY 1"
)


async def test_sql_path_runs_gated_sql_and_answers_from_the_table(open_agent: Any) -> None:
    client, chat = scripted({"sql": GMV_BY_REGION_SQL})
    async with open_agent(client, strategy="sql") as agent:
        result = await agent.ask("各地区的GMV是多少？")
    assert not result.abstained, result.reason
    assert result.path == "sql"
    assert result.language == "zh"
    assert "LIMIT 200" in result.sql.upper()
    assert list(result.frame.columns) == ["region", "gmv"]
    assert len(result.frame) >= 5
    top = result.frame.sort_values("gmv", ascending=False).iloc[0]
    assert str(top["region"]) in result.answer  # the answer's numbers and names come from the table
    assert result.chart is not None and result.chart_kind == "bar"
    assert set(result.timings) >= {"understand", "retrieve", "generate", "gate", "execute", "chart", "answer"}
    system = chat.prompts[0][0].content
    assert (
        "## Instruction" in system and "## Business knowledge: metrics" in system and "## Output requirements" in system
    )


async def test_gate_rejection_goes_back_to_the_model_then_succeeds(open_agent: Any) -> None:
    client, chat = scripted({"sql": "DROP TABLE orders"}, {"sql": GMV_BY_REGION_SQL})
    async with open_agent(client, strategy="sql") as agent:
        result = await agent.ask("各地区的GMV是多少？")
    assert not result.abstained
    repair_prompt = chat.prompts[1][-1].content
    assert "Your previous attempt failed" in repair_prompt
    assert "read_only" in repair_prompt


async def test_garbage_and_hostile_output_exhaust_the_budget_and_abstain(open_agent: Any) -> None:
    client, chat = scripted(
        "this is not json",
        {"sql": "SELECT * FROM read_csv('/etc/passwd')"},
        {"sql": "SELECT nosuch FROM orders"},
    )
    async with open_agent(client, strategy="sql", max_attempts=3) as agent:
        result = await agent.ask("What is the GMV?")
    assert result.abstained
    assert result.answer.startswith("I can't answer that:")
    assert "3 attempts" in result.answer
    assert result.sql is None
    assert result.frame.empty
    assert len(chat.prompts) == 3


async def test_execution_error_is_repaired(open_agent: Any) -> None:
    failing = "SELECT CAST('abc' AS INTEGER) AS gmv FROM orders"
    client, chat = scripted({"sql": failing}, {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"})
    async with open_agent(client, strategy="sql") as agent:
        result = await agent.ask("What is the total GMV?")
    assert not result.abstained, result.reason
    assert result.chart_kind == "card"
    assert "Your previous attempt failed" in chat.prompts[1][-1].content


async def test_approval_interrupt_then_approve_edit_or_reject(open_agent: Any) -> None:
    client, _ = scripted(*([{"sql": GMV_BY_REGION_SQL}] * 3))
    async with open_agent(client, strategy="sql", require_approval=True) as agent:
        paused = await agent.ask("各地区的GMV是多少？", thread_id="t-approve")
        assert paused.pending_sql is not None and "LIMIT" in paused.pending_sql.upper()
        assert paused.frame.empty
        done = await agent.resume("t-approve", "approve")
        assert done.pending_sql is None and not done.frame.empty

        await agent.ask("各地区的GMV是多少？", thread_id="t-edit")
        edited = await agent.resume("t-edit", {"action": "edit", "sql": "SELECT COUNT(*) AS orders FROM orders"})
        assert edited.path == "edited"
        assert list(edited.frame.columns) == ["orders"]

        await agent.ask("各地区的GMV是多少？", thread_id="t-reject")
        rejected = await agent.resume("t-reject", "reject")
        assert rejected.abstained and "拒绝" in rejected.reason  # the reason is in the question's language


async def test_edited_sql_still_passes_the_gate(open_agent: Any) -> None:
    client, _ = scripted({"sql": GMV_BY_REGION_SQL})
    async with open_agent(client, strategy="sql", require_approval=True) as agent:
        await agent.ask("GMV by region?", thread_id="t")
        result = await agent.resume("t", {"action": "edit", "sql": "DELETE FROM orders"})
    assert result.abstained
    assert "read_only" in result.reason


async def test_follow_up_is_rewritten_with_the_thread_history(open_agent: Any) -> None:
    client, chat = scripted(
        {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"},
        {"standalone_question": "What is the GMV by month?"},
        {"sql": "SELECT date_trunc('month', order_date) AS month, SUM(paid_amount) AS gmv FROM orders GROUP BY 1"},
    )
    async with open_agent(client, strategy="sql") as agent:
        first = await agent.ask("What is the GMV?", thread_id="thread-1")
        second = await agent.ask("and by month?", thread_id="thread-1")
    assert first.chart_kind == "card"
    assert second.standalone_question == "What is the GMV by month?"
    rewrite_prompt = chat.prompts[1][-1].content
    assert "What is the GMV?" in rewrite_prompt and "and by month?" in rewrite_prompt
    assert second.chart_kind == "line"
    assert "understand" in second.tokens


async def test_a_failed_rewrite_joins_the_previous_question_not_the_previous_answer(open_agent: Any) -> None:
    client, _ = scripted(
        {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"},
        "not json at all",
        {"sql": "SELECT date_trunc('month', order_date) AS month, SUM(paid_amount) AS gmv FROM orders GROUP BY 1"},
    )
    async with open_agent(client, strategy="sql") as agent:
        await agent.ask("What is the GMV?", thread_id="thread-2")
        second = await agent.ask("and by month?", thread_id="thread-2")
    assert second.standalone_question == "What is the GMV? and by month?"


async def test_empty_question_abstains_without_calling_the_model(open_agent: Any) -> None:
    client, chat = scripted()
    async with open_agent(client) as agent:
        result = await agent.ask("   ")
    assert result.abstained and "empty" in result.reason
    assert chat.prompts == []


LAST_MONTH_GMV_BY_REGION = {"metrics": ["gmv"], "dimensions": ["region"], "time_range": "last_month"}


async def test_structured_path_compiles_the_filled_query(open_agent: Any, catalog: Catalog, warehouse: Path) -> None:
    client, chat = scripted(LAST_MONTH_GMV_BY_REGION)
    async with open_agent(client, strategy="structured") as agent:
        result = await agent.ask("上个月各地区的GMV是多少？")
    assert not result.abstained, result.reason
    assert result.path == "structured"
    assert result.metrics == ("gmv",) and result.dimensions == ("region",)
    assert result.query is not None and result.query["time_range"] == "last_month"
    assert "2025-11-01" in result.answer and "2025-11-30" in result.answer  # reference date 2025-12-31
    # The structured-output schema only admits catalog names: an enum of metrics, not free text.
    expected = (
        "SELECT r.region_name AS region, SUM(o.paid_amount) AS gmv FROM orders o "
        "JOIN cities c ON o.city_id = c.city_id JOIN regions r ON c.region_id = r.region_id "
        "WHERE o.status <> 'cancelled' "
        "AND o.order_date >= DATE '2025-11-01' AND o.order_date < DATE '2025-12-01' GROUP BY 1"
    )
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        want = dict(con.execute(expected).fetchall())
    got = dict(zip(result.frame["region"], result.frame["gmv"], strict=True))
    assert got.keys() == want.keys()
    for region, value in want.items():
        assert got[region] == pytest.approx(float(value))
    assert chat.prompts[0][0].content.count("- gmv:") == 1


async def test_unknown_names_from_the_model_fail_validation_and_are_repaired(open_agent: Any) -> None:
    client, chat = scripted(
        {"metrics": ["profit"], "dimensions": [], "time_range": "last_month"},
        LAST_MONTH_GMV_BY_REGION,
    )
    async with open_agent(client, strategy="structured") as agent:
        result = await agent.ask("上个月各地区的GMV是多少？")
    assert not result.abstained
    assert "does not match the" in chat.prompts[1][-1].content


async def test_compile_error_goes_back_to_the_model(open_agent: Any) -> None:
    by_month_without_grain = {"metrics": ["gmv"], "dimensions": ["order_date"], "time_range": "last_12_months"}
    fixed = {**by_month_without_grain, "time_grain": "month"}
    client, chat = scripted(by_month_without_grain, fixed)
    async with open_agent(client, strategy="structured") as agent:
        result = await agent.ask("How did GMV develop over time?")
    assert not result.abstained, result.reason
    assert result.chart_kind == "line"
    assert "Your previous attempt failed" in chat.prompts[1][-1].content


async def test_auto_strategy_falls_back_to_sql_on_the_last_attempt(open_agent: Any) -> None:
    bad = {"metrics": ["gmv"], "dimensions": ["order_date"], "time_range": "last_month"}  # no grain: compile error
    client, chat = scripted(bad, bad, {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"})
    async with open_agent(client, strategy="auto", max_attempts=3) as agent:
        result = await agent.ask("GMV?")
    assert not result.abstained
    assert result.path == "sql"
    assert "SELECT" in chat.prompts[2][0].content and "tables" in chat.prompts[2][0].content


async def test_retrieval_narrows_the_schema_enums(tmp_path: Path, warehouse: Path) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from agents.metrics import ensure_indexed
    from knowledge.index import KnowledgeBase
    from knowledge.stores import open_store
    from kubeai.config import VectorStoreConfig

    catalog = load_catalog(demo_catalog_path())
    store = open_store(VectorStoreConfig(), tmp_path)
    kb = KnowledgeBase(embeddings=DeterministicFakeEmbedding(size=32), store=store)
    assert ensure_indexed(kb, catalog) is True
    assert ensure_indexed(kb, catalog) is False  # unchanged catalog: nothing re-embedded
    client, _ = scripted(LAST_MONTH_GMV_BY_REGION)
    runner = open_runner(str(warehouse))
    context = Context(
        catalog=catalog,
        knowledge=kb,
        llm=client,
        runner=runner,
        gate=GateContext(schema=catalog.schema_mapping()),
        strategy="structured",
        alpha=0.0,  # keyword ranking only: the fake embeddings carry no meaning
    )
    from graphs.metrics import build_graph

    state = await build_graph().ainvoke({"question": "GMV 成交额 by region 地区 last month"}, context=context)
    runner.close()
    kb.close()
    assert "gmv" in state["metric_names"]
    assert len(state["metric_names"]) <= context.max_metrics
    assert "region" in state["dimension_names"]
    assert not state["abstained"], state["reason"]


def test_exact_mentions_link_metrics_and_dimensions(catalog: Catalog) -> None:
    from graphs.metrics.linking import mentioned_dimensions, mentioned_metrics

    assert mentioned_metrics("上个月各地区的GMV是多少？", catalog) == ["gmv"]
    assert mentioned_dimensions("上个月各地区的GMV是多少？", catalog) == ["region"]
    assert mentioned_metrics("net GMV by city", catalog) == ["net_gmv"]  # the longer mention wins
    assert mentioned_metrics("退款率按渠道", catalog) == ["refund_rate"]
    assert mentioned_metrics("how is the weather", catalog) == []


async def test_a_named_metric_is_the_only_choice_in_the_schema(open_agent: Any) -> None:
    client, chat = scripted(LAST_MONTH_GMV_BY_REGION)
    async with open_agent(client, strategy="structured") as agent:
        await agent.ask("上个月各地区的GMV是多少？")
    schema = chat.formats[0]["json_schema"]["schema"]
    assert schema["properties"]["metrics"]["items"]["enum"] == ["gmv"]
    dimensions = schema["properties"]["dimensions"]["items"]["enum"]
    assert dimensions[0] == "region"


async def test_thread_history_is_kept_by_the_checkpointer(open_agent: Any) -> None:
    client, _ = scripted({"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"})
    async with open_agent(client, strategy="sql") as agent:
        result = await agent.ask("What is the GMV?", thread_id="kept")
    async with open_agent(scripted()[0], strategy="sql") as reopened:
        history = await reopened.history("kept")
    assert history == [("user", "What is the GMV?"), ("assistant", result.answer)]


def test_periods_grains_and_breakdowns_said_in_words(catalog: Catalog) -> None:
    from graphs.metrics.linking import breakdown_dimensions, mentioned_grain, mentioned_period

    assert mentioned_period("上个月各地区的GMV是多少？", catalog) == "last_month"
    assert mentioned_period("GMV over the last 12 months", catalog) == "last_12_months"
    assert mentioned_period("上季度华东的销售额", catalog) == "last_quarter"
    assert mentioned_period("GMV by region", catalog) is None
    assert mentioned_grain("今年每月的订单量", catalog) == "month"
    assert mentioned_grain("monthly GMV", catalog) == "month"
    assert mentioned_grain("GMV by region", catalog) is None
    assert breakdown_dimensions("上个月各地区的GMV是多少？", catalog) == ["region"]
    assert breakdown_dimensions("How many orders per channel this year?", catalog) == ["channel"]
    assert breakdown_dimensions("华东的销售额", catalog) == []  # a filter value, not a breakdown


async def test_words_in_the_question_correct_what_the_model_missed(open_agent: Any) -> None:
    careless = {"metrics": ["gmv"], "dimensions": [], "time_range": "all_time"}
    client, _ = scripted(careless, careless)
    async with open_agent(client, strategy="structured") as agent:
        by_region = await agent.ask("上个月各地区的GMV是多少？")
        monthly = await agent.ask("What was the monthly GMV over the last 12 months?")
    assert by_region.query is not None
    assert by_region.query["time_range"] == "last_month"
    assert by_region.dimensions == ("region",)
    assert by_region.chart_kind == "bar"
    assert monthly.query is not None
    assert monthly.query["time_grain"] == "month"
    assert monthly.dimensions == ("order_date",)
    assert len(monthly.frame) == 12
    assert monthly.chart_kind == "line"


def test_focus_drops_repeats_and_extra_metrics() -> None:
    from graphs.metrics.evidence import focus as _focus
    from tools.metric_query import MetricQuery

    query = MetricQuery.model_validate(
        {
            "metrics": ["aov", "gmv", "gmv"],
            "dimensions": ["region", "region"],
            "time_range": "last_month",
            "order_by": [{"target": "aov"}, {"target": "gmv", "direction": "desc"}, {"target": "gmv"}],
        }
    )
    focused = _focus(query, ranked=["gmv", "aov"], named=0)
    assert focused.metrics == ("gmv",)  # retrieval ranked gmv first
    assert focused.dimensions == ("region",)
    assert [(o.target, o.direction) for o in focused.order_by] == [("gmv", "desc")]
    assert _focus(query, ranked=["gmv", "aov"], named=2).metrics == ("aov", "gmv")


async def test_a_refused_request_is_an_observation_then_an_honest_abstention(open_agent: Any) -> None:
    import httpx

    def refuse(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": "This model's maximum context length is 2048 tokens."}})

    client = ModelClient(
        LLMConfig(base_url="http://model.test/v1", max_retries=0),
        default_model="fake",
        transport=httpx.MockTransport(refuse),
    )
    async with open_agent(client, strategy="sql", max_attempts=2) as agent:
        result = await agent.ask("GMV?")
    assert result.abstained
    assert "maximum context length" in result.reason


async def test_integer_year_buckets_are_charted_as_time_not_as_a_measure(open_agent: Any) -> None:
    # The demo catalog formats yearly buckets as integers (grain_formats: {year: YYYY}); the compiler says the
    # column is a time group, so the chart does not take 2024 and 2025 for a second metric.
    yearly = {"metrics": ["gmv"], "dimensions": ["order_date"], "time_grain": "year", "time_range": "all_time"}
    client, _ = scripted(yearly)
    async with open_agent(client, strategy="structured") as agent:
        result = await agent.ask("What was GMV each year?")
    assert not result.abstained, result.reason
    assert [type(v) for v in result.frame["order_date_year"]] == [int, int]
    assert result.chart_kind in ("line", "bar")
    assert result.chart is not None
    assert result.chart["data"][0]["x"] == [2024, 2025]  # the years are the x axis, not a second measure
    assert result.chart["layout"]["xaxis"]["title"]["text"] == "Order date (year)"


async def test_a_breakdown_in_a_catalog_period_is_charted_by_the_compilers_roles(open_agent: Any) -> None:
    # h2 is a period of the catalog's vocabulary, not of the base query schema: re-validating the query to
    # recover the roles failed, and the chart fell back to dtypes, taking the integer year for a second measure.
    by_region_and_year = {
        "metrics": ["gmv"],
        "dimensions": ["region", "order_date"],
        "time_grain": "year",
        "time_range": "h2",
    }
    client, _ = scripted(by_region_and_year)
    async with open_agent(client, strategy="structured") as agent:
        result = await agent.ask("What was the yearly GMV by region in H2?")
    assert not result.abstained, result.reason
    assert result.query is not None and result.query["time_range"] == "h2"
    assert result.column_source == "compiler"
    roles = {c["name"]: c["role"] for c in result.column_info}
    assert roles == {"region": "dimension", "order_date_year": "time", "gmv": "metric"}
    assert result.chart is not None
    traces = result.chart["data"]
    assert all(max(t["y"]) > 10_000 for t in traces)  # every trace plots GMV, none the year 2025
    assert "order_date_year" not in {t["name"] for t in traces}
    assert result.chart["layout"]["xaxis"]["title"]["text"] == "Order date (year)"


async def test_a_chinese_question_gets_chinese_labels_with_units_on_the_chart_and_the_table(
    open_agent: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli.ask import print_result

    client, _ = scripted(LAST_MONTH_GMV_BY_REGION, LAST_MONTH_GMV_BY_REGION)
    async with open_agent(client, strategy="structured") as agent:
        chinese = await agent.ask("上个月各地区的GMV是多少？")
        english = await agent.ask("What was the GMV by region last month?")
    assert chinese.chart_kind == "bar" and chinese.chart is not None
    layout = chinese.chart["layout"]
    axes = {layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]}
    assert axes == {"地区", "成交额（CNY）"}
    assert chinese.headers == ["地区", "成交额（CNY）"]
    assert list(chinese.frame.columns) == ["region", "gmv"]  # programs keep the raw names
    payload = chinese.to_json()
    assert payload["columns"] == ["region", "gmv"] and payload["headers"] == ["地区", "成交额（CNY）"]
    assert english.headers == ["Region", "GMV (CNY)"]
    assert english.chart is not None
    assert {english.chart["layout"]["xaxis"]["title"]["text"], english.chart["layout"]["yaxis"]["title"]["text"]} == {
        "Region",
        "GMV (CNY)",
    }
    print_result(chinese)
    header = [line for line in capsys.readouterr().out.splitlines() if "地区" in line and "成交额" in line]
    assert header, "the CLI table is headed by the catalog's labels"


async def test_free_sql_results_have_inferred_roles_and_the_state_says_so(open_agent: Any) -> None:
    client, _ = scripted({"sql": GMV_BY_REGION_SQL})
    async with open_agent(client, strategy="sql") as agent:
        result = await agent.ask("GMV by region?")
    assert not result.abstained, result.reason
    assert result.column_source == "inferred"
    info = {c["name"]: c for c in result.column_info}
    assert (info["region"]["role"], info["gmv"]["role"]) == ("dimension", "metric")
    assert info["gmv"]["unit"] == "CNY"  # a column named like a catalog metric takes its unit and labels
    assert result.headers == ["Region", "GMV (CNY)"]


async def test_a_turn_builds_one_dataframe_at_the_edge(open_agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import pandas as pd

    built: list[str] = []
    original = pd.DataFrame.__init__

    def counting(self: pd.DataFrame, *args: Any, **kwargs: Any) -> None:
        frame = sys._getframe(1)
        while frame.f_back is not None and "site-packages" in frame.f_code.co_filename:
            frame = frame.f_back  # the project code that asked pandas for the frame
        if "tools/warehouse" not in frame.f_code.co_filename:  # the runner hands back its own frame
            built.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
        original(self, *args, **kwargs)

    client, _ = scripted(LAST_MONTH_GMV_BY_REGION)
    async with open_agent(client, strategy="structured") as agent:
        monkeypatch.setattr(pd.DataFrame, "__init__", counting)
        result = await agent.ask("上个月各地区的GMV是多少？")
        during_turn = list(built)
        assert len(result.frame) >= 5 and len(result.frame.columns) == 2
        payload = result.to_json()
    assert result.chart_kind == "bar" and len(payload["rows"]) == len(result.frame)
    assert during_turn == []  # the graph and the agent pass rows and column info, not DataFrames
    assert len(built) == 1  # .frame, built once on first use


async def test_rates_read_right_whether_the_catalog_gives_them_as_fractions_or_percent(
    tmp_path: Path, warehouse: Path
) -> None:
    text = demo_catalog_path().read_text(encoding="utf-8")
    assert "rate_format: fraction" in text
    percent = tmp_path / "catalog.yaml"
    percent.write_text(text.replace("rate_format: fraction", "rate_format: percent"), encoding="utf-8")
    query = {"metrics": ["refund_rate"], "dimensions": [], "time_range": "last_month"}
    answers = {}
    for name, path in (("fraction", demo_catalog_path()), ("percent", percent)):
        client, _ = scripted(query)
        config = project(tmp_path / name, warehouse, strategy="structured")
        async with MetricsAgent.open(config, catalog_path=path, llm=client) as agent:
            result = await agent.ask("What was the refund rate last month?")
        assert not result.abstained, result.reason
        answers[name] = (result.rows[0][0], result.answer)
    fraction, percent_value = answers["fraction"][0], answers["percent"][0]
    assert percent_value == pytest.approx(fraction * 100)
    shown = f"{fraction * 100:.2f}%"
    assert shown in answers["fraction"][1] and shown in answers["percent"][1]
