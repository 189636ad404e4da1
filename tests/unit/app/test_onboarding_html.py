"""The onboarding report page: every text escaped, no script, the three steps with their percentages."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from app.onboarding_html import render_report
from finetune.gate import StepScore, gate_decision

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def score(step: str, accuracy: float, *, items: int = 20, false_abstentions: int = 0) -> StepScore:
    return StepScore(
        step=step,
        items=items,
        correct=round(accuracy * items),
        accuracy=accuracy,
        en=accuracy,
        zh=accuracy,
        false_abstentions=false_abstentions,
        abstention_recall=0.5,
        p50_latency_s=1.25,
    )


def report(**overrides: Any) -> dict[str, Any]:
    """A ``report.json`` as :class:`app.onboarding.OnboardingReport` writes it."""
    steps = {"prompt": score("prompt", 0.4), "rag": score("rag", 0.55), "rag_lora": score("rag_lora", 0.72)}
    data: dict[str, Any] = {
        "catalog": "demo_ecommerce",
        "adapter": "demo_ecommerce-20250301",
        "teacher": None,
        "steps": {name: s.to_json() for name, s in steps.items()},
        "gate": gate_decision(steps["rag_lora"], steps["rag"], margin=0.05).to_json(),
        "promoted": True,
        "data": {
            "synthesized": {"examples": 344, "dropped": {"compile": 17, "empty": 4}},
            "cleaning": {"removed": {"exact_duplicate": 2, "decontaminated": 1}},
            "train": 310,
            "held_out": 31,
            "data_hash": "0123456789abcdef0123456789abcdef",
        },
        "training": {"steps": 60},
        "timings": {"data": 12.0, "total": 95.5},
    }
    data.update(overrides)
    return data


class Tags(HTMLParser):
    """Every start tag of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def tags(page: str) -> list[str]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def test_page_shows_the_three_steps_their_percentages_and_the_verdict() -> None:
    page = render_report(report())
    assert page.startswith("<!doctype html>")
    for label in ("PROMPT", "RAG", "RAG + LoRA"):
        assert f"<td>{label}</td>" in page
    for percent in ("40%", "55%", "72%"):
        assert percent in page
    assert "1.2 s" in page  # p50 latency
    assert "Gate passed" in page and "promoted" in page and "not promoted" not in page
    assert "dropped by synthesis: compile" in page and "removed by cleaning: decontaminated" in page
    assert "0123456789abcdef" in page and "0123456789abcdef0123" not in page  # the hash, shortened
    assert "the catalog synthesizer alone" in page
    assert "svg" in tags(page)


def test_hostile_text_is_escaped_everywhere_and_the_page_has_no_script() -> None:
    hostile = report(
        catalog=HOSTILE,
        adapter=HOSTILE,
        teacher=HOSTILE,
        gate={"passed": False, "reason": HOSTILE},
        promoted=False,
        steps={HOSTILE: score("x", 0.5).to_json(), "rag": {**score("rag", 0.6).to_json(), "items": HOSTILE}},
        data={
            "synthesized": {"examples": HOSTILE, "dropped": {HOSTILE: 1}},
            "cleaning": {"removed": {HOSTILE: HOSTILE}},
            "train": HOSTILE,
            "held_out": 1,
            "data_hash": HOSTILE,
        },
        timings={HOSTILE: 1.0},
    )
    page = render_report(hostile)
    assert "<script" not in page.lower()
    assert "script" not in tags(page)
    assert ESCAPED in page
    assert f"<title>Onboarding {ESCAPED}</title>" in page
    assert "Gate failed" in page and "not promoted" in page


def test_missing_figures_show_a_dash_and_no_gate_says_so() -> None:
    bare = {"catalog": "logistics", "steps": {"prompt": {"accuracy": None, "items": 0}}}
    page = render_report(bare)
    assert "No gate decision." in page
    assert "<td>PROMPT</td><td>-</td>" in page
