"""Replanning after a failed task: the planner sees the failure and revises the rest of the graph once.

Everything but the model is real: the graph, the validator, the task board and the planner's own tools (the
metric tool answers from fixed tables, and fails for a metric it has no table for).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from agents.planner import PlannerAgent
from graphs.planner import Context, DemoBank
from tests.unit.graphs.planner_support import models, real_tools, registry, scripted, task
from tools.registry import TaskInputs, TaskOutput, ToolRegistry

ANSWER = {"answer": "GMV and refunds by region [t1] [t5], charted [t7].", "sources": ["t1", "t5", "t7"]}
REQUEST = "Compare GMV and refund amount by region, and chart it."
FIRST_PLAN = {
    "tasks": [
        task("t1", "metric_query", {"question": "GMV by region"}),
        task("t2", "metric_query", {"question": "returns money by region"}),  # no table: the tool fails
        task("t3", "table_join", {"left": "t1", "right": "t2", "on": ["region"]}, ["t1", "t2"]),
        task("t4", "chart", {"table": "t3"}, ["t3"]),
    ]
}
REVISION = {
    "tasks": [
        task("t5", "metric_query", {"question": "refund amount by region"}),
        task("t6", "table_join", {"left": "t1", "right": "t5", "on": ["region"]}, ["t1", "t5"]),
        task("t7", "chart", {"table": "t6"}, ["t6"]),
    ]
}


def agent(client: Any, tools: ToolRegistry, **settings: Any) -> PlannerAgent:
    return PlannerAgent(context=Context(tools=tools, llm=client, models=models(), demos=DemoBank(()), **settings))


async def test_a_failed_metric_task_is_replanned_and_the_revision_runs_reusing_finished_tasks() -> None:
    client, chat = scripted(FIRST_PLAN, REVISION, ANSWER)
    asked: list[str] = []
    run = await agent(client, real_tools(client, asked)).run(REQUEST)

    assert run.status == "done" and run.replanned
    assert [t.id for t in run.plan] == ["t1", "t5", "t6", "t7"], "kept t1, revised tasks after every used id"
    assert [r.status for r in run.tasks] == ["ok", "ok", "ok", "ok"]
    assert run.tasks[3].chart is not None
    assert asked == ["GMV by region", "returns money by region", "refund amount by region"], "t1 ran once"
    assert run.answer == ANSWER["answer"]

    (revision,) = run.revisions
    assert revision["failed"] == [
        {
            "id": "t2",
            "tool": "metric_query",
            "status": "failed",
            "error": "no fixed table for 'returns money by region'",
        }
    ]
    assert revision["kept"] == ["t1"] and revision["valid"] and revision["problems"] == []
    assert [(t["id"], t["status"]) for t in revision["superseded"]] == [
        ("t2", "failed"),
        ("t3", "skipped"),
        ("t4", "skipped"),
    ]
    assert [t["id"] for t in revision["tasks"]] == ["t5", "t6", "t7"]
    assert run.provenance()[-1] == (
        "replanned after t2 failed (no fixed table for 'returns money by region'): t2, t3, t4 replaced by t5, t6, t7; "
        "kept t1"
    )
    data = run.to_json()
    assert data["replanned"] is True and data["revisions"][0]["kept"] == ["t1"]

    # The model saw what ran and what failed, and its schema numbers new tasks from t5 and lets them use t1.
    prompt = str(chat.prompts[1][1].content)
    assert "[t1] metric_query" in prompt and "(ok)" in prompt
    assert "- t2 failed: no fixed table for 'returns money by region'" in prompt
    assert "numbered from t5 on" in str(chat.prompts[1][0].content)
    positions = chat.formats[1]["json_schema"]["schema"]["properties"]["tasks"]["prefixItems"]
    first = {v["properties"]["tool"]["const"]: v for v in positions[0]["anyOf"]}
    assert first["metric_query"]["properties"]["id"] == {"const": "t5"}
    assert first["chart"]["properties"]["args"]["properties"]["table"]["enum"] == ["t1"]


async def test_a_failure_in_the_revision_is_not_replanned_again() -> None:
    revision = {"tasks": [task("t5", "metric_query", {"question": "money returned by region, second try"})]}
    answer = {"answer": "Only GMV is known [t1].", "sources": ["t1"]}
    client, chat = scripted(FIRST_PLAN, revision, answer)  # a second re-plan would find no scripted reply
    asked: list[str] = []
    run = await agent(client, real_tools(client, asked)).run(REQUEST)

    assert len(run.revisions) == 1 and run.replanned
    assert [(r.task.id, r.status) for r in run.tasks] == [("t1", "ok"), ("t5", "failed")]
    assert run.status == "partial" and run.answer == "Only GMV is known [t1]."
    assert len(chat.prompts) == 3, "plan, one revision, respond"
    assert asked.count("GMV by region") == 1


async def test_an_invalid_revision_ends_the_run_with_what_it_has() -> None:
    uses_the_failed_task = {
        "tasks": [task("t5", "table_join", {"left": "t1", "right": "t2", "on": ["region"]}, ["t1", "t2"])]
    }
    answer = {"answer": "GMV by region is known; refunds failed [t1].", "sources": ["t1"]}
    client, _ = scripted(FIRST_PLAN, uses_the_failed_task, answer)
    run = await agent(client, real_tools(client)).run(REQUEST)

    assert not run.replanned and run.status == "partial"
    assert [(r.task.id, r.status) for r in run.tasks] == [
        ("t1", "ok"),
        ("t2", "failed"),
        ("t3", "skipped"),
        ("t4", "skipped"),
    ]
    (revision,) = run.revisions
    assert not revision["valid"] and revision["tasks"] == []
    assert "task t5 uses the result of t2, which is not in the plan" in revision["problems"]
    assert run.provenance()[-1].startswith("not replanned after t2 failed")
    assert run.answer == answer["answer"]


async def test_a_revision_that_reuses_an_id_of_the_run_is_invalid() -> None:
    reused = {"tasks": [task("t2", "metric_query", {"question": "refund amount by region"})]}
    client, _ = scripted(FIRST_PLAN, reused, {"answer": "Partial [t1].", "sources": ["t1"]})
    run = await agent(client, real_tools(client)).run(REQUEST)
    assert run.revisions[0]["problems"] == ["tasks t2 reuse ids of the run; number new tasks from t5"]
    assert not run.replanned


async def test_an_empty_result_is_a_failure_to_replan_on() -> None:
    calls: list[str] = []

    async def behaviour(name: str, inputs: TaskInputs) -> TaskOutput:
        calls.append(name)
        rows = [] if name == "nothing" else [1.0, 2.0]
        return TaskOutput(text=f"table {name}", table=pd.DataFrame({"gmv": rows}))

    plan = {"tasks": [task("t1", "step", {"name": "load"}), task("t2", "step", {"name": "nothing"})]}
    revision = {"tasks": [task("t3", "step", {"name": "retry"})]}
    client, _ = scripted(plan, revision, {"answer": "Done [t1] [t3].", "sources": ["t1", "t3"]})
    run = await agent(client, registry(behaviour)).run("load two things")

    assert run.revisions[0]["failed"] == [
        {"id": "t2", "tool": "step", "status": "empty", "error": "returned a table without rows"}
    ]
    assert [t.id for t in run.plan] == ["t1", "t3"] and run.status == "done"
    assert calls == ["load", "nothing", "retry"]


async def test_no_replan_for_a_callers_plan_or_when_replans_are_off() -> None:
    given = FIRST_PLAN["tasks"]
    client, chat = scripted({"answer": "Partial [t1].", "sources": ["t1"]})
    run = await agent(client, real_tools(client)).run(REQUEST, plan=given)
    assert run.revisions == () and run.status == "partial"
    assert len(chat.prompts) == 1, "only the answer was asked"

    client, chat = scripted(FIRST_PLAN, {"answer": "Partial [t1].", "sources": ["t1"]})
    run = await agent(client, real_tools(client), max_replans=0).run(REQUEST)
    assert run.revisions == () and run.status == "partial"
    assert len(chat.prompts) == 2
