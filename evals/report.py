"""Reports of an evaluation run: a JSON summary, a terminal table, Markdown, self-contained HTML, and compare.

Everything is computed from the scored item records the runner writes (:func:`evals.runner.load_records`), so a
report can be rebuilt from a run folder at any time. Each variant is reported with the scores of its dataset kind:

- ``metrics_qa``: accuracy counts an item right when the agent's result matches the gold result (execution
  accuracy) or, for an item that expects abstention, when the agent abstained;
- ``planning``: mean TaskBench node F1 and edge F1, the share of requests with a valid plan and with an exact plan
  (node F1 and edge F1 both 1); accuracy is the exact-plan rate.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.scorers import abstention_scores, summarize

if TYPE_CHECKING:
    import plotly.graph_objects as go

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

_DEFAULT_KIND = "metrics_qa"  # records written before planning runs existed carry no kind


def summarize_run(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The JSON summary: per variant, the scores of its dataset kind overall and by language, latency and tokens.

    Args:
        records: Scored item records of one run.

    Returns:
        ``{"items": N, "variants": {name: {...}}}``; when the run holds several datasets of one kind, each
        dataset's items are a variant of their own, named ``"<dataset>: <variant>"``. Every variant holds
        ``model``, ``strategy``, ``kind``, ``items``, ``correct``, ``accuracy``, ``errors``, ``by_language``,
        ``latency_s`` and ``tokens``.
        A ``metrics_qa`` variant adds ``execution_accuracy`` (answerable items), ``exact_match``, ``abstention``
        (precision, recall, f1), ``chart_validity``, ``cut_off`` and ``prompt_too_long`` (counts of answers stopped
        at the token limit and of prompts that could not fit) and ``by_difficulty``; its ``by_language`` entries hold
        ``items``, ``correct`` and ``accuracy``. A ``planning`` variant adds the mean ``node_f1``, ``edge_f1``,
        ``node_precision``, ``node_recall``, ``edge_precision`` and ``edge_recall``, and the rates
        ``valid_plan`` and ``exact_plan``; its ``by_language`` entries hold ``node_f1``, ``edge_f1``,
        ``valid_plan`` and ``exact_plan`` too.
    """
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    datasets: dict[str, set[str]] = defaultdict(set)
    for record in records:
        datasets[_kind(record)].add(str(record.get("dataset", "")))
    for record in records:
        # A run over several datasets of one kind (two businesses' metric questions) reports each apart.
        several = len(datasets[_kind(record)]) > 1
        name = f"{record['dataset']}: {record['variant']}" if several else record["variant"]
        by_variant[name].append(record)
    variants = {}
    for name, group in by_variant.items():
        kind = _kind(group[0])
        variants[name] = {
            "model": group[0]["model"],
            "strategy": group[0]["strategy"],
            "kind": kind,
            **_SCORES[kind](group),
            "errors": sum(1 for r in group if r.get("error")),
            "latency_s": asdict(summarize(r.get("latency_s") for r in group)),
            "tokens": asdict(summarize(float(total_tokens(r.get("tokens") or {})) for r in group)),
        }
    return {"items": len(records), "variants": variants}


_DIFFICULTY = {"easy": 0, "medium": 1, "hard": 2}
_TOTAL_KEYS = frozenset({"total", "total_tokens"})
_PLAN_DETAIL = ("node_precision", "node_recall", "edge_precision", "edge_recall")


def total_tokens(tokens: Mapping[str, Mapping[str, Any]]) -> int:
    """Tokens one question used: every count of every node (``{node: {kind: count}}``), totals left out."""
    return sum(int(v) for node in tokens.values() for k, v in node.items() if k not in _TOTAL_KEYS)


def _kind(record: Mapping[str, Any]) -> str:
    return str(record.get("kind") or _DEFAULT_KIND)


def _metrics_scores(group: Sequence[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in group if not r["expect_abstention"]]
    exact = [r["exact_match"] for r in answerable if r.get("exact_match") is not None]
    charts = [r["chart_valid"] for r in group if r.get("chart_valid") is not None]
    abstention = abstention_scores([r["expect_abstention"] for r in group], [r["abstained"] for r in group])
    return {
        **_accuracy(group),
        "execution_accuracy": _rate(sum(bool(r["correct"]) for r in answerable), len(answerable)),
        "exact_match": _rate(sum(exact), len(exact)),
        "abstention": asdict(abstention),
        "chart_validity": _rate(sum(charts), len(charts)),
        # Answers the model stopped at its token limit, and prompts too long to send even at their smallest.
        "cut_off": sum(1 for r in group if r.get("cut_off")),
        "prompt_too_long": sum(1 for r in group if r.get("prompt_too_long")),
        "by_language": {k: _accuracy(v) for k, v in sorted(_group(group, "language").items())},
        "by_difficulty": {
            k: _accuracy(v)
            for k, v in sorted(_group(group, "difficulty").items(), key=lambda kv: _DIFFICULTY.get(kv[0], 9))
        },
    }


def _plan_scores(group: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        **_plan_headline(group),
        **{key: _mean(r.get(key) for r in group) for key in _PLAN_DETAIL},
        "by_language": {k: _plan_headline(v) for k, v in sorted(_group(group, "language").items())},
    }


def _plan_headline(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        **_accuracy(records),
        "node_f1": _mean(r.get("node_f1") for r in records),
        # Edge F1 over requests whose gold graph has edges: a one-task request would score 1.0 for any
        # edgeless plan, right or wrong.
        "edge_f1": _mean(r.get("edge_f1") for r in records if r.get("gold_edges", 1)),
        "valid_plan": _rate(sum(bool(r.get("valid_plan")) for r in records), len(records)),
        "exact_plan": _rate(sum(bool(r.get("exact_plan")) for r in records), len(records)),
    }


_SCORES: dict[str, Callable[[Sequence[dict[str, Any]]], dict[str, Any]]] = {
    "metrics_qa": _metrics_scores,
    "planning": _plan_scores,
}


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


def _mean(values: Iterable[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _f1(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@dataclass(frozen=True, kw_only=True)
class _Table:
    """One kind's variants as a table: every report renders these."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str


_TAIL_HEADER = ["p50 s", "p95 s", "tokens", "errors"]


def _tail(v: Mapping[str, Any]) -> list[str]:
    """The cells every kind's table ends with: latency, tokens and errors."""
    return [
        f"{v['latency_s']['p50']:.2f}",
        f"{v['latency_s']['p95']:.2f}",
        f"{v['tokens']['total']:.0f}",
        str(v["errors"]),
    ]


def _metrics_table(variants: Mapping[str, Mapping[str, Any]]) -> _Table:
    languages = sorted({k for v in variants.values() for k in v["by_language"]})
    difficulties = sorted(
        {k for v in variants.values() for k in v["by_difficulty"]}, key=lambda d: _DIFFICULTY.get(d, 9)
    )
    header = ["variant", "n", "accuracy", *languages, *difficulties, "exec acc", "exact", "abst F1", "chart ok"]
    header += ["cut off"]
    rows = [
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
            str(v.get("cut_off", 0) + v.get("prompt_too_long", 0)),
            *_tail(v),
        ]
        for name, v in variants.items()
    ]
    return _Table(
        title="Metrics QA",
        header=header + _TAIL_HEADER,
        rows=rows,
        note="Accuracy: execution match with the gold result, or abstention where the item expects one. Cut off: "
        "answers stopped at the token limit, plus prompts too long for the context even at their smallest.",
    )


def _plan_table(variants: Mapping[str, Mapping[str, Any]]) -> _Table:
    languages = sorted({k for v in variants.values() for k in v["by_language"]})
    header = ["variant", "n", "node F1", "edge F1", "valid plan", "exact plan"]
    header += [f"{lang} {score}" for lang in languages for score in ("node F1", "edge F1")]
    rows = []
    for name, v in variants.items():
        by_language = [v["by_language"].get(k, {}) for k in languages]
        rows.append(
            [
                name,
                str(v["items"]),
                _f1(v["node_f1"]),
                _f1(v["edge_f1"]),
                _pct(v["valid_plan"]),
                _pct(v["exact_plan"]),
                *(_f1(lang.get(score)) for lang in by_language for score in ("node_f1", "edge_f1")),
                *_tail(v),
            ]
        )
    return _Table(
        title="Planning",
        header=header + _TAIL_HEADER,
        rows=rows,
        note=(
            "Node and edge F1: TaskBench's, averaged over requests (edge F1 over those whose gold graph has edges; "
            "without a valid plan, the model's last draft is scored); valid plan: the planner's plan passed "
            "validation; exact plan: a valid plan with node F1 and edge F1 both 1."
        ),
    )


_TABLES: dict[str, Callable[[Mapping[str, Mapping[str, Any]]], _Table]] = {
    "metrics_qa": _metrics_table,
    "planning": _plan_table,
}


def _of_kind(summary: Mapping[str, Any], kind: str) -> dict[str, Mapping[str, Any]]:
    return {name: v for name, v in summary["variants"].items() if v.get("kind", _DEFAULT_KIND) == kind}


def _tables(summary: Mapping[str, Any]) -> list[_Table]:
    """One table per dataset kind present in the run, metrics QA first."""
    return [build(variants) for kind, build in _TABLES.items() if (variants := _of_kind(summary, kind))]


def terminal_table(summary: dict[str, Any]) -> str:
    """Fixed-width tables of every variant, one per dataset kind (titled when the run holds several kinds)."""
    tables = _tables(summary)
    blocks = []
    for table in tables:
        widths = [max(len(c) for c in column) for column in zip(table.header, *table.rows, strict=True)]
        lines = [table.title] if len(tables) > 1 else []
        lines.append("  ".join(c.ljust(w) for c, w in zip(table.header, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table.rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def markdown_report(summary: dict[str, Any], *, title: str = "Evaluation report") -> str:
    """The summary as a Markdown document: one table per dataset kind, one row per variant."""
    tables = _tables(summary)
    lines = [f"# {title}", "", f"{summary['items']} scored items."]
    for table in tables:
        lines += ["", f"## {table.title}", ""] if len(tables) > 1 else [""]
        lines.append("| " + " | ".join(table.header) + " |")
        lines.append("|" + "|".join("---" for _ in table.header) + "|")
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table.rows]
        lines += ["", table.note]
    return "\n".join(lines) + "\n"


def html_report(summary: dict[str, Any], records: Sequence[dict[str, Any]], *, title: str = "Evaluation report") -> str:
    """A self-contained HTML page (plotly.js inline) with charts, the summary tables and the wrong items.

    Charts: for metrics QA, accuracy per variant, by difficulty and by language; for planning, node F1, edge F1,
    valid-plan and exact-plan rates per variant and node and edge F1 by language; the latency distribution of
    every variant.
    """
    import plotly.graph_objects as go

    figures = _metrics_figures(_of_kind(summary, "metrics_qa")) + _plan_figures(_of_kind(summary, "planning"))
    latency = go.Figure()
    for v in summary["variants"]:
        values = [r["latency_s"] for r in records if r["variant"] == v and r.get("latency_s") is not None]
        latency.add_box(y=values, name=v, boxpoints="all")
    latency.update_layout(title="Latency per question (s)", yaxis={"title": "seconds"})
    figures.append(latency)
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=(index == 0), default_height=380)
        for index, fig in enumerate(figures)
    ]
    tables = _tables(summary)
    blocks = []
    for table in tables:
        heading = f"<h2>{html.escape(table.title)}</h2>" if len(tables) > 1 else ""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
        blocks.append(
            f"{heading}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<p>{html.escape(table.note)}</p>"
        )
    wrong = [r for r in records if not r["correct"]]
    failures = "".join(
        f"<tr><td>{html.escape(r['variant'])}</td><td>{html.escape(r['item_id'])}</td>"
        f"<td>{html.escape(r.get('question') or r.get('request') or '')}</td>"
        f"<td><code>{html.escape(_output(r))}</code></td><td>{html.escape(_reason(r))}</td></tr>"
        for r in wrong[:500]
    )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{summary['items']} scored items.</p>{''.join(blocks)}{''.join(parts)}"
        f"<h2>Wrong items ({len(wrong)})</h2><table><thead><tr><th>variant</th><th>item</th><th>question</th>"
        f"<th>SQL or plan</th><th>reason</th></tr></thead><tbody>{failures}</tbody></table></body></html>\n"
    )


def _bars(title: str, variants: Sequence[str], series: Mapping[str, Sequence[float]], *, top: float) -> go.Figure:
    """Grouped bars: one group per variant, one bar per series."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, values in series.items():
        fig.add_bar(name=name, x=list(variants), y=list(values))
    fig.update_layout(title=title, barmode="group", yaxis={"range": [0, top]})
    return fig


def _metrics_figures(variants: Mapping[str, Mapping[str, Any]]) -> list[go.Figure]:
    if not variants:
        return []
    names = list(variants)
    figures = [
        _bars(
            "Accuracy per variant (%)",
            names,
            {"accuracy": [100 * (v["accuracy"] or 0) for v in variants.values()]},
            top=100,
        )
    ]
    for key, label in (("by_difficulty", "difficulty"), ("by_language", "language")):
        groups = list(dict.fromkeys(k for v in variants.values() for k in v[key]))
        series = {g: [100 * (v[key].get(g, {}).get("accuracy") or 0) for v in variants.values()] for g in groups}
        figures.append(_bars(f"Accuracy per variant by {label} (%)", names, series, top=100))
    return figures


def _plan_figures(variants: Mapping[str, Mapping[str, Any]]) -> list[go.Figure]:
    if not variants:
        return []
    names = list(variants)
    scores = {"node F1": "node_f1", "edge F1": "edge_f1", "valid plan": "valid_plan", "exact plan": "exact_plan"}
    figures = [
        _bars(
            "Plan scores per variant (F1; valid and exact plans as a share of requests)",
            names,
            {label: [v[key] or 0 for v in variants.values()] for label, key in scores.items()},
            top=1,
        )
    ]
    languages = list(dict.fromkeys(k for v in variants.values() for k in v["by_language"]))
    for key, label in (("node_f1", "Node F1"), ("edge_f1", "Edge F1")):
        series = {g: [v["by_language"].get(g, {}).get(key) or 0 for v in variants.values()] for g in languages}
        figures.append(_bars(f"{label} per variant by language", names, series, top=1))
    return figures


def _output(record: Mapping[str, Any]) -> str:
    """What the agent produced, for the wrong-items table: its SQL, or its plan."""
    if _kind(record) == "planning":
        return _plan_text(record.get("predicted_tasks") or ())
    return str(record.get("sql") or "")


def _reason(record: Mapping[str, Any]) -> str:
    """Why an item is wrong: the error or the agent's reason; for a plan, also the gold graph to compare with."""
    if _kind(record) == "planning":
        gold = f"gold: {_plan_text(record.get('gold_tasks') or ())}"
        return f"{record['error']} | {gold}" if record.get("error") else gold
    return str(record.get("error") or record.get("reason") or "")


def _plan_text(tasks: Iterable[Mapping[str, Any]]) -> str:
    """A plan on one line: ``t1 metric_query; t2 chart <- t1``."""
    steps = []
    for task in tasks:
        deps = task.get("depends_on") or ()
        steps.append(
            f"{task['id']} {task.get('tool') or task.get('type')}" + (f" <- {', '.join(deps)}" if deps else "")
        )
    return "; ".join(steps)


def write_reports(run_dir: Path, records: Sequence[dict[str, Any]], *, title: str | None = None) -> dict[str, Any]:
    """Write ``summary.json``, ``report.md`` and ``report.html`` into ``run_dir``; returns the summary."""
    summary = summarize_run(records)
    name = title or f"Evaluation report: {run_dir.name}"
    (run_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (run_dir / "report.md").write_text(markdown_report(summary, title=name), encoding="utf-8")
    (run_dir / "report.html").write_text(html_report(summary, records, title=name), encoding="utf-8")
    return summary


# Scores compared per variant besides accuracy (item means), by dataset kind, with their labels.
_COMPARED: dict[str, tuple[str, ...]] = {"planning": ("node_f1", "edge_f1")}
_LABELS = {"node_f1": "node F1", "edge_f1": "edge F1"}


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """How run B differs from run A.

    Attributes:
        regressions: ``(variant, item_id)`` right in A and wrong in B (for planning: an exact plan lost).
        improvements: ``(variant, item_id)`` wrong in A and right in B.
        deltas: Per variant in both runs: ``accuracy_a``, ``accuracy_b`` and ``delta`` (B - A; for planning the
            exact-plan rate), and for planning variants ``node_f1_a``, ``node_f1_b``, ``node_f1_delta``,
            ``edge_f1_a``, ``edge_f1_b`` and ``edge_f1_delta`` (means over the shared requests).
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
            line = f"{name}  {_pct(d['accuracy_a'])}  {_pct(d['accuracy_b'])}  {shown}"
            for key, label in _LABELS.items():
                if f"{key}_delta" in d:
                    line += f"  {label} {_f1(d[f'{key}_a'])} -> {_f1(d[f'{key}_b'])} ({d[f'{key}_delta']:+.2f})"
            lines.append(line)
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
    a = {(r["variant"], r["dataset"], r["item_id"]): r for r in run_a}
    b = {(r["variant"], r["dataset"], r["item_id"]): r for r in run_b}
    shared = sorted(a.keys() & b.keys())
    regressions = tuple((k[0], k[2]) for k in shared if a[k]["correct"] and not b[k]["correct"])
    improvements = tuple((k[0], k[2]) for k in shared if not a[k]["correct"] and b[k]["correct"])
    deltas: dict[str, dict[str, float | None]] = {}
    for variant in sorted({k[0] for k in shared}):
        keys = [k for k in shared if k[0] == variant]
        acc_a = sum(bool(a[k]["correct"]) for k in keys) / len(keys)
        acc_b = sum(bool(b[k]["correct"]) for k in keys) / len(keys)
        deltas[variant] = {"accuracy_a": acc_a, "accuracy_b": acc_b, "delta": acc_b - acc_a}
        for key in _COMPARED.get(_kind(a[keys[0]]), ()):
            scored = [k for k in keys if key != "edge_f1" or a[k].get("gold_edges", 1)]  # as the summary does
            mean_a = _mean(a[k].get(key) for k in scored) or 0.0
            mean_b = _mean(b[k].get(key) for k in scored) or 0.0
            deltas[variant].update({f"{key}_a": mean_a, f"{key}_b": mean_b, f"{key}_delta": mean_b - mean_a})
    variants_a = {k[0] for k in a}
    variants_b = {k[0] for k in b}
    return Comparison(
        regressions=regressions,
        improvements=improvements,
        deltas=deltas,
        only_a=tuple(sorted(variants_a - variants_b)),
        only_b=tuple(sorted(variants_b - variants_a)),
    )
