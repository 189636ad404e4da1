"""Reports of an evaluation run: a JSON summary, a terminal table, Markdown, self-contained HTML, and compare.

Everything is computed from the scored item records the runner writes (:func:`evals.runner.load_records`), so a
report can be rebuilt from a run folder at any time. Accuracy counts an item right when the agent's result
matches the gold result (execution accuracy) or, for an item that expects abstention, when the agent abstained.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.scorers import abstention_scores, summarize

__all__ = [
    "Comparison",
    "compare",
    "html_report",
    "markdown_report",
    "summarize_run",
    "terminal_table",
    "total_tokens",
    "write_reports",
]


def summarize_run(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The JSON summary: per variant, accuracy overall, by language and difficulty, and the other scores.

    Args:
        records: Scored item records of one run.

    Returns:
        ``{"items": N, "variants": {name: {...}}}``; each variant holds ``items``, ``correct``, ``accuracy``,
        ``execution_accuracy`` (answerable items), ``exact_match``, ``abstention`` (precision, recall, f1),
        ``chart_validity``, ``errors``, ``by_language``, ``by_difficulty``, ``latency_s`` and ``tokens``.
    """
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_variant[record["variant"]].append(record)
    variants = {}
    for name, group in by_variant.items():
        answerable = [r for r in group if not r["expect_abstention"]]
        exact = [r["exact_match"] for r in answerable if r.get("exact_match") is not None]
        charts = [r["chart_valid"] for r in group if r.get("chart_valid") is not None]
        abstention = abstention_scores([r["expect_abstention"] for r in group], [r["abstained"] for r in group])
        variants[name] = {
            "model": group[0]["model"],
            "strategy": group[0]["strategy"],
            **_accuracy(group),
            "execution_accuracy": _rate(sum(bool(r["correct"]) for r in answerable), len(answerable)),
            "exact_match": _rate(sum(exact), len(exact)),
            "abstention": asdict(abstention),
            "chart_validity": _rate(sum(charts), len(charts)),
            "errors": sum(1 for r in group if r.get("error")),
            "by_language": {k: _accuracy(v) for k, v in sorted(_group(group, "language").items())},
            "by_difficulty": {
                k: _accuracy(v)
                for k, v in sorted(_group(group, "difficulty").items(), key=lambda kv: _DIFFICULTY.get(kv[0], 9))
            },
            "latency_s": asdict(summarize(r.get("latency_s") for r in group)),
            "tokens": asdict(summarize(float(total_tokens(r.get("tokens") or {})) for r in group)),
        }
    return {"items": len(records), "variants": variants}


_DIFFICULTY = {"easy": 0, "medium": 1, "hard": 2}
_TOTAL_KEYS = frozenset({"total", "total_tokens"})


def total_tokens(tokens: Mapping[str, Mapping[str, Any]]) -> int:
    """Tokens one question used: every count of every node (``{node: {kind: count}}``), totals left out."""
    return sum(int(v) for node in tokens.values() for k, v in node.items() if k not in _TOTAL_KEYS)


def _group(records: Iterable[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        out[str(record.get(key))].append(record)
    return out


def _accuracy(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    correct = sum(bool(r["correct"]) for r in records)
    return {"items": len(records), "correct": correct, "accuracy": _rate(correct, len(records))}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _rows(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    languages = sorted({k for v in summary["variants"].values() for k in v["by_language"]})
    difficulties = sorted(
        {k for v in summary["variants"].values() for k in v["by_difficulty"]}, key=lambda d: _DIFFICULTY.get(d, 9)
    )
    header = ["variant", "n", "accuracy", *languages, *difficulties, "exec acc", "exact", "abst F1", "chart ok"]
    header += ["p50 s", "p95 s", "tokens", "errors"]
    rows = []
    for name, v in summary["variants"].items():
        rows.append(
            [
                name,
                str(v["items"]),
                _pct(v["accuracy"]),
                *(_pct(v["by_language"].get(k, {}).get("accuracy")) for k in languages),
                *(_pct(v["by_difficulty"].get(k, {}).get("accuracy")) for k in difficulties),
                _pct(v["execution_accuracy"]),
                _pct(v["exact_match"]),
                f"{v['abstention']['f1']:.2f}",
                _pct(v["chart_validity"]),
                f"{v['latency_s']['p50']:.2f}",
                f"{v['latency_s']['p95']:.2f}",
                f"{v['tokens']['total']:.0f}",
                str(v["errors"]),
            ]
        )
    return header, rows


def terminal_table(summary: dict[str, Any]) -> str:
    """A fixed-width table of every variant: accuracy overall, by language and difficulty, and the other scores."""
    header, rows = _rows(summary)
    widths = [max(len(c) for c in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def markdown_report(summary: dict[str, Any], *, title: str = "Evaluation report") -> str:
    """The summary as a Markdown document with one table row per variant."""
    header, rows = _rows(summary)
    lines = [f"# {title}", "", f"{summary['items']} scored items.", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    lines += ["", "Accuracy: execution match with the gold result, or abstention where the item expects one."]
    return "\n".join(lines) + "\n"


def html_report(summary: dict[str, Any], records: Sequence[dict[str, Any]], *, title: str = "Evaluation report") -> str:
    """A self-contained HTML page (plotly.js inline) with accuracy and latency charts and the summary table.

    Charts: accuracy per variant, accuracy per variant by difficulty and by language, latency distribution.
    """
    import plotly.graph_objects as go

    variants = list(summary["variants"])
    figures = []
    accuracy = go.Figure(
        go.Bar(x=variants, y=[100 * (summary["variants"][v]["accuracy"] or 0) for v in variants], name="accuracy")
    )
    accuracy.update_layout(title="Accuracy per variant (%)", yaxis={"range": [0, 100]})
    figures.append(accuracy)
    for key, label in (("by_difficulty", "difficulty"), ("by_language", "language")):
        fig = go.Figure()
        groups = list(dict.fromkeys(k for v in variants for k in summary["variants"][v][key]))
        for group in groups:
            fig.add_bar(
                name=group,
                x=variants,
                y=[100 * (summary["variants"][v][key].get(group, {}).get("accuracy") or 0) for v in variants],
            )
        fig.update_layout(title=f"Accuracy per variant by {label} (%)", barmode="group", yaxis={"range": [0, 100]})
        figures.append(fig)
    latency = go.Figure()
    for v in variants:
        values = [r["latency_s"] for r in records if r["variant"] == v and r.get("latency_s") is not None]
        latency.add_box(y=values, name=v, boxpoints="all")
    latency.update_layout(title="Latency per question (s)", yaxis={"title": "seconds"})
    figures.append(latency)
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=(index == 0), default_height=380)
        for index, fig in enumerate(figures)
    ]
    header, rows = _rows(summary)
    table = "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>"
    table += "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    table += "</tbody></table>"
    wrong = [r for r in records if not r["correct"]]
    failures = "".join(
        f"<tr><td>{html.escape(r['variant'])}</td><td>{html.escape(r['item_id'])}</td>"
        f"<td>{html.escape(r['question'])}</td><td><code>{html.escape(r.get('sql') or '')}</code></td>"
        f"<td>{html.escape(r.get('error') or r.get('reason') or '')}</td></tr>"
        for r in wrong[:500]
    )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{summary['items']} scored items.</p>{table}{''.join(parts)}"
        f"<h2>Wrong items ({len(wrong)})</h2><table><thead><tr><th>variant</th><th>item</th><th>question</th>"
        f"<th>SQL</th><th>reason</th></tr></thead><tbody>{failures}</tbody></table></body></html>\n"
    )


def write_reports(run_dir: Path, records: Sequence[dict[str, Any]], *, title: str | None = None) -> dict[str, Any]:
    """Write ``summary.json``, ``report.md`` and ``report.html`` into ``run_dir``; returns the summary."""
    summary = summarize_run(records)
    name = title or f"Evaluation report: {run_dir.name}"
    (run_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (run_dir / "report.md").write_text(markdown_report(summary, title=name), encoding="utf-8")
    (run_dir / "report.html").write_text(html_report(summary, records, title=name), encoding="utf-8")
    return summary


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """How run B differs from run A.

    Attributes:
        regressions: ``(variant, item_id)`` right in A and wrong in B.
        improvements: ``(variant, item_id)`` wrong in A and right in B.
        deltas: Per variant in both runs: ``accuracy_a``, ``accuracy_b`` and ``delta`` (B - A).
        only_a: Variants only in A.
        only_b: Variants only in B.
    """

    regressions: tuple[tuple[str, str], ...]
    improvements: tuple[tuple[str, str], ...]
    deltas: dict[str, dict[str, float | None]]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]

    def text(self) -> str:
        """A plain-text rendering for the terminal."""
        lines = ["variant  accuracy A  accuracy B  delta"]
        for name, d in self.deltas.items():
            delta = d["delta"]
            shown = "-" if delta is None else f"{100 * delta:+.1f} pt"
            lines.append(f"{name}  {_pct(d['accuracy_a'])}  {_pct(d['accuracy_b'])}  {shown}")
        lines.append(f"regressions (right in A, wrong in B): {len(self.regressions)}")
        lines += [f"  {v}  {i}" for v, i in self.regressions]
        lines.append(f"improvements (wrong in A, right in B): {len(self.improvements)}")
        lines += [f"  {v}  {i}" for v, i in self.improvements]
        if self.only_a or self.only_b:
            lines.append(f"only in A: {', '.join(self.only_a) or '-'}; only in B: {', '.join(self.only_b) or '-'}")
        return "\n".join(lines)


def compare(run_a: Sequence[dict[str, Any]], run_b: Sequence[dict[str, Any]]) -> Comparison:
    """Compare two runs' records item by item and variant by variant.

    Items are matched on ``(variant, dataset, item_id)``; only items present in both runs count for the deltas,
    so a partial run B is compared on what it covered.
    """
    a = {(r["variant"], r["dataset"], r["item_id"]): bool(r["correct"]) for r in run_a}
    b = {(r["variant"], r["dataset"], r["item_id"]): bool(r["correct"]) for r in run_b}
    shared = sorted(a.keys() & b.keys())
    regressions = tuple((k[0], k[2]) for k in shared if a[k] and not b[k])
    improvements = tuple((k[0], k[2]) for k in shared if not a[k] and b[k])
    deltas: dict[str, dict[str, float | None]] = {}
    for variant in sorted({k[0] for k in shared}):
        keys = [k for k in shared if k[0] == variant]
        acc_a = sum(a[k] for k in keys) / len(keys)
        acc_b = sum(b[k] for k in keys) / len(keys)
        deltas[variant] = {"accuracy_a": acc_a, "accuracy_b": acc_b, "delta": acc_b - acc_a}
    variants_a = {k[0] for k in a}
    variants_b = {k[0] for k in b}
    return Comparison(
        regressions=regressions,
        improvements=improvements,
        deltas=deltas,
        only_a=tuple(sorted(variants_a - variants_b)),
        only_b=tuple(sorted(variants_b - variants_a)),
    )
