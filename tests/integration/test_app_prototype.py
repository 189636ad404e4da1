"""``kubeai app run prototype`` against the real vLLM server, and the page it writes opened in real Chromium."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.support import REPO, LiveServer, cli_env
from tools.pages import PageSpec, RenderCheck, check_render, render_page

pytestmark = pytest.mark.integration


def test_kubeai_app_run_prototype_writes_a_page_that_renders_cleanly(live_server: LiveServer, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "app",
            "run",
            "prototype",
            "一个会议室预订系统：员工按日期搜索空闲会议室，填写会议主题、日期和开始时间预订，并在表格里查看自己的预订。",
            "--out",
            str(page),
        ],
        cwd=REPO,
        env=cli_env(KUBEAI_LLM__BASE_URL=live_server.base_url, KUBEAI_LLM__TIMEOUT_S="600"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and '<html lang="zh-CN">' in html
    assert "<script" not in html.lower()
    check = _render(page, tmp_path / "page.png")
    assert check.console == () and check.clean


def test_chromium_reports_what_a_page_must_not_do(tmp_path: Path) -> None:
    """The render check can fail: a script and a remote image are refused by the page's policy and reported."""
    spec = PageSpec.model_validate(
        {
            "title": "t",
            "navigation": ["n"],
            "sections": [
                {
                    "heading": "h",
                    "components": [
                        {"type": "card", "title": "c", "fields": [], "columns": [], "items": [], "text": "x"}
                    ],
                }
            ],
        }
    )
    clean = tmp_path / "clean.html"
    clean.write_text(render_page(spec), encoding="utf-8")
    assert _render(clean, tmp_path / "clean.png").clean
    tampered = tmp_path / "tampered.html"
    tampered.write_text(
        render_page(spec).replace("</main>", '<script>alert(1)</script><img src="https://example.com/x.png"></main>'),
        encoding="utf-8",
    )
    check = _render(tampered, tmp_path / "tampered.png")
    assert not check.clean
    assert any("Content Security Policy" in line for line in check.console)
    assert any("https://example.com/x.png" in line for line in check.console)


def _render(page: Path, shot: Path) -> RenderCheck:
    return asyncio.run(check_render(page, shot))
