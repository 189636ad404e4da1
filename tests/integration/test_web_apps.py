"""Prompt apps in the web chat, in a real browser against `kubeai api` and the real vLLM server.

Pick the ticket_router app and the `kubeai-style` adapter in the model picker, ask in Chinese, and see the choice
the adapter made (the run's model says the pick reached the server); then ask the prototype app for a page and see
it rendered in an iframe with an empty ``sandbox`` attribute. Screenshots go to TEST_ARTEFACTS_DIR/web_apps. Any
browser console error fails the test (a page the sandbox or the CSP refused would log one).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, sync_playwright

from tests.integration.support import Api

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RUN_MS = 600_000  # a turn on the shared CPU model server

USER = "web-apps"
TICKET = "我的快递已经一周没有更新物流信息了，请帮我查一下。"
PRODUCT = "A meeting-room booking system: staff search free rooms by date and book one with a topic and start time."
TEAMS = {"billing", "shipping", "technical", "account", "other"}


@pytest.fixture
def browser_page() -> Iterator[tuple[Page, list[str]]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (requirements/debian.txt installs it)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        try:
            yield page, errors
        finally:
            browser.close()


def _ask(page: Page, text: str) -> Locator:
    page.fill("#question", text)
    page.click("#ask-button")
    page.wait_for_selector("#ask-button:not([disabled])", timeout=RUN_MS)
    status = page.locator("#status")
    assert "error" not in (status.get_attribute("class") or ""), status.text_content()
    return page.locator("article.answer").last


def test_an_app_picked_in_the_web_chat_answers_with_its_choice_and_its_page(
    shared_api: Api, browser_page: tuple[Page, list[str]], tmp_path: Path
) -> None:
    page, errors = browser_page
    artefacts = Path(os.environ.get("TEST_ARTEFACTS_DIR") or tmp_path) / "web_apps"
    artefacts.mkdir(parents=True, exist_ok=True)
    _, secret = shared_api.keys().create(USER)

    page.goto(shared_api.url)
    page.fill("#key-input", secret)
    page.click("#key-save")
    page.wait_for_selector("#assistant option[value='app:ticket_router']", state="attached")

    # The ticket router on the adapter the picker names: one of its labels, answered by that adapter.
    page.select_option("#assistant", "app:ticket_router")
    assert "客服工单" in (page.locator("#assistant-card").text_content() or "")  # its Chinese description
    page.select_option("#model", "kubeai-style")
    answer = _ask(page, TICKET)
    choice = answer.locator(".app-choice").text_content()
    assert choice in TEAMS, choice
    assert "kubeai-style" in (answer.locator(".note").last.text_content() or "")
    page.screenshot(path=str(artefacts / "01-ticket-router.png"), full_page=True)

    # The prototype on its configured model: the spec's fields and the page rendered from them, sandboxed.
    page.click("#new-thread")
    page.select_option("#assistant", "app:prototype")
    page.select_option("#model", "smollm2-135m")
    answer = _ask(page, PRODUCT)
    assert answer.locator("table.app-fields th").first.text_content() == "title"
    frame = answer.locator("iframe.app-page")
    assert frame.get_attribute("sandbox") == ""
    assert (frame.get_attribute("srcdoc") or "").lstrip().lower().startswith("<!doctype html>")
    title = page.frame_locator("iframe.app-page").last.locator(".brand").text_content(timeout=10_000)
    assert title and title.strip() == answer.locator("table.app-fields td").first.text_content()
    page.screenshot(path=str(artefacts / "02-prototype.png"), full_page=True)
    print(f"\nweb app screenshots: {artefacts}")
    assert errors == [], errors
