"""The task-decomposition graph end to end with scripted models and controllable tools.

Everything but the model is real: prompts, the plan schema, validation and re-planning, model selection, the
LangGraph fan-out, the task board, provenance.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agents.planner import PlannerAgent
from graphs.planner import Context, DemoBank, PlannedTask
from knowledge.catalog import demo_catalog_path, load_catalog
from kubeai.errors import ModelServerUnavailableError, PlanningError
from tests.unit.graphs.planner_support import (
    fail_with,
    models,
    real_tools,
    registry,
    scripted,
    table_step,
    task,
)
from tools.registry import TaskInputs, TaskOutput, ToolRegistry

ANSWER = {"answer": "Region b leads [t1].", "sources": ["t1"]}


def agent(client: Any, tools: ToolRegistry | None = None, **settings: Any) -> PlannerAgent:
    context = Context(tools=tools or registry(), llm=client, models=models(), demos=DemoBank(()), **settings)
    return PlannerAgent(context=context)


async def test_plan_is_asked_through_the_registry_schema_and_run() -> None:
    plan = {"tasks": [task("t1", "step", {"name": "load"}), task("t2", "count_rows", {"table": "t1"}, ["t1"])]}
    client, chat = scripted(plan, ANSWER)
    run = await agent(client).run("count the rows")
    assert run.status == "done"
    assert [r.status for r in run.tasks] == ["ok", "ok"]
    assert run.tasks[1].text == "2 rows" and run.tasks[1].value == 2.0
    assert run.answer == "Region b leads [t1]." and run.cited == ("t1",)
    schema = chat.formats[0]["json_schema"]["schema"]
    assert {"step", "count_rows", "summarize"} <= set(str(schema).split("'")), "every tool is a variant of the plan"
    system = str(chat.prompts[0][0].content)
    assert "count_rows(table: task id)" in system and "## Output requirements" in system
    assert run.provenance()[0].startswith("[t1] step: table load")


async def test_reference_not_listed_in_dep_is_added_and_reported() -> None:
    plan = {"tasks": [task("t1", "step", {"name": "load"}), task("t2", "count_rows", {"table": "t1"})]}
    client, _ = scripted(plan, ANSWER)
    run = await agent(client).run("count")
    assert run.plan[1].depends_on == ("t1",)
    assert run.repairs == ("task t2 uses t1, so t1 was added to its dependencies",)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ([task("t1", "step", {"name": "a"}, ["t2"]), task("t2", "step", {"name": "b"}, ["t1"])], "form a cycle"),
        ([task("t1", "step", {"name": "a"}, ["t7"])], "depends on t7, which is not in the plan"),
        ([task("t1", "nonexistent", {"name": "a"})], "tool 'nonexistent', which does not exist"),
        ([task("t1", "step", {"name": "a"}), task("t1", "step", {"name": "b"})], "used more than once"),
        ([task("t1", "count_rows", {"table": "t1"})], "uses its own result"),
        ([task("t1", "count_rows", {"table": "t9"})], "uses the result of t9, which is not in the plan"),
        ([task("t1", "step", {"name": ""})], "argument `name` of step"),
    ],
)
async def test_a_given_invalid_plan_fails_with_its_problem(bad: list[dict[str, Any]], problem: str) -> None:
    client, chat = scripted()
    with pytest.raises(PlanningError) as caught:
        await agent(client).run("x", plan=bad)
    assert problem in str(caught.value)
    assert caught.value.draft == tuple(bad)
    assert chat.prompts == [], "a caller's plan is not re-planned by the model"


async def test_invalid_model_plans_are_replanned_with_the_problems_then_fail_clearly() -> None:
    cyclic = {"tasks": [task("t1", "step", {"name": "a"}, ["t2"]), task("t2", "step", {"name": "b"}, ["t1"])]}
    client, chat = scripted(cyclic, cyclic, cyclic)
    with pytest.raises(PlanningError, match=r"in 3 attempt\(s\): tasks t1 -> t2 -> t1 form a cycle"):
        await agent(client, max_plan_attempts=3).run("x")
    assert len(chat.prompts) == 3
    replan = str(chat.prompts[1][1].content)
    assert "Your previous plan was rejected" in replan and "form a cycle" in replan


async def test_a_replan_that_validates_runs() -> None:
    unknown_dep = {"tasks": [task("t1", "step", {"name": "a"}, ["t3"])]}
    fixed = {"tasks": [task("t1", "step", {"name": "a"})]}
    client, _ = scripted(unknown_dep, fixed, ANSWER)
    run = await agent(client).run("x")
    assert run.attempts == 2 and run.status == "done"


async def test_garbage_from_the_model_counts_as_a_failed_attempt() -> None:
    client, _ = scripted("this is not json", {"tasks": [task("t1", "step", {"name": "a"})]}, ANSWER)
    run = await agent(client).run("x")
    assert run.attempts == 2


async def test_independent_tasks_run_at_the_same_time() -> None:
    both_started = asyncio.Event()
    started: list[str] = []

    async def rendezvous(name: str, inputs: TaskInputs) -> TaskOutput:
        started.append(name)
        if len(started) == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), timeout=5)  # deadlocks if run one after the other
        return TaskOutput(text=name, value=1.0)

    plan = [task("t1", "step", {"name": "a"}), task("t2", "step", {"name": "b"})]
    client, _ = scripted(ANSWER)
    run = await agent(client, registry(rendezvous)).run("both", plan=plan)
    assert [r.status for r in run.tasks] == ["ok", "ok"]
    assert run.peak_parallel == 2


async def test_a_task_starts_when_its_own_dependencies_finish_not_its_level() -> None:
    # t1 (slow) and t2 (fast) are independent; t3 needs only t2, so it must finish while t1 still runs.
    release_t1 = asyncio.Event()
    order: list[str] = []

    async def behaviour(name: str, inputs: TaskInputs) -> TaskOutput:
        if name == "slow":
            await asyncio.wait_for(release_t1.wait(), timeout=5)
        if name == "after-fast":
            release_t1.set()
        order.append(name)
        return TaskOutput(text=name)

    plan = [
        task("t1", "step", {"name": "slow"}),
        task("t2", "step", {"name": "fast"}),
        task("t3", "step", {"name": "after-fast"}, ["t2"]),
    ]
    client, _ = scripted(ANSWER)
    run = await agent(client, registry(behaviour)).run("x", plan=plan)
    assert order == ["fast", "after-fast", "slow"]
    assert run.status == "done"


async def test_a_failed_task_skips_its_dependants_and_the_rest_continue() -> None:
    async def behaviour(name: str, inputs: TaskInputs) -> TaskOutput:
        if name == "broken":
            raise RuntimeError("disk on fire")
        return await table_step(name, inputs)

    plan = [
        task("t1", "step", {"name": "broken"}),
        task("t2", "count_rows", {"table": "t1"}, ["t1"]),
        task("t3", "step", {"name": "fine"}),
        task("t4", "summarize", {"text": "<resource>-t2"}, ["t2"]),
    ]
    client, chat = scripted({"answer": "Only t3 worked [t3].", "sources": ["t3"]})
    run = await agent(client, registry(behaviour)).run("x", plan=plan)
    status = {r.task.id: (r.status, r.text) for r in run.tasks}
    assert status["t1"] == ("failed", "RuntimeError: disk on fire")
    assert status["t2"] == ("skipped", "skipped because t1 failed")
    assert status["t4"] == ("skipped", "skipped because t2 was skipped")
    assert status["t3"][0] == "ok"
    assert run.status == "partial"
    assert run.answer == "Only t3 worked [t3]." and run.cited == ("t3",)
    prompt = str(chat.prompts[-1][1].content)
    assert "[t1] step (failed): RuntimeError: disk on fire" in prompt


async def test_tool_errors_and_timeouts_fail_only_their_task() -> None:
    async def behaviour(name: str, inputs: TaskInputs) -> TaskOutput:
        if name == "hang":
            await asyncio.sleep(30)
        return TaskOutput(text=name)

    client, _ = scripted(ANSWER)
    plan = [task("t1", "step", {"name": "hang"}), task("t2", "step", {"name": "quick"})]
    run = await agent(client, registry(behaviour), task_timeout_s=0.2).run("x", plan=plan)
    assert [(r.status, r.text) for r in run.tasks] == [("failed", "timed out after 0.2 s"), ("ok", "quick")]

    client, _ = scripted(ANSWER)
    run = await agent(client, registry(fail_with("column 'gmv' is missing"))).run(
        "x", plan=[task("t1", "step", {"name": "a"})]
    )
    assert run.tasks[0].status == "failed" and run.tasks[0].text == "column 'gmv' is missing"
    assert run.status == "failed"


@pytest.mark.parametrize(("request_text", "head"), [("x", "No task succeeded"), ("计算", "没有任务成功")])
async def test_a_run_where_every_task_failed_answers_with_the_failures_not_the_model(
    request_text: str, head: str
) -> None:
    client, chat = scripted()
    run = await agent(client, registry(fail_with("division by zero in `1 / 0`"))).run(
        request_text, plan=[task("t1", "step", {"name": "a"})]
    )
    assert run.status == "failed"
    assert run.answer.startswith(head) and "division by zero" in run.answer
    assert run.cited == () and chat.prompts == [], "no model is asked to compose an answer from nothing"


async def test_an_unreachable_model_server_stops_the_run_with_its_sentence() -> None:
    async def behaviour(name: str, inputs: TaskInputs) -> TaskOutput:
        if name == "model":
            raise ModelServerUnavailableError("Cannot reach the model server at http://x/v1.", url="http://x/v1")
        return await table_step(name, inputs)

    plan = [task("t1", "step", {"name": "model"}), task("t2", "count_rows", {"table": "t1"}, ["t1"])]
    client, _ = scripted()
    with pytest.raises(ModelServerUnavailableError, match="Cannot reach the model server"):
        await agent(client, registry(behaviour)).run("x", plan=plan)


async def test_model_selection_filters_by_task_type_then_lets_the_model_choose() -> None:
    client, chat = scripted({"choice": "writer"}, ANSWER)
    context = Context(
        tools=registry(),
        llm=client,
        models=models(("writer", ("summarize",), ("en", "zh")), ("sql", ("metric-explanation",), ("en",))),
        demos=DemoBank(()),
    )
    plan = [task("t1", "step", {"name": "a"}), task("t2", "summarize", {"text": "<resource>-t1"}, ["t1"])]
    run = await PlannerAgent(context=context).run("summarize a", plan=plan)
    assert run.plan[1].model == "writer" and run.plan[0].model is None
    assert run.tasks[1].text == "writer: table a"
    choice = chat.formats[0]["json_schema"]["schema"]["properties"]["choice"]["enum"]
    assert choice == ["base", "writer"], "only models whose skills name the task are candidates"


async def test_a_single_candidate_is_chosen_without_asking() -> None:
    client, chat = scripted(ANSWER)
    plan = [task("t1", "summarize", {"text": "hello"})]
    run = await agent(client).run("x", plan=plan)
    assert run.plan[0].model == "base"
    assert len(chat.prompts) == 1, "only the response was asked of the model"


async def test_plan_only_runs_nothing() -> None:
    client, _ = scripted({"tasks": [task("t1", "step", {"name": "a"})]})
    run = await agent(client).plan("x")
    assert run.status == "planned" and run.tasks[0].status == "planned" and run.answer == ""
    assert "t1: step" in run.mermaid()


@pytest.mark.parametrize("reply", ["not json at all", {"answer": "Made up [t9].", "sources": ["t9"]}])
async def test_respond_falls_back_to_the_results_when_the_model_gives_garbage(reply: Any) -> None:
    client, _ = scripted(reply)
    run = await agent(client).run("x", plan=[task("t1", "step", {"name": "a"})])
    assert run.answer.startswith("Task results:\n[t1] step (ok): table a")
    assert run.cited == ("t1",)


async def test_demonstrations_nearest_the_request_go_into_the_prompt() -> None:
    bank = DemoBank.bundled()
    client, chat = scripted({"tasks": [task("t1", "step", {"name": "a"})]}, ANSWER)
    tools = registry()
    context = Context(tools=tools, llm=client, models=models(), demos=bank, demos_k=2)
    await PlannerAgent(context=context).run("count the rows")
    # The test registry has no tool the bundled demonstrations use, so none may be shown.
    assert "## Examples" not in str(chat.prompts[0][0].content)


def test_planned_task_json_round_trip() -> None:
    planned = PlannedTask(id="t2", tool="step", type="calculate", args={"name": "a"}, depends_on=("t1",), model="m")
    assert PlannedTask.from_json(planned.to_json()) == planned


def test_every_bundled_demonstration_is_a_valid_plan_for_the_real_tools() -> None:
    from typing import cast

    from graphs.planner import validate_plan
    from tools.toolbox import planner_registry

    async def never(question: str) -> TaskOutput:
        raise AssertionError("not run")

    client, _ = scripted()
    tools = planner_registry(llm=client, knowledge=cast(Any, object()), ask_metrics=never)
    assert len(tools) == 13
    bank = DemoBank.bundled()
    assert len(bank.demos) >= 20
    for demo in bank.demos:
        outcome = validate_plan(list(demo.tasks), tools)
        assert outcome.ok, (demo.id, outcome.problems)
        assert not outcome.repairs, (demo.id, outcome.repairs)


def test_the_plan_schema_fixes_ids_and_lets_tasks_name_only_earlier_tasks() -> None:
    from graphs.planner import plan_schema

    positions = plan_schema(registry(), max_tasks=3)["properties"]["tasks"]["prefixItems"]
    assert len(positions) == 3
    first = {v["properties"]["tool"]["const"]: v for v in positions[0]["anyOf"]}
    assert "count_rows" not in first, "a tool that needs an earlier table cannot come first"
    assert first["step"]["properties"]["id"] == {"const": "t1"}
    assert first["step"]["properties"]["dep"]["items"] is False
    third = {v["properties"]["tool"]["const"]: v for v in positions[2]["anyOf"]}
    assert third["count_rows"]["properties"]["args"]["properties"]["table"]["enum"] == ["t1", "t2"]
    assert third["summarize"]["properties"]["dep"]["items"] == {"enum": ["t1", "t2"]}


async def test_a_plan_that_is_not_a_json_object_is_a_failed_attempt() -> None:
    client, _ = scripted("[1, 2, 3]", {"tasks": [task("t1", "step", {"name": "a"})]}, ANSWER)
    run = await agent(client).run("x")
    assert run.attempts == 2 and run.status == "done"


# --- Repairs, grounding in the request, and the plan the request describes (issue 18) ---------------------------

README_REQUEST = "Compare last month's GMV and refund amount by region, chart it and summarize"
SUMMARY = "East leads on both GMV and refunds."


def grounded_agent(client: Any, asked: list[str] | None = None, **settings: Any) -> PlannerAgent:
    context = Context(
        tools=real_tools(client, asked),
        llm=client,
        models=models(),
        demos=DemoBank(()),
        catalog=load_catalog(demo_catalog_path()),
        **settings,
    )
    return PlannerAgent(context=context)


def readme_plan(summary_text: str = "<resource>-t3") -> list[dict[str, Any]]:
    return [
        task("t1", "metric_query", {"question": "GMV by region last month"}),
        task("t2", "metric_query", {"question": "Refund amount by region last month"}),
        task("t3", "table_join", {"left": "t1", "right": "t2", "on": ["region"], "how": "inner"}, ["t1", "t2"]),
        task("t4", "chart", {"table": "t3", "kind": "bar", "title": "GMV and refunds"}, ["t3"]),
        task("t5", "summarize", {"text": summary_text, "language": "en"}, ["t3"]),
    ]


def test_a_summary_that_uses_its_own_result_means_the_earlier_results_nothing_has_used() -> None:
    from graphs.planner import validate_plan

    client, _ = scripted()
    plan = [
        task("t1", "metric_query", {"question": "GMV by region last month"}),
        task("t2", "metric_query", {"question": "Refund amount by region last month"}),
        task("t3", "chart", {"table": "t1", "kind": "bar"}, ["t1"]),
        task("t4", "summarize", {"text": "<resource>-t4", "language": "en"}, ["t4"]),
    ]
    outcome = validate_plan(plan, real_tools(client))
    assert outcome.ok, outcome.problems
    summary = outcome.tasks[3]
    assert summary.args["text"] == "<resource>-t1 <resource>-t2"
    assert summary.depends_on == ("t1", "t2")
    assert "task t4 listed itself as a dependency, so that entry was dropped" in outcome.repairs
    assert "task t4 used its own result, so it now uses t1, t2" in outcome.repairs


def test_a_chart_of_its_own_table_draws_the_nearest_earlier_table() -> None:
    from graphs.planner import validate_plan

    client, _ = scripted()
    plan = [*readme_plan()[:3], task("t4", "chart", {"table": "t4", "kind": "bar"})]
    outcome = validate_plan(plan, real_tools(client))
    assert outcome.ok, outcome.problems
    assert outcome.tasks[3].args["table"] == "t3" and outcome.tasks[3].depends_on == ("t3",)
    assert "task t4 used its own table in `table`, so it now uses t3" in outcome.repairs


def test_a_calculation_that_uses_its_own_result_among_several_stays_a_problem() -> None:
    from graphs.planner import validate_plan

    client, _ = scripted()
    plan = [*readme_plan()[:2], task("t3", "calculate", {"expression": "<resource>-t3 * 2"})]
    outcome = validate_plan(plan, real_tools(client))
    assert outcome.problems == ("task t3 uses its own result",)


async def test_the_readme_request_runs_when_the_model_writes_a_summary_that_uses_itself() -> None:
    client, _ = scripted({"tasks": readme_plan("<resource>-t5")}, SUMMARY, ANSWER)
    run = await grounded_agent(client).run(README_REQUEST)
    assert run.attempts == 1
    assert [(r.task.id, r.status) for r in run.tasks] == [(f"t{i}", "ok") for i in range(1, 6)]
    assert run.plan[4].args["text"] == "<resource>-t3" and run.plan[4].depends_on == ("t3",)
    assert run.status == "done" and run.tasks[3].chart is not None and run.tasks[4].text == SUMMARY


async def test_a_plan_that_misses_what_the_request_asks_goes_back_to_the_model_with_the_problems() -> None:
    without_chart = {"tasks": [t for t in readme_plan() if t["tool"] != "chart"]}
    client, chat = scripted(without_chart, {"tasks": readme_plan()}, SUMMARY, ANSWER)
    run = await grounded_agent(client).run(README_REQUEST)
    assert run.attempts == 2 and run.status == "done"
    replan = str(chat.prompts[1][1].content)
    assert "the request asks for a chart task, but the plan has none" in replan


async def test_the_plan_the_request_describes_runs_when_the_model_cannot_write_one() -> None:
    drafts = [
        {"tasks": [task("t1", "metric_query", {"question": README_REQUEST})]},
        {"tasks": [task("t1", "metric_query", {"question": "GMV by region last month"})]},
        {"tasks": [task("t1", "calculate", {"expression": "1 + 1"})]},
    ]
    asked: list[str] = []
    client, chat = scripted(*drafts, SUMMARY, ANSWER)
    run = await grounded_agent(client, asked, max_plan_attempts=3).run(README_REQUEST)
    assert run.attempts == 3
    assert "the request asks about Refund amount" in str(chat.prompts[2][1].content), "problems went back each time"
    assert [(t.tool, t.depends_on) for t in run.plan] == [
        ("metric_query", ()),
        ("metric_query", ()),
        ("table_join", ("t1", "t2")),
        ("chart", ("t3",)),
        ("summarize", ("t1", "t2")),
    ]
    assert sorted(asked) == ["GMV by Region last month", "Refund amount by Region last month"]
    assert run.status == "done" and [r.status for r in run.tasks] == ["ok"] * 5
    assert run.tasks[2].table is not None and list(run.tasks[2].table.columns) == ["region", "gmv", "refund_amount"]
    assert run.tasks[4].text == SUMMARY and run.answer == ANSWER["answer"]
    assert any("built from the request's own metrics, period and breakdown" in r for r in run.repairs)


async def test_a_replan_that_repeats_the_rejected_draft_ends_the_attempts() -> None:
    same = {"tasks": [task("t1", "metric_query", {"question": README_REQUEST})]}
    client, chat = scripted(same, same, SUMMARY, ANSWER)
    run = await grounded_agent(client, max_plan_attempts=5).run(README_REQUEST)
    assert run.attempts == 2 and run.status == "done" and len(run.plan) == 5
    assert len(chat.prompts) == 4, "two plans, the summary, the answer"


async def test_without_a_plan_the_request_describes_a_runnable_model_plan_runs_and_says_what_it_misses() -> None:
    # Two years: a comparison the request does not spell out as one plain plan.
    request = "Compare GMV by region in 2025 and 2024 and chart it"
    draft = {"tasks": [task("t1", "metric_query", {"question": "GMV by region in 2025"})]}
    client, _ = scripted(draft, draft, ANSWER)
    run = await grounded_agent(client).run(request)
    assert [r.status for r in run.tasks] == ["ok"]
    assert run.repairs == ("ran the model's plan although the request asks for a chart task, but the plan has none",)


@pytest.mark.parametrize(
    ("request_text", "question", "note"),
    [
        (
            "What was GMV by region last month?",
            "What was the GMV by payment method in 2024?",
            "Note: [t1] answers a different question than the request asks: it asks about 2024, but the request "
            "names last month; it breaks the numbers down by Payment method, but the request asks by Region.",
        ),
        (
            "上个月各地区的成交额是多少？",
            "2024 年的成交额",
            "注意：[t1] 回答的问题与请求不同：它问的是2024，而请求问的是上个月；它没有按请求要求的地区拆分。",
        ),
    ],
)
async def test_a_metric_task_that_changes_the_requests_question_is_reported_changed(
    request_text: str, question: str, note: str
) -> None:
    client, _ = scripted({"answer": "GMV was 500 [t1].", "sources": ["t1"]})
    plan = [task("t1", "metric_query", {"question": question})]
    run = await grounded_agent(client).run(request_text, plan=plan)
    report = run.tasks[0]
    assert report.status == "changed" and report.task.note == note
    assert run.status == "partial", "a changed task is not reported as done"
    assert run.answer == f"GMV was 500 [t1].\n{note}"
    assert run.provenance()[0].startswith(f"[t1] metric_query: {note[:60]}")


async def test_a_metric_task_that_keeps_the_requests_period_and_breakdown_is_ok() -> None:
    client, _ = scripted(ANSWER)
    plan = [task("t1", "metric_query", {"question": "GMV for each region, last month"})]
    run = await grounded_agent(client).run("What was GMV by region last month?", plan=plan)
    assert run.tasks[0].status == "ok" and run.tasks[0].task.note == ""
    assert run.status == "done" and run.answer == ANSWER["answer"]


async def test_a_model_plan_that_changes_the_question_is_sent_back_before_it_runs() -> None:
    unfaithful = {"tasks": [task("t1", "metric_query", {"question": "GMV by region in 2024"})]}
    faithful = {"tasks": [task("t1", "metric_query", {"question": "GMV by region last month"})]}
    client, chat = scripted(unfaithful, faithful, ANSWER)
    run = await grounded_agent(client).run("What was GMV by region last month?")
    assert run.attempts == 2 and run.tasks[0].status == "ok"
    replan = str(chat.prompts[1][1].content)
    assert "task t1 asks about 2024, but the request names last month; keep the request's words" in replan
