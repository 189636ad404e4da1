"""The onboarding report as one self-contained HTML page: inline CSS and SVG, no script, every text escaped."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["render_report"]

_LABELS = {"prompt": "PROMPT", "rag": "RAG", "rag_lora": "RAG + LoRA"}
_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2rem;color:#222;max-width:60rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .7rem;text-align:right}
th:first-child,td:first-child{text-align:left}.pass{color:#1a7f37}.fail{color:#b42318}
"""


def render_report(report: Mapping[str, Any]) -> str:
    """The page for a ``report.json`` (see :class:`app.onboarding.OnboardingReport`)."""
    esc = html.escape
    steps: Mapping[str, Mapping[str, Any]] = report.get("steps") or {}
    rows = "".join(
        "<tr>"
        f"<td>{esc(_LABELS.get(name, name))}</td><td>{_pct(s.get('accuracy'))}</td><td>{_pct(s.get('en'))}</td>"
        f"<td>{_pct(s.get('zh'))}</td><td>{esc(str(s.get('false_abstentions', '-')))}</td>"
        f"<td>{_pct(s.get('abstention_recall'))}</td><td>{_seconds(s.get('p50_latency_s'))}</td>"
        f"<td>{esc(str(s.get('items', '-')))}</td>"
        "</tr>"
        for name, s in steps.items()
    )
    gate = report.get("gate") or {}
    verdict = (
        f"<p class='{'pass' if gate.get('passed') else 'fail'}'>Gate {'passed' if gate.get('passed') else 'failed'}: "
        f"{esc(str(gate.get('reason', '')))}. Adapter {esc(str(report.get('adapter', '')))} "
        f"{'promoted' if report.get('promoted') else 'not promoted'}.</p>"
        if gate
        else "<p>No gate decision.</p>"
    )
    data = report.get("data") or {}
    synthesized = data.get("synthesized") or {}
    cleaning = data.get("cleaning") or {}
    removed = cleaning.get("removed") or {}
    data_rows = "".join(
        f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>"
        for k, v in [
            ("synthesized (gold checked)", synthesized.get("examples", "-")),
            *((f"dropped by synthesis: {k}", v) for k, v in (synthesized.get("dropped") or {}).items()),
            *((f"removed by cleaning: {k}", v) for k, v in removed.items()),
            ("training examples", data.get("train", "-")),
            ("held-out examples", data.get("held_out", "-")),
            ("data hash", str(data.get("data_hash", "-"))[:16]),
        ]
    )
    timings = "".join(
        f"<tr><td>{esc(str(k))}</td><td>{_seconds(v)}</td></tr>" for k, v in (report.get("timings") or {}).items()
    )
    teacher = report.get("teacher")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Onboarding {esc(str(report.get('catalog', '')))}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Onboarding: {esc(str(report.get('catalog', '')))}</h1>"
        f"<p>Training data from {esc('the teacher ' + str(teacher) if teacher else 'the catalog synthesizer alone')}."
        " Every step is measured on the same held-out questions, which training never saw.</p>"
        "<h2>PROMPT → RAG → RAG + LoRA</h2>"
        "<table><tr><th>step</th><th>accuracy</th><th>EN</th><th>ZH</th><th>false abstentions</th>"
        f"<th>abstention recall</th><th>p50 latency</th><th>questions</th></tr>{rows}</table>"
        f"{_bars(steps)}{verdict}"
        f"<h2>Data</h2><table>{data_rows}</table>"
        f"<h2>Time</h2><table>{timings}</table></body></html>"
    )


def _bars(steps: Mapping[str, Mapping[str, Any]]) -> str:
    """Accuracy per step as an inline SVG bar chart."""
    width, bar, gap = 420, 22, 10
    height = len(steps) * (bar + gap) + gap
    parts = []
    for i, (name, score) in enumerate(steps.items()):
        value = float(score.get("accuracy") or 0.0)
        y = gap + i * (bar + gap)
        parts.append(
            f"<text x='0' y='{y + 16}' font-size='13'>{html.escape(_LABELS.get(name, name))}</text>"
            f"<rect x='110' y='{y}' width='{value * (width - 170):.1f}' height='{bar}' fill='#4c78a8'/>"
            f"<text x='{115 + value * (width - 170):.1f}' y='{y + 16}' font-size='13'>{value:.0%}</text>"
        )
    return f"<svg width='{width}' height='{height}' role='img' aria-label='accuracy per step'>{''.join(parts)}</svg>"


def _pct(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.0%}"


def _seconds(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.1f} s"
