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
from kubeai.errors import ModelServerUnavailableError, PlanningError
from tests.unit.graphs.planner_support import (
    fail_with,
    models,
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
