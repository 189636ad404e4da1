"""A plan grounded in its request: the catalog's and the planner's words say what the plan must do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphs.planner import PlannedTask
from graphs.planner.grounding import asked, asked_tools, ground_plan, plan_from_request
from knowledge.catalog import Catalog, load_catalog
from tests.unit.graphs.planner_support import real_tools, scripted


@pytest.fixture(scope="module")
def tools() -> Any:
    client, _ = scripted()
    return real_tools(client)


def metric_task(task_id: str, question: str) -> PlannedTask:
    return PlannedTask(id=task_id, tool="metric_query", type="metric_query", args={"question": question})


@pytest.mark.parametrize(
    ("request_text", "wanted"),
    [
        ("Compare last month's GMV and refund amount by region, chart it and summarize", {"chart", "summarize"}),
        ("Plot GMV by month for 2025", {"chart"}),
        ("上个月各地区的成交额和退款金额，画成柱状图并总结", {"chart", "summarize"}),
        ("用三句话概括退货政策", {"summarize"}),
        ("What was GMV by region last month?", set()),
        ("Which paragraph of the policy covers refunds?", set()),
    ],
)
def test_the_words_that_ask_for_a_chart_or_a_summary(request_text: str, wanted: set[str]) -> None:
    assert asked_tools(request_text) == wanted


@pytest.mark.parametrize(
    ("request_text", "language", "questions"),
    [
        (
            "Compare last month's GMV and refund amount by region, chart it and summarize",
            "en",
            ["GMV by Region last month", "Refund amount by Region last month"],
        ),
        ("上个月各地区的成交额和退款金额，画成柱状图并总结", "zh", ["上个月各地区的成交额", "上个月各地区的退款金额"]),
    ],
)
def test_the_plan_a_request_describes(
    request_text: str, language: str, questions: list[str], catalog: Catalog, tools: Any
) -> None:
    plan = plan_from_request(request_text, catalog, tools, language=language)
    assert [t["args"].get("question") for t in plan[:2]] == questions
    assert [(t["tool"], t["dep"]) for t in plan[2:]] == [
        ("table_join", ["t1", "t2"]),
        ("chart", ["t3"]),
        ("summarize", ["t1", "t2"]),
    ]
    assert plan[2]["args"]["on"] == ["region"]
    assert plan[4]["args"] == {"text": "<resource>-t1 <resource>-t2", "language": language}


@pytest.mark.parametrize(
    "request_text",
    [
        "Compare GMV by region in 2025 and 2024",  # two years: a comparison the model must plan
        "What does the return policy say? Summarize it.",  # no metric
        "GMV and refund amount last month",  # two metrics and nothing to join them on
        "GMV by month in 2025, as a chart",  # a time breakdown: its grain is the request's own words
    ],
)
def test_a_request_that_does_not_say_its_plan_clearly_gets_none(
    request_text: str, catalog: Catalog, tools: Any
) -> None:
    assert plan_from_request(request_text, catalog, tools, language="en") == []


def test_a_models_metric_task_asking_two_metrics_and_a_missing_metric_are_problems(catalog: Catalog) -> None:
    request = "Compare last month's GMV and refund amount by region"
    both = ground_plan([metric_task("t1", request)], request, catalog, language="en", from_model=True)
    assert both.problems == (
        "task t1 asks about GMV, Refund amount at once; ask each metric in its own metric_query task",
    )
    only_gmv = ground_plan(
        [metric_task("t1", "GMV by region last month")], request, catalog, language="en", from_model=True
    )
    assert only_gmv.problems == ("the request asks about Refund amount, but no metric_query task asks about it",)
    given = ground_plan([metric_task("t1", request)], request, catalog, language="en", from_model=False)
    assert given.problems == (), "a caller's plan runs as given"


def test_a_request_without_a_period_leaves_the_period_to_the_task(catalog: Catalog) -> None:
    grounded = ground_plan(
        [metric_task("t1", "GMV by region in 2025")], "GMV by region", catalog, language="en", from_model=True
    )
    assert grounded.tasks[0].note == "" and grounded.problems == ()


@pytest.mark.parametrize(
    ("text", "metrics", "breakdowns"),
    [
        # A metric word inside a dimension's name is not that metric: "sales" in "sales channel" is not GMV.
        ("Which sales channel had the most orders?", ("order_count",), ()),
        ("What was the number of paying users by sales channel?", ("paying_users",), ("channel",)),
        ("上个月各销售渠道的GMV", ("gmv",), ("channel",)),
        # A breakdown by a dimension nested in a longer one is not asked: "by city tier" is not "by city".
        ("Show GMV by city tier", ("gmv",), ("city_tier",)),
        ("上个月各城市等级的GMV", ("gmv",), ("city_tier",)),
        ("GMV by city last month", ("gmv",), ("city",)),
        # A multi-word term in the singular is still the metric.
        ("How many paying user did we have last month?", ("paying_users",), ()),
        ("上个月有多少付费用户？", ("paying_users",), ()),
        # A dimension inside a metric's own phrase still counts.
        ("item sales by category last month", ("item_sales",), ("category",)),
    ],
)
def test_the_request_is_read_with_one_vocabulary(
    catalog: Catalog, text: str, metrics: tuple[str, ...], breakdowns: tuple[str, ...]
) -> None:
    wanted = asked(text, catalog)
    assert (wanted.metrics, wanted.breakdowns) == (metrics, breakdowns)


def test_the_same_rules_read_a_second_catalog() -> None:
    logistics = load_catalog(
        Path(__file__).resolve().parents[3] / "knowledge" / "catalog" / "logistics" / "catalog.yaml"
    )
    assert asked("How many failed delivery last month?", logistics).metrics == ("failed_attempts",)
    assert asked("Revenue by destination city", logistics).breakdowns == ("city",)
    assert asked("shipments by service level", logistics).metrics == ("shipment_count",)
    assert asked("How many tries last week?", logistics).metrics == ("attempt_count",)
    assert asked("Please try to show revenue by hub", logistics).metrics == ("revenue",), "one word stays plural"
