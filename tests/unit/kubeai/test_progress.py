"""The progress display: silent for quick steps, a line every interval off a terminal, a bar redrawn on one."""

from __future__ import annotations

import io
import re

from kubeai.progress import ProgressDisplay, describe


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def display(*, terminal: bool) -> tuple[ProgressDisplay, io.StringIO, Clock]:
    clock = Clock()
    out = io.StringIO()
    return (
        ProgressDisplay(out, terminal=terminal, delay_s=1.0, interval_s=10.0, heartbeat=False, clock=clock),
        out,
        clock,
    )


def test_describe_says_how_far_and_how_long() -> None:
    assert describe("embedding", 250, 1000, 30.0) == "embedding: 250/1,000 (25%), 0:30 elapsed, about 1:30 left"
    assert describe("embedding", 1000, 1000, 3725.0) == "embedding: 1,000/1,000 (100%), done in 1:02:05"
    assert describe("loading catalog a.yaml", 0, None, 12.0) == "loading catalog a.yaml... 0:12 elapsed"
    assert describe("e", 5, 10, 1.0, bar_width=4).startswith("e [##..] 5/10 (50%)")


def test_off_a_terminal_lines_come_after_the_delay_then_every_interval() -> None:
    shown, out, clock = display(terminal=False)
    shown("embedding", 0, 1000)
    clock.now = 0.5
    shown("embedding", 10, 1000)
    assert out.getvalue() == ""  # a step that may finish quickly shows nothing yet
    clock.now = 1.5
    shown("embedding", 20, 1000)
    assert out.getvalue().splitlines() == ["embedding: 20/1,000 (2%), 0:01 elapsed, about 1:13 left"]
    clock.now = 5.0
    shown("embedding", 100, 1000)
    assert len(out.getvalue().splitlines()) == 1  # not before the interval
    clock.now = 11.5
    shown.tick()  # the heartbeat: a line even when the work reports nothing new
    clock.now = 12.0
    shown("embedding", 1000, 1000)
    lines = out.getvalue().splitlines()
    assert lines[1] == "embedding: 100/1,000 (10%), 0:11 elapsed, about 1:43 left"
    assert lines[2] == "embedding: 1,000/1,000 (100%), done in 0:12"
    shown.close()
    assert len(out.getvalue().splitlines()) == 3


def test_a_quick_step_shows_nothing_and_a_silent_long_step_still_shows() -> None:
    shown, out, clock = display(terminal=False)
    shown("comparing", 0, None)
    clock.now = 0.2
    shown("embedding", 0, 3)
    shown("embedding", 3, 3)
    assert out.getvalue() == ""
    shown("loading catalog big.yaml", 0, None)
    clock.now = 2.0
    shown.tick()
    clock.now = 9.0
    shown("checking", 0, None)  # the next step ends the previous one
    shown.close()
    assert out.getvalue().splitlines() == [
        "loading catalog big.yaml... 0:01 elapsed",
        "loading catalog big.yaml: done in 0:08",
    ]


def test_an_outer_step_shows_while_its_inner_steps_are_quick() -> None:
    shown, out, clock = display(terminal=False)
    shown("ingesting documents", 0, 3)
    for document in range(3):
        clock.now += 0.6
        shown(f"embedding doc{document}.md", 0, 2)
        shown(f"embedding doc{document}.md", 2, 2)
        shown("ingesting documents", document + 1, 3)
    assert out.getvalue().splitlines() == [
        "ingesting documents: 1/3 (33%), 0:01 elapsed, about 0:02 left",
        "ingesting documents: 3/3 (100%), done in 0:01",
    ]


def test_on_a_terminal_one_line_is_redrawn_and_notes_do_not_garble_it() -> None:
    shown, out, clock = display(terminal=True)
    shown("embedding", 0, 100)
    clock.now = 2.0
    shown("embedding", 50, 100)
    shown.note("still waiting for the model server")
    clock.now = 4.0
    shown("embedding", 100, 100)
    shown.close()
    text = out.getvalue()
    assert text.startswith("\rembedding [############............] 50/100 (50%)")
    assert "\n" not in text.split("still waiting")[0]  # the bar was drawn in place, then cleared for the note
    assert re.search(r"left\r +\rstill waiting for the model server\n", text)
    assert text.endswith("embedding: 100/100 (100%), done in 0:04\n")
