"""Serving benchmark: start time, memory, time to first token and tokens/s for the base model and an adapter.

Starts a real vLLM server from kubeai.yaml on a free port (or measures the one at --url), then for the base
model and each adapter runs 1, 4 and 8 concurrent streaming requests of a fixed number of output tokens and
prints throughput, time to first token, and the adapter/base ratio measured in the same run.

    .venv/bin/python benchmarks/serving_bench.py [--tokens 128] [--rounds 2] [--url http://127.0.0.1:8000/v1]

(Not named serving.py: a script's folder comes first on sys.path, so that name would shadow the serving package
for every benchmark script.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import openai

from app import runtime
from kubeai.config import load_config
from serving.launcher import free_port

REPO = Path(__file__).resolve().parents[1]
PROMPTS = (
    "Explain what gross merchandise value means for an online shop.",
    "Describe how to compare monthly sales between two regions.",
    "解释一下退款率的含义和计算方法。",
    "List three reasons why average order value might fall.",
)


@dataclass
class Sample:
    ttft_s: float
    total_s: float
    tokens: int


async def one_request(client: openai.AsyncOpenAI, model: str, prompt: str, tokens: int) -> Sample:
    began = time.perf_counter()
    first: float | None = None
    count = 0
    stream = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=tokens,
        temperature=0.0,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True, "min_tokens": tokens},
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content and first is None:
            first = time.perf_counter() - began
        if chunk.usage is not None:
            count = chunk.usage.completion_tokens
    total = time.perf_counter() - began
    return Sample(ttft_s=first if first is not None else total, total_s=total, tokens=count)


async def measure(url: str, model: str, concurrency: int, tokens: int, rounds: int) -> dict[str, float]:
    client = openai.AsyncOpenAI(base_url=url, api_key="EMPTY", timeout=600)
    await one_request(client, model, PROMPTS[0], 8)  # warm-up (loads the adapter on first use)
    samples: list[Sample] = []
    wall = 0.0
    for _ in range(rounds):
        began = time.perf_counter()
        batch = await asyncio.gather(
            *(one_request(client, model, PROMPTS[i % len(PROMPTS)], tokens) for i in range(concurrency))
        )
        wall += time.perf_counter() - began
        samples.extend(batch)
    await client.close()
    produced = sum(s.tokens for s in samples)
    ttfts = sorted(s.ttft_s for s in samples)
    return {
        "tok_s": produced / wall,
        "per_stream_tok_s": statistics.mean(s.tokens / s.total_s for s in samples),
        "ttft_p50_ms": 1000 * statistics.median(ttfts),
        "ttft_max_ms": 1000 * ttfts[-1],
    }


def rss_mib(pid: int) -> float:
    """Resident memory of a process group (the API server and its engine core)."""
    total_kib = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except (OSError, ProcessLookupError):
            continue
    return total_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=128, help="output tokens per request")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--url", help="measure an already running server instead of starting one")
    args = parser.parse_args()

    config = load_config(REPO / "kubeai.yaml")
    models = [config.models.base.name, *(a.name for a in config.models.adapters)]
    server = None
    if args.url:
        url = args.url.rstrip("/")
        print(f"server: {url} (already running; start time and memory not measured)")
    else:
        server, plan = runtime.server_for(config, port=free_port())
        server.start()
        url = plan.base_url
        assert server.pid is not None
        print(f"server: {url} ({plan.device}), start {server.started_in_s:.1f} s, RSS {rss_mib(server.pid):.0f} MiB")
    try:
        results: dict[tuple[str, int], dict[str, float]] = {}
        print(f"{'model':<16}{'conc':>5}{'tok/s':>9}{'tok/s/stream':>14}{'TTFT p50 ms':>13}{'TTFT max ms':>13}")
        for model in models:
            for concurrency in args.concurrency:
                r = asyncio.run(measure(url, model, concurrency, args.tokens, args.rounds))
                results[(model, concurrency)] = r
                print(
                    f"{model:<16}{concurrency:>5}{r['tok_s']:>9.1f}{r['per_stream_tok_s']:>14.1f}"
                    f"{r['ttft_p50_ms']:>13.0f}{r['ttft_max_ms']:>13.0f}"
                )
        base = models[0]
        for adapter in models[1:]:
            ratios = [
                f"{c}: {results[(adapter, c)]['tok_s'] / results[(base, c)]['tok_s']:.2f}" for c in args.concurrency
            ]
            print(f"adapter/base throughput ratio ({adapter}) by concurrency: {', '.join(ratios)}")
        if server is not None and server.pid is not None:
            print(f"RSS after load: {rss_mib(server.pid):.0f} MiB")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
