"""The task-decomposition agent end to end with the real vLLM server, metrics agent, knowledge base and tools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents.planner import PlannerAgent
from graphs.metrics.linking import mentioned_metrics
from kubeai.config import ProjectConfig
from tests.integration.support import REPO, LiveServer, cli_env

pytestmark = pytest.mark.integration

STATUSES = {"ok", "failed", "skipped"}


async def test_a_multi_task_plan_runs_in_parallel_with_real_tools(
    live_server: LiveServer, agent_config: ProjectConfig
) -> None:
    plan = [
        {"id": "t1", "tool": "metric_query", "args": {"question": "上个月各地区的GMV是多少？"}, "dep": []},
        {"id": "t2", "tool": "metric_query", "args": {"question": "上个月各地区的退款金额是多少？"}, "dep": []},
        {"id": "t3", "tool": "table_join", "args": {"left": "t1", "right": "t2", "on": [], "how": "inner"}, "dep": []},
        {"id": "t4", "tool": "chart", "args": {"table": "t1", "kind": "bar", "title": "GMV"}, "dep": ["t1"]},
        {"id": "t5", "tool": "calculate", "args": {"expression": "(1200 - 1000) / 1000 * 100"}, "dep": []},
        {"id": "t6", "tool": "summarize", "args": {"text": "<resource>-t1", "language": "en"}, "dep": ["t1"]},
    ]
    async with PlannerAgent.open(agent_config, llm=live_server.client()) as agent:
        run = await agent.run("上个月各地区的GMV和退款金额，画图并用英文总结", plan=plan)
    by_id = {r.task.id: r for r in run.tasks}
    assert run.repairs == (
        "task t3 uses t1, so t1 was added to its dependencies",
        "task t3 uses t2, so t2 was added to its dependencies",
    )
    assert {r.status for r in run.tasks} <= STATUSES
    assert run.peak_parallel >= 2, "independent tasks ran one at a time"
    # The calculator needs no model: it must be right whatever the small model does elsewhere.
    assert by_id["t5"].status == "ok" and by_id["t5"].value == pytest.approx(20.0)
    assert by_id["t6"].task.model is not None, "the select step chose a model for the text task"
    for report in run.tasks:
        for dep in report.task.depends_on:
            if by_id[dep].status != "ok":
                assert report.status == "skipped" and dep in report.text
    if by_id["t1"].status == "ok":
        assert by_id["t1"].table is not None and not by_id["t1"].table.empty
        assert by_id["t4"].status == "ok" and by_id["t4"].chart is not None
    assert run.answer
    assert set(run.cited) <= set(by_id)
    assert run.mermaid().startswith("flowchart TD")
    assert run.timings["execute"] > 0


README_REQUEST = "Compare last month's GMV and refund amount by region, chart it and summarize"


async def test_the_readme_request_is_planned_into_metric_tasks_a_chart_and_a_summary_that_run(
    live_server: LiveServer, agent_config: ProjectConfig
) -> None:
    """README's example: the real planner must produce a plan that runs, whatever the small model writes."""
    async with PlannerAgent.open(agent_config, llm=live_server.client()) as agent:
        run = await agent.run(README_REQUEST)
        catalog = agent.context.catalog
    assert catalog is not None
    by_id = {r.task.id: r for r in run.tasks}
    metric_tasks = [r for r in run.tasks if r.task.tool == "metric_query"]
    asked = [set(mentioned_metrics(str(r.task.args["question"]), catalog)) for r in metric_tasks]
    assert {"gmv"} in asked and {"refund_amount"} in asked, f"one metric task per metric: {asked}"
    for report in metric_tasks:
        assert report.task.note == "", f"{report.task.id} changed the question: {report.task.note}"
        assert report.table is not None and {"region"} <= set(report.table.columns)

    def upstream(task_id: str) -> set[str]:
        found: set[str] = set()
        for dep in by_id[task_id].task.depends_on:
            found |= {dep, *upstream(dep)}
        return found

    metric_ids = {r.task.id for r in metric_tasks}
    charts = [r for r in run.tasks if r.task.tool == "chart"]
    summaries = [r for r in run.tasks if r.task.tool == "summarize"]
    assert charts and summaries, [r.task.tool for r in run.tasks]
    assert all(metric_ids <= upstream(r.task.id) for r in (*charts, *summaries)), "chart and summary use both metrics"
    assert [(r.task.id, r.status) for r in run.tasks if r.status != "ok"] == []
    assert run.status == "done"
    assert charts[0].chart is not None and summaries[0].text.strip()
    assert run.answer.strip()
    assert set(run.cited) <= set(by_id)


def test_kubeai_plan_json_end_to_end(live_server: LiveServer, demo_warehouse: Path, tmp_path: Path) -> None:
    env = cli_env(KUBEAI_LLM__BASE_URL=live_server.base_url, KUBEAI_WAREHOUSE__URL=str(demo_warehouse))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(
        json.dumps(
            {
                "tasks": [
                    {"id": "t1", "tool": "doc_qa", "args": {"question": "退货政策允许几天无理由退货？"}, "dep": []},
                    {"id": "t2", "tool": "calculate", "args": {"expression": "7 * 24"}, "dep": []},
                    {
                        "id": "t3",
                        "tool": "translate",
                        "args": {"text": "<resource>-t1", "target_language": "en"},
                        "dep": ["t1"],
                    },
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    mermaid = tmp_path / "plan.mmd"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "plan",
            "退货政策允许几天无理由退货？换算成小时并翻译成英文",
            "--plan-file",
            str(plan_file),
            "--json",
            "--mermaid",
            str(mermaid),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    tasks = {t["id"]: t for t in payload["tasks"]}
    assert set(tasks) == {"t1", "t2", "t3"}
    assert tasks["t2"]["status"] == "ok" and tasks["t2"]["value"] == 168
    if tasks["t1"]["status"] == "ok":
        assert tasks["t1"]["details"]["sources"], "document QA names the documents it quoted"
    assert payload["answer"]
    assert mermaid.read_text(encoding="utf-8").startswith("flowchart TD")
    assert "t1 --> t3" in payload["mermaid"]
