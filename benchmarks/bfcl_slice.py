"""Tool-calling accuracy on the bundled BFCL slice (evals/datasets/bfcl), per category and mode.

Uses the server at --url (default: llm.base_url from kubeai.yaml); start one with `kubeai serve --port 8200`.
Each case runs in `auto` mode (tool_choice="auto": the model decides) and `required` mode (the tool is named when
one is offered, tool_choice="required" otherwise; strict schemas), and is scored with BFCL's AST-checker rules.

    .venv/bin/python benchmarks/bfcl_slice.py --url http://127.0.0.1:8200/v1 [--limit 10] [--show-errors]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import time
from pathlib import Path

from evals import ToolCallingItem, load_dataset
from evals.bfcl import Mode, accuracy_table, run_cases
from kubeai.config import LLMConfig, load_config
from serving.client import ModelClient

REPO = Path(__file__).resolve().parents[1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="OpenAI-compatible base URL ending in /v1 (default: llm.base_url)")
    parser.add_argument("--model", help="served model name (default: the registry's base model)")
    parser.add_argument("--dataset", default=str(REPO / "evals" / "datasets" / "bfcl"))
    parser.add_argument("--limit", type=int, default=0, help="first N cases of each category (0 = all)")
    parser.add_argument("--modes", default="auto,required")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--show-errors", action="store_true", help="print each failed case's reason")
    args = parser.parse_args()

    config = load_config()
    llm = config.llm if args.url is None else LLMConfig(base_url=args.url, timeout_s=config.llm.timeout_s)
    model = args.model or config.models.base.name
    items = load_dataset(args.dataset).items_of(ToolCallingItem)
    if args.limit:
        seen: collections.Counter[str] = collections.Counter()
        picked = []
        for item in items:
            seen[item.category] += 1
            if seen[item.category] <= args.limit:
                picked.append(item)
        items = tuple(picked)
    modes: list[Mode] = [m for m in ("auto", "required") if m in args.modes.split(",")]
    client = ModelClient(llm, default_model=model)
    began = time.perf_counter()
    results = await run_cases(client, items, modes, concurrency=args.concurrency)
    wall = time.perf_counter() - began

    print(f"model {model} at {llm.base_url}; {len(items)} cases x {len(modes)} modes in {wall:.0f} s")
    table = accuracy_table(results)
    print(f"{'category':<10} {'mode':<9} {'correct':>7} {'total':>5} {'accuracy':>8}")
    for (category, mode), (correct, total) in sorted(table.items()):
        print(f"{category:<10} {mode:<9} {correct:>7} {total:>5} {correct / total:>8.1%}")
    for mode in modes:
        subset = [r for r in results if r.mode == mode]
        errors = collections.Counter(r.check.error_type for r in subset if not r.check.valid)
        latency = statistics.median(r.latency_s for r in subset)
        called = sum(1 for r in subset if r.calls)
        print(f"{mode}: called a tool in {called}/{len(subset)}, median latency {latency:.2f} s, errors {dict(errors)}")
    if args.show_errors:
        for r in results:
            if not r.check.valid:
                calls = "; ".join(f"{c.name}({dict(c.arguments)})" for c in r.calls)
                print(f"  {r.mode:<8} {r.id:<20} {r.check.error_type}: {r.check.message} | {calls}")


if __name__ == "__main__":
    asyncio.run(main())
