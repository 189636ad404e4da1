"""``kubeai traces``: recent runs from the local trace store, with per-node latency and tokens; one trace's spans.

    kubeai traces                       # the 10 newest runs
    kubeai traces --thread 3f2a         # the runs of one conversation thread (a beginning of its id is enough)
    kubeai traces --trace 8c41e0        # one trace as a tree of spans: run, nodes, model calls

Runs are read from ``<data_dir>/traces.sqlite`` (docs/observability.md).
"""

from __future__ import annotations

import json
from typing import Any

import typer

from app.cli._context import config as load
from app.trace_store import RunSummary, SpanRecord, TraceStore, depth_first
from app.tracing import store_path
from kubeai.errors import ConfigError
from kubeai.tracing import (
    ERROR_TYPE,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_MODEL,
)

__all__ = ["register", "traces"]


def register(app: typer.Typer) -> None:
    """Add ``traces`` to the root CLI."""
    app.command("traces")(traces)


def traces(
    ctx: typer.Context,
    thread: str | None = typer.Option(None, help="Only the runs of this thread (its id, or a beginning of it)."),
    limit: int = typer.Option(10, min=1, max=1000, help="How many runs to show, newest first."),
    trace: str | None = typer.Option(None, "--trace", help="Show one trace's spans (its id, or a beginning of it)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Show recent runs with per-node latency and tokens, or one trace's span tree (observability.traces_store)."""
    cfg = load(ctx)
    if not cfg.observability.traces_store:
        raise ConfigError(
            "The local trace store is off (observability.traces_store: false), so there are no traces to show; "
            "turn it on, or look the runs up in your OTLP backend.",
            field="observability.traces_store",
        )
    store = TraceStore(store_path(cfg))
    if trace is not None:
        spans = store.spans(trace)
        if as_json:
            typer.echo(json.dumps([_span_json(s) for s in spans], ensure_ascii=False))
        else:
            _print_tree(spans)
        return
    runs = store.recent(thread_id=thread, limit=limit)
    if as_json:
        typer.echo(json.dumps([_run_json(r) for r in runs], ensure_ascii=False))
        return
    if not runs:
        where = f" of thread {thread!r}" if thread else ""
        typer.echo(f"No traced runs{where} in {store.path} yet; `kubeai ask` or the HTTP API records them.")
        return
    for index, run in enumerate(runs):
        if index:
            typer.echo("")
        _print_run(run)


def _print_run(run: RunSummary) -> None:
    model = run.adapter or run.model or "-"
    head = [
        run.trace_id,
        run.started.strftime("%Y-%m-%d %H:%M:%S"),
        f"{run.agent} {run.entry}".strip(),
        f"thread {run.thread_id or '-'}",
        f"user {run.user or '-'}",
        f"model {model}",
        f"lang {run.language or '-'}",
        f"{run.seconds:.2f} s",
        f"tokens {run.input_tokens}/{run.output_tokens}",
    ]
    if run.error:
        head.append(f"error {run.error}")
    typer.echo("  ".join(head))
    if not run.nodes:
        return
    width = max(len(n.name) for n in run.nodes)
    typer.echo(f"  {'node':<{width}}  {'runs':>4}  {'seconds':>8}  {'calls':>5}  {'in':>6}  {'out':>5}")
    for node in run.nodes:
        typer.echo(
            f"  {node.name:<{width}}  {node.runs:>4}  {node.seconds:>8.2f}  {node.calls:>5}  "
            f"{node.input_tokens:>6}  {node.output_tokens:>5}"
        )


def _print_tree(spans: list[SpanRecord]) -> None:
    typer.echo(f"trace {spans[0].trace_id}")
    for depth, span in depth_first(spans):
        line = f"{'  ' * depth}{span.name}  {span.seconds:.2f} s"
        if span.span_type == "chat":
            model = span.attributes.get(GEN_AI_RESPONSE_MODEL) or span.attributes.get(GEN_AI_REQUEST_MODEL)
            reasons = ",".join(map(str, span.attributes.get(GEN_AI_RESPONSE_FINISH_REASONS, [])))
            line += f"  model {model}  tokens {span.tokens[0]}/{span.tokens[1]}" + (f"  {reasons}" if reasons else "")
        if span.attributes.get(ERROR_TYPE):
            line += f"  error {span.attributes[ERROR_TYPE]}"
        typer.echo(line)


def _run_json(run: RunSummary) -> dict[str, Any]:
    return {
        "trace_id": run.trace_id,
        "started": run.started.isoformat(),
        "seconds": round(run.seconds, 3),
        "agent": run.agent,
        "entry": run.entry,
        "thread_id": run.thread_id,
        "user": run.user,
        "model": run.model,
        "adapter": run.adapter,
        "language": run.language,
        "error": run.error,
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "nodes": [
            {
                "name": n.name,
                "runs": n.runs,
                "seconds": round(n.seconds, 3),
                "calls": n.calls,
                "input_tokens": n.input_tokens,
                "output_tokens": n.output_tokens,
            }
            for n in run.nodes
        ],
    }


def _span_json(span: SpanRecord) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "name": span.name,
        "kind": span.kind,
        "seconds": round(span.seconds, 3),
        "status": span.status,
        "attributes": dict(span.attributes),
    }
