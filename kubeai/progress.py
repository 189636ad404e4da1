"""Progress of long work: the layers that do it report through a callback; the command line shows it.

Work that can run for minutes (loading and indexing a catalog, embedding, ingesting documents) takes an optional
:data:`ProgressCallback` and calls it as it goes, with what it is doing and how far it got::

    progress("embedding catalog entries", 320, 50_470)
    progress("loading catalog shop.yaml", 0, None)      # a step whose size is unknown

It never prints. :class:`ProgressDisplay` turns those calls into output on a stream: a bar redrawn in place on a
terminal, and a plain line every ``interval_s`` seconds otherwise (a log file, a pipe, CI), so that nothing
runs silently for minutes. Work that finishes within ``delay_s`` shows nothing at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TextIO

__all__ = ["ProgressCallback", "ProgressDisplay", "describe"]

ProgressCallback = Callable[[str, int, int | None], None]
"""``(what, done, total)``: what is being done (the same text for every call of one step), how many of how many
(``total`` is ``None`` when unknown). A step is finished when ``done == total``."""


@dataclass
class _Step:
    what: str
    done: int
    total: int | None
    began: float
    shown: bool = False

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done >= self.total


def describe(what: str, done: int, total: int | None, elapsed_s: float, *, bar_width: int = 0) -> str:
    """One line about a step: ``what: 320/50,470 (1%), 0:42 elapsed, about 1:50:03 left``.

    Args:
        what: The step.
        done: How many are done.
        total: How many in all, or ``None``.
        elapsed_s: Seconds since the step began.
        bar_width: Characters of a ``[####....]`` bar to include (0: none); only with a known total.
    """
    elapsed = _clock(elapsed_s)
    if total is None:
        return f"{what}: {done:,} so far, {elapsed} elapsed" if done else f"{what}... {elapsed} elapsed"
    fraction = min(done / total, 1.0) if total > 0 else 1.0
    line = f"{what}: {done:,}/{total:,} ({fraction:.0%})"
    if bar_width > 0:
        filled = int(fraction * bar_width)
        line = f"{what} [{'#' * filled}{'.' * (bar_width - filled)}] {done:,}/{total:,} ({fraction:.0%})"
    if done >= total:
        return f"{line}, done in {elapsed}"
    if done > 0 and elapsed_s > 0:
        return f"{line}, {elapsed} elapsed, about {_clock(elapsed_s / done * (total - done))} left"
    return f"{line}, {elapsed} elapsed"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressDisplay:
    """Shows :data:`ProgressCallback` calls on a stream; pass the instance itself as the callback.

    On a terminal the step in progress is one line redrawn in place, with a bar when its total is known; on
    anything else a line is written when a step has run for ``delay_s``, then every ``interval_s`` seconds, and
    when a step that was shown finishes. A background thread keeps the display moving while a step that reports
    nothing in between (parsing one large file) runs; :meth:`close` stops it.

    Args:
        stream: Where to write (the CLI passes stderr, so stdout keeps only results).
        terminal: Draw in place; default: whether ``stream`` is a terminal.
        delay_s: Steps that finish sooner show nothing.
        interval_s: Seconds between lines when not on a terminal.
        heartbeat: Run the background thread (tests turn it off and call :meth:`tick`).
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool | None = None,
        delay_s: float = 1.0,
        interval_s: float = 10.0,
        heartbeat: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._terminal = _isatty(stream) if terminal is None else terminal
        self._delay_s = delay_s
        self._interval_s = interval_s
        self._clock = clock
        self._steps: dict[str, _Step] = {}
        self._last_line_at: float | None = None
        self._drawn = 0  # characters of the line drawn in place, on a terminal
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if heartbeat:
            self._thread = threading.Thread(target=self._beat, name="progress", daemon=True)
            self._thread.start()

    def __call__(self, what: str, done: int, total: int | None) -> None:
        """Record how far a step got (the :data:`ProgressCallback` signature) and update the display."""
        with self._lock:
            now = self._clock()
            step = self._steps.pop(what, None)
            if step is None:
                # A new step ends the steps of unknown size reported before it; steps with a total stay until
                # they finish (an outer "documents 3/10" around an inner "embedding a.txt").
                for name in [n for n, s in self._steps.items() if s.total is None]:
                    self._end(self._steps.pop(name))
                step = _Step(what=what, done=done, total=total, began=now)
            step.done, step.total = done, total
            self._steps[what] = step  # most recent last
            if step.finished:
                self._end(self._steps.pop(what))
            self._render(now)

    def note(self, line: str) -> None:
        """Write one line of text (a warning, a "still waiting" note) without garbling the line drawn in place."""
        with self._lock:
            self._clear()
            self._write(line + "\n")

    def tick(self) -> None:
        """Update the display for the time that passed (the background thread calls this several times a second)."""
        with self._lock:
            self._render(self._clock())

    def close(self) -> None:
        """Stop the background thread and leave the cursor on a fresh line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            for step in list(self._steps.values()):
                self._end(step)
            self._steps.clear()
            self._clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _beat(self) -> None:
        while not self._stop.wait(0.2):
            self.tick()

    def _visible(self, now: float) -> _Step | None:
        """The most recently reported step that has run for ``delay_s``."""
        for step in reversed(self._steps.values()):
            if now - step.began >= self._delay_s:
                return step
        return None

    def _render(self, now: float) -> None:
        step = self._visible(now)
        if step is None:
            return
        if self._terminal:
            self._draw(describe(step.what, step.done, step.total, now - step.began, bar_width=24))
            step.shown = True
        elif not step.shown or self._last_line_at is None or now - self._last_line_at >= self._interval_s:
            self._line(describe(step.what, step.done, step.total, now - step.began), now)
            step.shown = True

    def _end(self, step: _Step) -> None:
        """A step finished (or gave way to the next): a shown step gets its last line."""
        if not step.shown:
            return
        now = self._clock()
        text = describe(step.what, step.done, step.total, now - step.began)
        if step.total is None:
            text = f"{step.what}: done in {_clock(now - step.began)}"
        if self._terminal:
            self._draw(text)
            self._write("\n")
            self._drawn = 0
        else:
            self._line(text, now)

    def _line(self, text: str, now: float) -> None:
        self._write(text + "\n")
        self._last_line_at = now

    def _draw(self, text: str) -> None:
        padding = " " * max(self._drawn - len(text), 0)
        self._write("\r" + text + padding)
        self._drawn = len(text)

    def _clear(self) -> None:
        if self._terminal and self._drawn:
            self._write("\r" + " " * self._drawn + "\r")
            self._drawn = 0

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream must not stop the work it reports on
            pass


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
