"""The evaluation runner, run files, reports and compare, driven by a fake chat model on a real small warehouse.

The chat model answers by question (the runner sends items concurrently, so replies cannot be a fixed sequence);
everything else is real: the metrics agent (passed in as ``app`` passes it), SQL gate, read-only DuckDB runner, gold
SQL execution and scorers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from app.eval_agents import EVAL_AGENTS
from evals.report import compare, html_report, markdown_report, terminal_table, write_reports
from evals.runfile import load_runfile
from evals.runner import load_records, run_evaluation
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import LLMConfig, ProjectConfig
from kubeai.errors import ConfigError, ModelServerUnavailableError, ModelTimeoutError
from serving.client import ModelClient
from tests.unit.evals.planner_fakes import PLAN_ITEMS, scripted_planner, task, write_planning_dataset

GMV_2025 = (
    "SELECT SUM(o.paid_amount) AS gmv FROM orders AS o WHERE o.status <> 'cancelled' "
    "AND o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01'"
)
ORDERS_2025 = (
    "SELECT COUNT(*) AS n FROM orders WHERE order_date >= DATE '2025-01-01' AND order_date < DATE '2026-01-01'"
)
ITEMS = [
    {"id": "q1", "question": "What was our total GMV in 2025?", "language": "en", "gold_sql": GMV_2025,
     "difficulty": "easy"},
    {"id": "q2", "question": "2025年一共有多少订单？", "language": "zh", "gold_sql": ORDERS_2025},
    {"id": "q3", "question": "How many orders did we get in 2025?", "language": "en", "gold_sql": ORDERS_2025,
     "difficulty": "hard"},
    {"id": "q4", "question": "公司员工的平均月薪是多少？", "language": "zh", "expect_abstention": True},
]  # fmt: skip


class ByQuestionChat(GenericFakeChatModel):
    """Replies with the answer mapped to whichever scripted question the prompt contains; counts its calls."""

    answers: dict[str, str] = Field(default_factory=dict)
    calls: list[str] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        text = "\n".join(str(m.content) for m in messages)
        for question, reply in self.answers.items():
            if question in text:
                self.calls.append(question)
                return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])
        self.calls.append("")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="not json"))])


def fake_client(answers: dict[str, str]) -> tuple[ModelClient, ByQuestionChat]:
    chat = ByQuestionChat(messages=iter(()), answers=answers, calls=[])
    return ModelClient(LLMConfig(), default_model="fake", chat_factory=lambda _name: chat), chat


def sql(text: str) -> str:
    return json.dumps({"sql": text})


GOOD = {
    "What was our total GMV in 2025?": sql(GMV_2025),
    "2025年一共有多少订单？": sql(ORDERS_2025),
    "How many orders did we get in 2025?": sql("SELECT COUNT(*) AS n FROM orders"),  # wrong: no date filter
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=3_000, seed=7)
    return path


@pytest.fixture
def setup(tmp_path: Path, warehouse: Path) -> tuple[Path, ProjectConfig]:
    data = tmp_path / "ds"
    data.mkdir()
    (data / "dataset.yaml").write_text(
        "name: tiny\nversion: '1.0'\nkind: metrics_qa\nitems: q.jsonl\ncatalog: demo\nwarehouse: demo\n",
        encoding="utf-8",
    )
    (data / "q.jsonl").write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS), encoding="utf-8")
    runfile = tmp_path / "run.yaml"
    runfile.write_text(
        "name: t\ndatasets: [ds]\nstrategies: [prompt]\nconcurrency: 3\noutput_dir: out\n", encoding="utf-8"
    )
    config = ProjectConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "warehouse": {"url": str(warehouse), "max_rows": 200},
            "metrics_agent": {"rag": False, "max_attempts": 2},
        }
    )
    return runfile, config


def test_runfile_resolves_paths_and_names_bad_fields(tmp_path: Path) -> None:
    good = tmp_path / "r.yaml"
    good.write_text("name: r\ndatasets: [d]\nmodels: [a, b]\nstrategies: [prompt, rag_cot]\n", encoding="utf-8")
    spec = load_runfile(good)
    assert spec.datasets == ((tmp_path / "d").resolve(),)
    assert [v.name for v in spec.variants("base")] == ["a/prompt", "a/rag_cot", "b/prompt", "b/rag_cot"]
    assert spec.variants("base")[1].spec.chain_of_thought
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: r\ndatasets: [d]\nstrategies: [telepathy]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown strategy") as info:
        load_runfile(bad)
    assert info.value.field == "strategies.0"
    bad.write_text("name: r\ndatasets: [d]\nstrategies: [prompt]\nconcurency: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_runfile(bad)
    assert info.value.field == "concurency"
    bad.write_bytes(b"\x00\x01")
    with pytest.raises(ConfigError, match="binary"):
        load_runfile(bad)


def test_bundled_run_files_load() -> None:
    root = Path(__file__).resolve().parents[3] / "evals" / "runs"
    for name in ("demo.yaml", "smoke.yaml", "planning.yaml"):
        spec = load_runfile(root / name)
        assert all(path.is_dir() for path in spec.datasets)


async def test_run_scores_items_then_resumes_from_cache(setup: tuple[Path, ProjectConfig]) -> None:
    runfile, config = setup
    client, chat = fake_client(GOOD)
    result = await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    assert result.asked == 4 and result.cached == 0
    by_id = {r["item_id"]: r for r in result.records}
    assert by_id["q1"]["correct"] and by_id["q1"]["execution_match"]
    assert by_id["q1"]["exact_match"]  # the gate's LIMIT is ignored for exact match
    assert by_id["q2"]["correct"]
    assert not by_id["q3"]["correct"] and by_id["q3"]["execution_match"] is False
    assert by_id["q4"]["abstained"] and by_id["q4"]["correct"]
    assert by_id["q1"]["chart_valid"] is True
    assert by_id["q1"]["gold_rows_head"] and by_id["q1"]["rows_head"]
    trace = json.loads(next((result.run_dir / "items").glob("*/tiny__q1-*.json")).read_text(encoding="utf-8"))
    assert trace["question"] == ITEMS[0]["question"] and "SUM" in trace["sql"]
    assert "execute" in trace["timings"]

    calls = len(chat.calls)
    again = await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    assert again.asked == 0 and again.cached == 4
    assert len(chat.calls) == calls
    assert [r["correct"] for r in again.records] == [r["correct"] for r in result.records]


async def test_a_changed_item_is_asked_again(setup: tuple[Path, ProjectConfig]) -> None:
    runfile, config = setup
    client, _ = fake_client(GOOD)
    await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    items = runfile.parent / "ds" / "q.jsonl"
    changed = [dict(i, difficulty="hard") if i["id"] == "q2" else i for i in ITEMS]
    items.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in changed), encoding="utf-8")
    result = await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    assert result.asked == 4  # the dataset file is part of every item's fingerprint


async def test_unknown_model_is_refused(setup: tuple[Path, ProjectConfig]) -> None:
    runfile, config = setup
    runfile.write_text("name: t\ndatasets: [ds]\nmodels: [nosuch]\nstrategies: [prompt]\n", encoding="utf-8")
    client, _ = fake_client(GOOD)
    with pytest.raises(ConfigError, match="not in the registry") as info:
        await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    assert info.value.field == "models"


async def test_reports_and_compare(setup: tuple[Path, ProjectConfig]) -> None:
    runfile, config = setup
    client, _ = fake_client(GOOD)
    first = await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    summary = write_reports(first.run_dir, load_records(first.run_dir))
    variant = summary["variants"]["smollm2-135m/prompt"]
    assert variant["items"] == 4 and variant["correct"] == 3 and variant["accuracy"] == 0.75
    assert variant["by_language"]["zh"]["accuracy"] == 1.0
    assert variant["by_language"]["en"]["accuracy"] == 0.5
    assert variant["by_difficulty"]["hard"]["accuracy"] == 0.0
    assert variant["abstention"]["f1"] == 1.0
    assert json.loads((first.run_dir / "summary.json").read_text(encoding="utf-8")) == summary

    table = terminal_table(summary)
    assert "smollm2-135m/prompt" in table and "75.0%" in table
    assert "| smollm2-135m/prompt | 4 | 75.0% |" in markdown_report(summary)
    page = html_report(summary, first.records)
    assert "Plotly.newPlot" in page and "plotly.js" in page.lower()
    assert "<script src=" not in page  # plotly.js is inline: the page works offline
    assert "Accuracy per variant by difficulty" in page and "Latency per question" in page

    worse = dict(GOOD, **{"2025年一共有多少订单？": sql("SELECT 1 AS n")})
    client_b, _ = fake_client(worse)
    second = await run_evaluation(
        runfile, config, agents=EVAL_AGENTS, llm=client_b, run_dir=runfile.parent / "run_b", progress=False
    )
    result = compare(first.records, second.records)
    assert result.regressions == (("smollm2-135m/prompt", "q2"),)
    assert result.improvements == ()
    assert result.deltas["smollm2-135m/prompt"]["delta"] == pytest.approx(-0.25)
    assert "regressions (right in A, wrong in B): 1" in result.text()


async def test_each_dataset_runs_with_the_strategies_of_its_kind(setup: tuple[Path, ProjectConfig]) -> None:
    runfile, config = setup
    write_planning_dataset(runfile.parent / "plans")
    runfile.write_text("name: t\ndatasets: [ds, plans]\nstrategies: [prompt, plan]\nlimit: 2\noutput_dir: out\n")
    planner = scripted_planner({str(item["request"]): [task("t1", "metric_query")] for item in PLAN_ITEMS})
    client, _ = fake_client(GOOD)
    result = await run_evaluation(runfile, config, agents=planner.agents, llm=client, progress=False)
    assert [(r["variant"], r["dataset"], r["item_id"]) for r in result.records] == [
        ("smollm2-135m/prompt", "tiny", "q1"),
        ("smollm2-135m/prompt", "tiny", "q2"),
        ("smollm2-135m/plan", "plans", "p1"),
        ("smollm2-135m/plan", "plans", "p2"),
    ]
    summary = write_reports(result.run_dir, load_records(result.run_dir))
    assert summary["variants"]["smollm2-135m/prompt"]["accuracy"] == 1.0
    assert summary["variants"]["smollm2-135m/plan"]["node_f1"] == pytest.approx(0.5 * (1 + 2 / 3))
    lines = terminal_table(summary).splitlines()
    assert lines[0] == "Metrics QA" and lines[1].split()[:3] == ["variant", "n", "accuracy"]
    planning = lines.index("Planning")
    assert lines[planning - 1] == "" and lines[planning + 1].split()[:4] == ["variant", "n", "node", "F1"]
    report = (result.run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Metrics QA" in report and "## Planning" in report


def test_load_records_refuses_a_folder_without_a_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no evaluation run"):
        load_records(tmp_path)


async def test_cli_report_and_compare(setup: tuple[Path, ProjectConfig]) -> None:
    from typer.testing import CliRunner

    from app.cli.evals import app

    runfile, config = setup
    client, _ = fake_client(GOOD)
    first = await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    worse = dict(GOOD, **{"What was our total GMV in 2025?": sql("SELECT 2 AS gmv")})
    client_b, _ = fake_client(worse)
    second = await run_evaluation(
        runfile, config, agents=EVAL_AGENTS, llm=client_b, run_dir=runfile.parent / "b", progress=False
    )
    cli = CliRunner()
    shown = cli.invoke(app, ["report", str(first.run_dir)])
    assert shown.exit_code == 0, shown.output
    assert "smollm2-135m/prompt" in shown.output and (first.run_dir / "report.html").is_file()
    as_json = cli.invoke(app, ["report", str(first.run_dir), "--json"])
    assert json.loads(as_json.output)["variants"]["smollm2-135m/prompt"]["correct"] == 3
    compared = cli.invoke(app, ["compare", str(first.run_dir), str(second.run_dir), "--fail-on-regression"])
    assert compared.exit_code == 3
    assert "smollm2-135m/prompt  q1" in compared.output


def test_total_tokens_adds_every_node_and_skips_totals() -> None:
    from evals.report import total_tokens

    tokens = {"generate": {"prompt": 3787, "completion": 196}, "understand": {"prompt": 10, "total_tokens": 12}}
    assert total_tokens(tokens) == 3787 + 196 + 10
    assert total_tokens({}) == 0


class DownChat(ByQuestionChat):
    """Answers like :class:`ByQuestionChat` but finds the server gone at one question."""

    down_at: str = ""
    timeout: bool = False

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        if self.down_at in "\n".join(str(m.content) for m in messages):
            if self.timeout:
                raise ModelTimeoutError("The model server did not answer in time; raise llm.timeout_s.")
            raise ModelServerUnavailableError("The model server at http://x/v1 is not reachable; start it.")
        return super()._generate(messages, *args, **kwargs)


async def test_an_unreachable_server_stops_the_run_and_the_next_run_resumes(
    setup: tuple[Path, ProjectConfig],
) -> None:
    runfile, config = setup
    runfile.write_text("name: t\ndatasets: [ds]\nstrategies: [prompt]\nconcurrency: 1\noutput_dir: out\n")
    chat = DownChat(messages=iter(()), answers=GOOD, calls=[], down_at=ITEMS[2]["question"])
    down = ModelClient(LLMConfig(), default_model="fake", chat_factory=lambda _name: chat)
    with pytest.raises(ModelServerUnavailableError):
        await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=down, progress=False)
    client, _ = fake_client(GOOD)
    resumed = await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    assert (resumed.cached, resumed.asked) == (2, 2)
    assert [r["item_id"] for r in resumed.records] == ["q1", "q2", "q3", "q4"]


async def test_a_timed_out_item_counts_as_wrong_and_is_asked_again(setup: tuple[Path, ProjectConfig]) -> None:
    runfile, config = setup
    chat = DownChat(messages=iter(()), answers=GOOD, calls=[], down_at=ITEMS[0]["question"], timeout=True)
    slow = ModelClient(LLMConfig(), default_model="fake", chat_factory=lambda _name: chat)
    first = await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=slow, progress=False)
    failed = next(r for r in first.records if r["item_id"] == "q1")
    assert failed["retry"] and not failed["correct"] and "ModelTimeoutError" in failed["error"]
    assert len(load_records(first.run_dir)) == 4  # the failure is on disk for reports
    client, _ = fake_client(GOOD)
    again = await run_evaluation(runfile, config, agents=EVAL_AGENTS, llm=client, progress=False)
    assert (again.cached, again.asked) == (3, 1)
    assert next(r for r in again.records if r["item_id"] == "q1")["correct"]
