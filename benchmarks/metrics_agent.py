"""Metrics agent benchmark: non-LLM overhead per question, and end-to-end latency and accuracy with a model.

Part 1 (no model): for every question of evals/datasets/retrieval/catalog_questions.jsonl, run what the agent
does around the model — hybrid retrieval, compiling the gold structured query, the SQL gate, read-only execution,
chart — and print p50/p95 per step, with the bare DuckDB execution of the same SQL as the baseline.

Part 2 (with --llm-url, or --start-server): ask the agent each question through the real model and print
end-to-end p50/p95 latency, how often it answered (did not abstain), and how often the metrics it chose match
the gold metrics.

    .venv/bin/python benchmarks/metrics_agent.py [--warehouse .kubeai/demo.duckdb] [--limit 68]
        [--llm-url http://127.0.0.1:8000/v1 | --start-server] [--llm-limit 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from agents.metrics import MetricsAgent, ensure_indexed
from app import runtime
from knowledge.catalog import demo_catalog_path, load_catalog, retrieve_catalog
from knowledge.index import open_knowledge_base
from knowledge.warehouse import build_demo_warehouse
from kubeai.config import load_config
from serving.launcher import free_port
from tools.charts import build_figure, choose_chart
from tools.metric_query import MetricQuery, compile_metric_query
from tools.sql_gate import GateContext, check_sql
from tools.warehouse import open_runner

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "evals" / "datasets" / "retrieval" / "catalog_questions.jsonl"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def gold_query(item: dict[str, Any], catalog: Any) -> MetricQuery:
    dims = [d for d in item.get("dimensions", []) if catalog.dimension(d) is not None]
    grain = "month" if any(catalog.dimension(d).type == "time" for d in dims) else None
    return MetricQuery.model_validate(
        {
            "metrics": item["metrics"][:1],
            "dimensions": dims[:2],
            "time_grain": grain,
            "time_range": "last_12_months" if grain else "last_month",
        }
    )


def overhead(items: list[dict[str, Any]], warehouse: Path) -> None:
    config = load_config(REPO / "kubeai.yaml")
    catalog = load_catalog(demo_catalog_path())
    kb = open_knowledge_base(embeddings=config.embeddings, store=config.vector_store, data_dir=config.data_dir)
    ensure_indexed(kb, catalog)
    runner = open_runner(str(warehouse))
    gate = GateContext(schema=catalog.schema_mapping(), source_dialect="duckdb", target_dialect="duckdb")
    retrieve_catalog(kb, "warm-up: load the embedding model")  # not a user's first-query cost
    times: dict[str, list[float]] = defaultdict(list)
    skipped = 0
    for item in items:
        t0 = time.perf_counter()
        retrieve_catalog(kb, item["question"])
        t1 = time.perf_counter()
        try:
            compiled = compile_metric_query(gold_query(item, catalog), catalog)
        except Exception:  # a gold pairing the compiler cannot express (e.g. a fan-out join) is not timed
            skipped += 1
            continue
        t2 = time.perf_counter()
        gated = check_sql(compiled.sql, gate)
        t3 = time.perf_counter()
        result = runner.run(gated.sql, max_rows=1000, timeout_s=30)
        t4 = time.perf_counter()
        frame = result.frame
        time_cols = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
        metric_cols = [c for c in frame.columns if c not in time_cols and pd.api.types.is_numeric_dtype(frame[c])]
        spec = choose_chart(
            frame,
            time_columns=time_cols,
            dimension_columns=[c for c in frame.columns if c not in time_cols and c not in metric_cols],
            metric_columns=metric_cols,
        )
        build_figure(spec, frame)
        t5 = time.perf_counter()
        runner.run(compiled.sql, max_rows=1000, timeout_s=30)  # baseline: the same query, no gate, no chart
        t6 = time.perf_counter()
        for name, seconds in (
            ("retrieve", t1 - t0),
            ("compile", t2 - t1),
            ("gate", t3 - t2),
            ("execute", t4 - t3),
            ("chart", t5 - t4),
            ("total", t5 - t0),
            ("baseline: bare execute", t6 - t5),
        ):
            times[name].append(seconds)
    runner.close()
    kb.close()
    print(f"non-LLM overhead over {len(times['total'])} questions ({skipped} gold pairings not compilable):")
    print(f"{'step':<24}{'p50 ms':>10}{'p95 ms':>10}")
    for name, values in times.items():
        print(f"{name:<24}{1000 * pct(values, 0.5):>10.1f}{1000 * pct(values, 0.95):>10.1f}")
    overhead_ms = statistics.median(times["total"]) - statistics.median(times["execute"])
    ratio = statistics.median(times["total"]) / statistics.median(times["baseline: bare execute"])
    print(f"median overhead around execution: {1000 * overhead_ms:.1f} ms; total / bare execute = {ratio:.2f}x")


async def end_to_end(items: list[dict[str, Any]], warehouse: Path, url: str) -> None:
    config = load_config(REPO / "kubeai.yaml")
    config = config.model_copy(update={"warehouse": config.warehouse.model_copy(update={"url": str(warehouse)})})
    client = runtime.model_client(config, base_url=url)
    latencies: list[float] = []
    answered = correct = 0
    async with MetricsAgent.open(config, llm=client) as agent:
        for item in items:
            began = time.perf_counter()
            result = await agent.ask(item["question"])
            latencies.append(time.perf_counter() - began)
            if not result.abstained:
                answered += 1
                if set(result.metrics) & set(item["metrics"]):
                    correct += 1
            print(
                f"  {item['id']} {'ABSTAIN' if result.abstained else 'ok     '} metrics={list(result.metrics)} "
                f"gold={item['metrics']} {latencies[-1]:.1f}s"
            )
    n = len(items)
    print(f"end to end with the model at {url}, {n} questions:")
    print(f"  latency p50 {pct(latencies, 0.5):.1f} s, p95 {pct(latencies, 0.95):.1f} s")
    print(f"  answered {answered}/{n} ({answered / n:.0%}); gold metric chosen {correct}/{n} ({correct / n:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=REPO / ".kubeai" / "demo.duckdb")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--llm-url")
    parser.add_argument("--start-server", action="store_true")
    parser.add_argument("--llm-limit", type=int, default=20)
    args = parser.parse_args()
    if not args.warehouse.exists():
        print(f"building the demo warehouse at {args.warehouse}")
        build_demo_warehouse(args.warehouse)
    items = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    overhead(items[: args.limit], args.warehouse)
    url = args.llm_url
    server = None
    if args.start_server and not url:
        server, plan = runtime.server_for(load_config(REPO / "kubeai.yaml"), port=free_port())
        server.start()
        url = plan.base_url
    try:
        if url:
            asyncio.run(end_to_end(items[: args.llm_limit], args.warehouse, url))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
