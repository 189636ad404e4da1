"""Open a page in headless Chromium: a screenshot, and every message the page wrote to the browser console.

Chromium is started directly (``--headless --screenshot``), no driver in between, with a fresh profile and a
virtual-time budget so the page settles before the shot. With ``--enable-logging=stderr`` Chromium writes each
console message to its log as ``INFO:CONSOLE(line)] "message", source: URL (line)``: uncaught errors, messages of a
script, and Content Security Policy refusals (an inline script, a remote image). The rendered pages hold no
script, so any console message at all is reported as a problem.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kubeai.errors import ToolError
from tools.charts.export import find_browser

__all__ = ["RenderCheck", "check_render", "console_messages"]

_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] \"(?P<message>.*)\", source: (?P<source>.*)$")


@dataclass(frozen=True, kw_only=True)
class RenderCheck:
    """What opening a page in Chromium showed.

    Attributes:
        console: The console messages, one line each (``message (source)``); empty for a clean page.
        screenshot: The PNG screenshot written.
    """

    console: tuple[str, ...]
    screenshot: Path

    @property
    def clean(self) -> bool:
        """Whether the page rendered with no console message and a non-empty screenshot."""
        return not self.console and self.screenshot.is_file() and self.screenshot.stat().st_size > 0


async def check_render(
    page: Path,
    screenshot: Path,
    *,
    browser: Path | None = None,
    width: int = 1280,
    height: int = 1600,
    timeout_s: float = 60.0,
) -> RenderCheck:
    """Open ``page`` (an HTML file) in headless Chromium, save a screenshot and collect its console messages.

    Args:
        page: The HTML file to open.
        screenshot: Where the PNG goes (its folder is created).
        browser: The Chromium executable; default the first of :data:`tools.charts.export.BROWSER_NAMES` on PATH.
        width: Window width in CSS pixels.
        height: Window height in CSS pixels (the screenshot's height).
        timeout_s: How long Chromium may take.

    Returns:
        The console messages and the screenshot.

    Raises:
        ToolError: No Chromium was found, it did not finish in time, or it wrote no screenshot.
    """
    executable = browser or find_browser()
    if executable is None:
        raise ToolError(
            "No Chrome or Chromium was found to render the page; install the Debian package chromium.", tool="pages"
        )
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="kubeai-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            str(executable),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={screenshot.resolve()}",
            "--virtual-time-budget=2000",
            "--enable-logging=stderr",
            "--v=0",
            page.resolve().as_uri(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, log = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise ToolError(
                f"Chromium did not render {page} within {timeout_s:g} s; check that it starts headless.", tool="pages"
            ) from None
    if not screenshot.is_file():
        tail = " ".join(log.decode("utf-8", "replace").split()[-30:])
        raise ToolError(f"Chromium wrote no screenshot of {page} (exit {process.returncode}): {tail}.", tool="pages")
    return RenderCheck(console=console_messages(log.decode("utf-8", "replace")), screenshot=screenshot)


def console_messages(log: str) -> tuple[str, ...]:
    """The console messages in a Chromium log, as ``message (source)``, in order."""
    found = []
    for line in log.splitlines():
        match = _CONSOLE.search(line)
        if match:
            found.append(f"{match['message']} ({match['source'].strip()})")
    return tuple(found)
