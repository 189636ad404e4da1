"""The web chat in a real browser: Playwright drives Debian's headless Chromium through `kubeai api` (a real uvicorn
process) in front of the real vLLM server and a real DuckDB warehouse.

One conversation, step by step: sign in with a key, ask in Chinese and see the table and a rendered Plotly chart,
rate and correct the answer, approve an edited SQL, follow a planner run to its end, reload and find the thread.
Each step leaves a screenshot in TEST_ARTEFACTS_DIR (default: the test's tmp directory; the path is printed).
Any error in the browser's console fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, Route, sync_playwright

from app.api.routes_web import plotly_js
from evals.dataset import eval_questions
from finetune.feedback import FeedbackStore
from finetune.feedback_data import convert_feedback
from knowledge.catalog import demo_catalog_path, load_catalog
from tests.integration.support import REPO, Api
from tools.warehouse import open_runner

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RUN_MS = 900_000  # a turn on the CPU model server can take minutes when other tests share it
CHINESE_QUESTION = "上个月各地区的GMV是多少？"
PLANNER_REQUEST = "Compare last month's GMV and refund amount by region, chart it and summarize"
EDITED_SQL = "SELECT COUNT(*) AS order_count FROM orders"
USER = "web-chat"  # the API process is shared: this test's threads and feedback are this user's


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TEST_ARTEFACTS_DIR") or tmp_path) / "web_chat"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nweb chat screenshots: {folder}")
    return folder


@pytest.fixture
def browser_page() -> Iterator[tuple[Page, list[str]]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (requirements/debian.txt installs it)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        try:
            yield page, errors
        finally:
            browser.close()


def _finish(page: Page) -> None:
    """Wait until the page's current run is over and check it did not end in an error."""
    page.wait_for_selector("#ask-button:not([disabled])", timeout=RUN_MS)
    status = page.locator("#status")
    assert "error" not in (status.get_attribute("class") or ""), status.text_content()


def _ask(page: Page, text: str) -> Locator:
    page.fill("#question", text)
    page.click("#ask-button")
    _finish(page)
    answers = page.locator("article.answer")
    return answers.nth(answers.count() - 1)  # this answer, even after later ones are added


def test_a_conversation_in_the_web_chat(
    shared_api: Api, browser_page: tuple[Page, list[str]], artefacts: Path, demo_warehouse: Path
) -> None:
    page, errors = browser_page
    _, secret = shared_api.keys().create(USER)

    def shot(name: str) -> None:
        page.screenshot(path=str(artefacts / f"{name}.png"), full_page=True)

    # Sign in; the page speaks Chinese for a Chinese browser.
    page.goto(shared_api.url)
    assert page.locator("h1").text_content() == "kubeai 对话"
    page.fill("#key-input", secret)
    page.click("#key-save")
    page.wait_for_selector("#assistant option[value='metrics']", state="attached")
    card = page.locator("#model-card").text_content() or ""
    assert "smollm2" in card and "null" not in card  # the default model's card
    shot("01-signed-in")

    # A Chinese question: the answer, its SQL, the table and a chart Plotly drew as SVG.
    answer = _ask(page, CHINESE_QUESTION)
    assert answer.locator(".answer-text").text_content().strip()
    assert answer.locator("table.result tbody tr").count() >= 1
    answer.locator(".chart .main-svg").first.wait_for(timeout=30_000)
    answer.locator("details.sql summary").click()
    assert "SELECT" in answer.locator("details.sql code").text_content().upper()
    shot("02-chinese-answer-with-chart")

    # Rate it and correct it: both reach POST /threads/{id}/feedback.
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as rated:
        answer.locator("button.thumb.up").click()
    assert rated.value.status in (200, 201), rated.value.text()
    answer.locator("button.correct").click()
    answer.locator(".correct-metric").fill("gmv")
    answer.locator(".correct-text").fill("上个月华东地区的GMV最高。")
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as corrected:
        answer.locator(".correction button[type=submit]").click()
    assert corrected.value.status in (200, 201), corrected.value.text()
    page.wait_for_function("document.querySelector('.feedback-status').textContent.includes('谢谢')")
    shot("03-feedback")

    # SQL approval: the run pauses, the user edits the SQL and approves it; the edited statement runs.
    page.click("#new-thread")
    page.check("#require-approval")
    paused = _ask(page, "What was GMV last month?")
    paused.locator(".approval").wait_for()
    paused.locator(".approval button.edit").click()
    paused.locator(".approval-sql").fill(EDITED_SQL)
    shot("04-approval-edit")
    paused.locator(".approval button.run-edited").click()
    page.wait_for_selector("#ask-button:not([disabled])", timeout=RUN_MS)
    _finish(page)
    assert paused.locator(".approval").count() == 0
    assert "COUNT(" in paused.locator("details.sql code").text_content().upper()
    assert paused.locator("table.result tbody tr").count() == 1
    shot("05-approved-edit")
    page.uncheck("#require-approval")

    # The planner: its task graph, every task with a final status, and the answer.
    page.click("#new-thread")
    page.select_option("#assistant", "planner")
    planned = _ask(page, PLANNER_REQUEST)
    tasks = planned.locator(".plan .task")
    assert tasks.count() >= 2
    statuses = [tasks.nth(i).get_attribute("data-status") for i in range(tasks.count())]
    assert set(statuses) <= {"ok", "changed", "failed", "skipped"} and "ok" in statuses, statuses
    assert planned.locator(".plan-column").count() >= 2  # the chart and the summary wait for the metric tasks
    assert planned.locator(".answer-text").text_content().strip()
    shot("06-planner-run")

    # Reload: the key is remembered, the threads are listed, and the first one comes back with its table.
    page.reload()
    item = page.locator(".thread-item", has_text=CHINESE_QUESTION)
    item.wait_for()
    assert page.locator(".thread-item").count() == 3
    item.click()
    _finish(page)
    restored = page.locator("article.answer").last
    assert restored.locator("table.result tbody tr").count() >= 1
    restored.locator(".chart .main-svg").first.wait_for(timeout=30_000)
    assert page.locator(".turn.user", has_text=CHINESE_QUESTION).count() == 1
    shot("07-reloaded-thread")

    assert errors == [], errors

    # The correction made in the page becomes a training example, through the gold checks synthetic data passes.
    records = FeedbackStore.in_data_dir(shared_api.data_dir).recent(user=USER)
    assert {r.origin for r in records} == {"api", "approval"}, records  # thumbs, correction, the approved edit
    runner = open_runner(str(demo_warehouse))
    try:
        catalog = load_catalog(demo_catalog_path())
        conversion = convert_feedback(records, catalog, runner, eval_questions=eval_questions("evals/datasets"))
    finally:
        runner.close()
    asked = [e for e in conversion.examples if e.question.rstrip("?？") == CHINESE_QUESTION.rstrip("?？")]
    corrected = [e for e in asked if (e.query or {}).get("metrics") == ["gmv"]]
    assert corrected, conversion.to_json()  # the corrected metric (or the thumbs up, when it was already right)
    assert all((e.provenance or {}).get("trace_id") for e in corrected), corrected  # the run the user judged


def test_the_task_graph_follows_the_planners_update_events(
    browser_page: tuple[Page, list[str]], artefacts: Path
) -> None:
    """The page's handling of node-by-node planner events, with the API's answers played back by the browser.

    A real planner run finishes its tasks too fast to watch them move; this pins, step by step, what the page
    does with the ``updates`` events the planner streams (``select`` with the tasks, ``run_task`` with each result).
    """
    page, errors = browser_page
    tasks = [
        {"id": "t1", "tool": "metric_query", "depends_on": [], "args": {}},
        {"id": "t2", "tool": "metric_query", "depends_on": [], "args": {}},
        {"id": "t3", "tool": "chart", "depends_on": ["t1", "t2"], "args": {}},
    ]
    events = [
        ("metadata", {"run_id": "r1", "thread_id": "th1", "trace_id": "abc123"}),
        ("updates", {"plan": {"status": "planning"}}),
        ("updates", {"select": {"tasks": tasks, "status": "running"}}),
        ("updates", {"run_task": {"results": {"t1": {"id": "t1", "status": "ok", "text": "华东 16.7M"}}}}),
        ("updates", {"run_task": {"results": {"t2": {"id": "t2", "status": "failed", "error": "timed out"}}}}),
        ("end", None),
    ]
    stream = "".join(f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n" for name, data in events)
    answers: dict[str, object] = {
        "/assistants": [{"assistant_id": "planner", "name": "Planner"}],
        "/adapters": [],
        "/threads/search": [],
        "/threads": {"thread_id": "th1", "assistant_id": "planner"},
    }
    web = REPO / "app" / "web"

    def serve(route: Route) -> None:
        path = urlparse(route.request.url).path
        if path == "/":
            route.fulfill(path=web / "index.html")
        elif path == "/web/plotly.min.js":
            route.fulfill(path=plotly_js())
        elif path.startswith("/web/"):
            route.fulfill(path=web / path.removeprefix("/web/"))
        elif path.endswith("/runs/stream"):
            route.fulfill(body=stream, headers={"Content-Type": "text/event-stream"})
        else:
            route.fulfill(json=answers[path])

    page.route("http://kubeai.test/**", serve)
    page.goto("http://kubeai.test/")
    page.fill("#key-input", "kai_test")
    page.click("#key-save")
    page.wait_for_selector("#assistant option[value='planner']", state="attached")
    page.fill("#question", PLANNER_REQUEST)
    page.click("#ask-button")
    page.wait_for_selector("#ask-button:not([disabled])")
    graph = page.locator(".plan .task")
    assert graph.count() == 3
    status = {graph.nth(i).get_attribute("data-task-id"): graph.nth(i).get_attribute("data-status") for i in range(3)}
    assert status == {"t1": "ok", "t2": "failed", "t3": "pending"}
    assert page.locator(".task[data-task-id='t1'] .task-text").text_content() == "华东 16.7M"
    assert page.locator(".plan-column").count() == 2  # t3 waits for t1 and t2: a second column
    assert page.locator(".meta .trace").text_content() == "追踪 abc123"
    page.screenshot(path=str(artefacts / "08-task-graph-updates.png"), full_page=True)
    assert errors == [], errors
