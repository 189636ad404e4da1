"""The planner declines requests that are not ones to act on before any model plans them."""

from __future__ import annotations

import pytest

from agents.planner import PlannerAgent
from graphs.planner import Context, DemoBank
from tests.unit.graphs.planner_support import models, registry, scripted

PLAN = {"tasks": [{"id": "t1", "tool": "step", "args": {"name": "a"}, "dep": []}]}
ANSWER = {"answer": "Done [t1].", "sources": ["t1"]}


@pytest.mark.parametrize(
    ("request_text", "language", "says"),
    [
        ("Delete all refunds from last month", "en", "change data"),
        ("'; DROP TABLE orders; --", "en", "SQL statement"),
        ("🙂🙂", "en", "no words"),
        ("把所有订单的状态都改成已完成", "zh", "修改数据"),
        ("你好！", "zh", "不是关于数据的问题"),
    ],
)
async def test_a_request_not_to_act_on_is_declined_without_planning(
    request_text: str, language: str, says: str
) -> None:
    client, chat = scripted(PLAN, ANSWER)
    planner = PlannerAgent(context=Context(tools=registry(), llm=client, models=models(), demos=DemoBank(())))
    run = await planner.run(request_text)
    assert run.status == "abstained"
    assert chat.prompts == []
    assert run.tasks == () and run.language == language
    assert says in run.reason and run.reason in run.answer
    assert run.to_json()["reason"] == run.reason
    assert (await planner.plan(request_text)).status == "abstained"


async def test_a_request_that_mentions_cancelled_orders_is_planned() -> None:
    client, chat = scripted(PLAN)
    planner = PlannerAgent(context=Context(tools=registry(), llm=client, models=models(), demos=DemoBank(())))
    run = await planner.plan("Compare cancelled orders and refund updates by region last month")
    assert run.status == "planned" and len(chat.prompts) == 1
