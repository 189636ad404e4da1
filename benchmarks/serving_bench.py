"""Serving benchmark: start time, memory, time to first token and tokens/s for the base model and an adapter.

Starts a real vLLM server from kubeai.yaml on a free port (or measures the one at --url), then for the base
model and each adapter runs 1, 4 and 8 concurrent streaming requests of a fixed number of output tokens and
prints throughput, time to first token, and the adapter/base ratio measured in the same run.

    .venv/bin/python benchmarks/serving_bench.py [--tokens 128] [--rounds 2] [--url http://127.0.0.1:8000/v1]

``--options`` compares ways of serving one adapter instead, one fresh server per option, each measuring the base
model and the adapter in the same server (so every ratio has its own baseline), e.g. the comparison in
docs/serving-benchmark.md::

    .venv/bin/python benchmarks/serving_bench.py --tokens 64 --rounds 1 --concurrency 1 4 \\
        --options current exact-rank targets grouped-ops grouped-ops+targets layer-targets merged

An option is ``current`` (the configured ``serving`` section) or features joined by ``+`` (see ``FEATURES``).
Every option but ``merged`` loads the adapter into the running server through ``/v1/load_lora_adapter``, the way
a promotion loads one, so each figure is for a hot-loaded adapter. Each option
also checks two things with greedy 24-token answers: that the base model answers the same alone and when
batched next to an adapter request, and that the adapter answers as it does under ``current``.

(Not named serving.py: a script's folder comes first on sys.path, so that name would shadow the serving package
for every benchmark script.)

This module is also the vLLM plugin of the ``grouped-ops`` option (``grouped_lora_ops``), imported inside the
server's processes, so its top-level imports stay light: the project's packages are imported where used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openai

if TYPE_CHECKING:
    from kubeai.config import ProjectConfig, ServingConfig
    from serving.launcher import LaunchPlan

REPO = Path(__file__).resolve().parents[1]
PROMPTS = (
    "Explain what gross merchandise value means for an online shop.",
    "Describe how to compare monthly sales between two regions.",
    "解释一下退款率的含义和计算方法。",
    "List three reasons why average order value might fall.",
)
CHECK_TOKENS = 24

FEATURES = {
    "exact-rank": "max_lora_rank = the adapter's rank, max_loras 1",
    "targets": "--lora-target-modules = the adapter's module kinds (no LoRA on embed_tokens and lm_head)",
    "layer-targets": "--lora-target-modules = the adapter's modules in its layers only (NOT safe for other adapters)",
    "grouped-ops": "vLLM plugin: one matmul per run of same-adapter tokens instead of a per-token weight gather",
    "merged": "peft merge_and_unload() into the base, served as its own model (NOT hot-swappable)",
}

# vLLM's packed Llama modules, by the PEFT module names they hold (for full-name --lora-target-modules).
_LLAMA_PACKED = {
    "q_proj": "self_attn.qkv_proj",
    "k_proj": "self_attn.qkv_proj",
    "v_proj": "self_attn.qkv_proj",
    "o_proj": "self_attn.o_proj",
    "gate_proj": "mlp.gate_up_proj",
    "up_proj": "mlp.gate_up_proj",
    "down_proj": "mlp.down_proj",
}
_PLUGIN_GROUP = "vllm.general_plugins"
_PLUGIN_MARKER = "kubeai-bench: grouped LoRA ops active"


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


HEADER = f"{'model':<22}{'conc':>5}{'tok/s':>9}{'tok/s/stream':>14}{'TTFT p50 ms':>13}{'TTFT max ms':>13}"


def measure_models(
    url: str, models: dict[str, str], args: argparse.Namespace
) -> dict[tuple[str, int], dict[str, float]]:
    """Measure each ``label: served name`` at every concurrency level, printing one row per measurement."""
    results: dict[tuple[str, int], dict[str, float]] = {}
    for label, model in models.items():
        for concurrency in args.concurrency:
            r = asyncio.run(measure(url, model, concurrency, args.tokens, args.rounds))
            results[(label, concurrency)] = r
            print(
                f"{label:<22}{concurrency:>5}{r['tok_s']:>9.1f}{r['per_stream_tok_s']:>14.1f}"
                f"{r['ttft_p50_ms']:>13.0f}{r['ttft_max_ms']:>13.0f}",
                flush=True,
            )
    return results


def run_configured(args: argparse.Namespace) -> None:
    """The default run: the configured server, the base model and every configured adapter."""
    from app import runtime
    from kubeai.config import load_config
    from serving.launcher import free_port

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
        print(HEADER)
        results = measure_models(url, {m: m for m in models}, args)
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


# --- --options: ways of serving one adapter, each against the base model in the same server -----------------------


@dataclass(frozen=True, kw_only=True)
class Adapter:
    """The adapter under test, as its PEFT config describes it."""

    name: str
    path: Path
    rank: int
    modules: tuple[str, ...]
    layers: tuple[int, ...] | None

    @classmethod
    def read(cls, path: Path) -> Adapter:
        from kubeai.errors import ServingError
        from serving.registry import read_adapter_rank

        rank = read_adapter_rank(path, name=path.name)
        data = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
        modules = data.get("target_modules")
        if not isinstance(modules, list) or not modules:
            raise ServingError(f"{path}: target_modules is {modules!r}; the benchmark needs an explicit module list.")
        layers = data.get("layers_to_transform")
        return cls(
            name=path.name,
            path=path,
            rank=rank,
            modules=tuple(sorted(modules)),
            layers=tuple(layers) if isinstance(layers, list) else ((layers,) if isinstance(layers, int) else None),
        )

    def layer_module_names(self, num_layers: int) -> tuple[str, ...]:
        """vLLM's full module names of the (packed) modules this adapter changes."""
        unknown = sorted(set(self.modules) - set(_LLAMA_PACKED))
        if unknown:
            raise SystemExit(f"layer-targets knows the Llama module names only, not {unknown}.")
        layers = self.layers if self.layers is not None else tuple(range(num_layers))
        packed = sorted({_LLAMA_PACKED[m] for m in self.modules})
        return tuple(f"model.layers.{i}.{p}" for i in layers for p in packed)


@dataclass
class OptionRun:
    """What one option measured: rows by (label, concurrency) and the checks."""

    option: str
    results: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    start_s: float = 0.0
    load_ms: float | None = None
    base_alone: str = ""
    base_mixed: str = ""
    adapter_alone: str = ""
    note: str = ""


def parse_option(option: str) -> frozenset[str]:
    if option == "current":
        return frozenset()
    features = frozenset(option.split("+"))
    unknown = sorted(features - set(FEATURES))
    if unknown:
        raise SystemExit(f"unknown option feature(s) {unknown}; use current or {', '.join(FEATURES)} joined by +")
    if "merged" in features and len(features) > 1:
        raise SystemExit("merged is measured on its own (it serves no adapter)")
    return features


def option_serving(features: frozenset[str], serving: ServingConfig, adapter: Adapter, base_dir: Path) -> ServingConfig:
    """The ``serving`` section an option runs with."""
    update: dict[str, Any] = {}
    extra = list(serving.extra_args)
    if "exact-rank" in features:
        allowed = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # vLLM's accepted ranks (ServingConfig.max_lora_rank)
        update["max_lora_rank"] = min(r for r in allowed if r >= adapter.rank)
        update["max_loras"] = 1
    if "targets" in features:
        extra += ["--lora-target-modules", *adapter.modules]
    if "layer-targets" in features:
        layers = int(json.loads((base_dir / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"])
        extra += ["--lora-target-modules", *adapter.layer_module_names(layers)]
    update["extra_args"] = tuple(extra)
    return serving.model_copy(update=update)


def base_only(config: ProjectConfig, *, source: str | None = None, name: str | None = None) -> ProjectConfig:
    """The configuration with the base model only (or another model directory in its place), no adapters."""
    from kubeai.config import ModelRegistryConfig

    base = config.models.base.model_copy(
        update={"source": source or config.models.base.source, "name": name or config.models.base.name}
    )
    return config.model_copy(update={"models": ModelRegistryConfig(base=base)})


@contextlib.contextmanager
def grouped_ops_env(plan: LaunchPlan) -> Iterator[LaunchPlan]:
    """The plan with this module registered as a vLLM general plugin for the server's processes."""
    with tempfile.TemporaryDirectory(prefix="kubeai-bench-plugin-") as folder:
        info = Path(folder) / "kubeai_bench_lora_ops-0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kubeai-bench-lora-ops\nVersion: 0\n")
        (info / "entry_points.txt").write_text(
            f"[{_PLUGIN_GROUP}]\nkubeai_grouped_lora_ops = {Path(__file__).stem}:grouped_lora_ops\n"
        )
        path = os.pathsep.join(p for p in (folder, str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p)
        yield replace(plan, env={**plan.env, "PYTHONPATH": path})


async def greedy(url: str, model: str, prompt: str) -> str:
    client = openai.AsyncOpenAI(base_url=url, api_key="EMPTY", timeout=600)
    try:
        reply = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=CHECK_TOKENS,
            temperature=0.0,
        )
    finally:
        await client.close()
    return reply.choices[0].message.content or ""


async def checks(url: str, base: str, adapter: str) -> tuple[str, str, str]:
    """Greedy answers: the base alone, the base batched next to an adapter request, the adapter alone."""
    prompt = PROMPTS[1]
    base_alone = await greedy(url, base, prompt)
    adapter_alone = await greedy(url, adapter, prompt)
    base_mixed, _ = await asyncio.gather(greedy(url, base, prompt), greedy(url, adapter, prompt))
    return base_alone, base_mixed, adapter_alone


def start(plan: LaunchPlan, log: Path, features: frozenset[str]) -> Any:
    from serving.launcher import VLLMServer

    server = VLLMServer(plan, log_path=log)
    server.start()
    # Once in the API server and once in the engine core, which runs the model.
    loaded = log.read_text(encoding="utf-8", errors="replace").count(_PLUGIN_MARKER)
    if "grouped-ops" in features and loaded < 2:
        server.stop()
        raise SystemExit(f"the grouped-ops plugin loaded in {loaded} of the server's 2 processes; read {log}")
    return server


def run_option(
    option: str, config: ProjectConfig, adapter: Adapter, base_dir: Path, args: argparse.Namespace
) -> OptionRun:
    from app import runtime
    from serving.launcher import free_port, plan_launch

    features = parse_option(option)
    run = OptionRun(option=option)
    logs = config.data_dir / "logs"
    print(f"\n== {option}: {', '.join(FEATURES[f] for f in sorted(features)) or 'the configured serving section'}")
    if "merged" in features:
        return run_merged(run, config, adapter, base_dir, args)
    serving = option_serving(features, config.serving, adapter, base_dir)
    plain = base_only(config)
    plan = plan_launch(serving, runtime.model_registry(plain), base_dir, port=free_port())
    print("argv:", " ".join(plan.argv[3:]))
    with contextlib.ExitStack() as stack:
        if "grouped-ops" in features:
            plan = stack.enter_context(grouped_ops_env(plan))
        server = start(plan, logs / f"vllm-bench-{option}.log", features)
        stack.callback(server.stop)
        run.start_s = server.started_in_s or 0.0
        client = runtime.model_client(plain, base_url=plan.base_url)
        began = time.perf_counter()
        asyncio.run(client.load_adapter(adapter.name, adapter.path))
        run.load_ms = 1000 * (time.perf_counter() - began)
        print(f"start {run.start_s:.1f} s, hot-loaded {adapter.name} in {run.load_ms:.0f} ms")
        print(HEADER)
        run.results = measure_models(plan.base_url, {"base": plain.models.base.name, "adapter": adapter.name}, args)
        run.base_alone, run.base_mixed, run.adapter_alone = asyncio.run(
            checks(plan.base_url, plain.models.base.name, adapter.name)
        )
    return run


def run_merged(
    run: OptionRun, config: ProjectConfig, adapter: Adapter, base_dir: Path, args: argparse.Namespace
) -> OptionRun:
    """The base on the configured server, then the merged model on a second server of the same settings."""
    from app import runtime
    from serving.launcher import free_port, plan_launch

    logs = config.data_dir / "logs"
    plain = base_only(config)
    plan = plan_launch(config.serving, runtime.model_registry(plain), base_dir, port=free_port())
    server = start(plan, logs / "vllm-bench-merged-base.log", frozenset())
    try:
        print(HEADER)
        run.results = measure_models(plan.base_url, {"base": plain.models.base.name}, args)
        run.base_alone = asyncio.run(greedy(plan.base_url, plain.models.base.name, PROMPTS[1]))
    finally:
        server.stop()
    with tempfile.TemporaryDirectory(prefix="merged-", dir=config.data_dir) as folder:
        began = time.perf_counter()
        merged_dir = merge_adapter(base_dir, adapter.path, Path(folder))
        print(f"merged {adapter.name} into the base in {time.perf_counter() - began:.1f} s")
        merged = base_only(config, source=str(merged_dir), name=f"{adapter.name}-merged")
        plan = plan_launch(config.serving, runtime.model_registry(merged), merged_dir, port=free_port())
        server = start(plan, logs / "vllm-bench-merged.log", frozenset())
        try:
            run.start_s = server.started_in_s or 0.0
            print(HEADER)
            run.results |= measure_models(plan.base_url, {"adapter": merged.models.base.name}, args)
            run.adapter_alone = asyncio.run(greedy(plan.base_url, merged.models.base.name, PROMPTS[1]))
        finally:
            server.stop()
    run.base_mixed = run.base_alone
    run.note = "two servers: base, then the merged model"
    return run


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path) -> Path:
    """``merge_and_unload()`` the adapter into a float32 copy of the base, saved as a Hugging Face directory."""
    import peft
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    merged = peft.PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    merged.save_pretrained(out_dir)
    for name in (
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "chat_template.jinja",
        "generation_config.json",
    ):
        if (base_dir / name).is_file():
            shutil.copy2(base_dir / name, out_dir / name)
    return out_dir


def summarize(runs: list[OptionRun], adapter: Adapter, concurrency: list[int]) -> None:
    reference = next((r.adapter_alone for r in runs if r.option == "current"), None)
    print(
        f"\nadapter {adapter.name}: rank {adapter.rank}, modules {','.join(adapter.modules)}, layers "
        f"{'all' if adapter.layers is None else f'{adapter.layers[0]}-{adapter.layers[-1]}'}"
    )
    print(f"{'option':<24}{'conc':>5}{'base tok/s':>12}{'adapter tok/s':>15}{'ratio':>7}{'TTFT base/adapter ms':>22}")
    for run in runs:
        for c in concurrency:
            base, adapted = run.results[("base", c)], run.results[("adapter", c)]
            print(
                f"{run.option:<24}{c:>5}{base['tok_s']:>12.1f}{adapted['tok_s']:>15.1f}"
                f"{adapted['tok_s'] / base['tok_s']:>7.2f}"
                f"{base['ttft_p50_ms']:>11.0f}/{adapted['ttft_p50_ms']:<10.0f}"
            )
    print(f"\n{'option':<24}{'start s':>8}{'hot-load ms':>13}  base batched with adapter   adapter answer = current's")
    for run in runs:
        if run.base_mixed == run.base_alone:
            mixed = "same as alone"
        elif run.base_mixed == run.adapter_alone:
            mixed = "CHANGED: the adapter's answer"
        else:
            mixed = "changed"
        same = "-" if reference is None else ("yes" if run.adapter_alone == reference else "NO")
        load = "-" if run.load_ms is None else f"{run.load_ms:.0f}"
        print(f"{run.option:<24}{run.start_s:>8.1f}{load:>13}  {mixed:<27}{same}  {run.note}")
    for run in runs:
        print(f"  {run.option}: adapter says {run.adapter_alone[:70]!r}")


def run_options(args: argparse.Namespace) -> None:
    from kubeai.config import load_config
    from serving.bundled import resolve_source

    config = load_config(REPO / "kubeai.yaml")
    if args.adapter:
        path = Path(args.adapter)
    elif (config.data_dir / "adapters" / "exp1" / "adapter_config.json").is_file():
        path = config.data_dir / "adapters" / "exp1"
    else:
        path = next(a.path for a in config.models.adapters)
    adapter = Adapter.read(path.resolve())
    base_dir = resolve_source(config.models.base.source, config.data_dir / "models")
    runs = [run_option(option, config, adapter, base_dir, args) for option in args.options]
    summarize(runs, adapter, args.concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=128, help="output tokens per request")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--url", help="measure an already running server instead of starting one")
    parser.add_argument(
        "--options",
        nargs="+",
        metavar="OPTION",
        help=f"compare ways of serving one adapter: current, or features joined by + ({', '.join(FEATURES)})",
    )
    parser.add_argument(
        "--adapter",
        help="with --options: the adapter folder (default .kubeai/adapters/exp1, else "
        "the first adapter of kubeai.yaml)",
    )
    args = parser.parse_args()
    if args.options:
        if args.url:
            parser.error("--options starts its own servers; leave out --url")
        for option in args.options:
            parse_option(option)
        run_options(args)
    else:
        run_configured(args)


# --- the grouped-ops plugin (runs inside vLLM's processes) ----------------------------------------------------------
# The method signatures below are vLLM's PunicaWrapperCPU ones, called positionally by vLLM (hence noqa PLR0917).


def grouped_lora_ops() -> None:
    """vLLM general plugin: replace the CPU punica ops with one matmul per run of tokens of one adapter.

    vLLM's CPU LoRA path (``vllm/lora/ops/torch_ops``) gathers each token's adapter weights into a
    ``[tokens, out, rank]`` copy and multiplies with ``einsum``, on every LoRA-wrapped layer; a token without an
    adapter (index -1) gathers the last adapter slot (vLLM PRs #48421, #49656, open). Here the token runs are
    computed once per step, each run is one ``matmul`` against its slot's weights, and runs without an adapter
    are skipped. Loaded in every vLLM process; patching twice is harmless.
    """
    from vllm.lora.punica_wrapper.punica_cpu import PunicaWrapperCPU

    patched: Any = PunicaWrapperCPU
    if getattr(patched, "_kubeai_grouped", False):
        return
    patched.update_metadata = _update_metadata
    patched._shrink_prefill = patched._shrink_decode = _shrink
    patched._expand_prefill = patched._expand_decode = _expand
    patched._expand_slice_prefill = patched._expand_slice_decode = _expand_slice
    patched.add_lora_logits = _add_lora_logits
    patched._kubeai_grouped = True
    print(f"{_PLUGIN_MARKER} (pid {os.getpid()})", file=sys.stderr, flush=True)


def _runs(indices: list[int]) -> tuple[tuple[int, int, int], ...]:
    """``(begin, end, slot)`` of each run of consecutive rows that use one adapter slot; rows of -1 are left out."""
    found: list[tuple[int, int, int]] = []
    begin = 0
    for i in range(1, len(indices) + 1):
        if i == len(indices) or indices[i] != indices[begin]:
            if indices[begin] >= 0:
                found.append((begin, i, indices[begin]))
            begin = i
    return tuple(found)


def _slot(weights: Any, index: int) -> Any:
    """One slot's 2-D weight matrix from vLLM's ``[slots, 1, out, in]`` (or ``[slots, out, in]``) stack."""
    matrix = weights[index]
    return matrix[0] if matrix.dim() == 3 else matrix


def _update_metadata(self: Any, *args: Any, **kwargs: Any) -> None:
    from vllm.lora.punica_wrapper.punica_base import PunicaWrapperBase

    PunicaWrapperBase.update_metadata(self, *args, **kwargs)
    self._kubeai_token_runs = _runs(self.token_lora_indices.tolist())
    self._kubeai_sampler_runs = _runs(self.sampler_indices.tolist())


def _shrink(self: Any, y: Any, x: Any, w_t_all: Any, scale: float) -> None:
    for begin, end, index in getattr(self, "_kubeai_token_runs", ()):
        weight = _slot(w_t_all, index)
        y[begin:end].copy_(x[begin:end].to(weight.dtype) @ weight.t())
        if scale != 1.0:
            y[begin:end].mul_(scale)


def _expand(self: Any, y: Any, x: Any, w_t_all: Any, add_inputs: bool) -> None:
    for begin, end, index in getattr(self, "_kubeai_token_runs", ()):
        weight = _slot(w_t_all, index)
        product = x[begin:end].to(weight.dtype) @ weight.t()
        width = min(product.shape[1], y.shape[1])
        target = y[begin:end, :width]
        if add_inputs:
            target.add_(product[:, :width].to(y.dtype))
        else:
            target.copy_(product[:, :width])


def _expand_slice(  # noqa: PLR0917
    self: Any, y: Any, x: Any, w_t_all: Any, y_offset: int, y_slice_size: int, add_inputs: bool
) -> None:
    for begin, end, index in getattr(self, "_kubeai_token_runs", ()):
        weight = _slot(w_t_all, index)
        product = x[begin:end].to(weight.dtype) @ weight.t()
        target = y[begin:end, y_offset : y_offset + y_slice_size]
        if add_inputs:
            target.add_(product.to(y.dtype))
        else:
            target.copy_(product)


def _add_lora_logits(  # noqa: PLR0917
    self: Any, y: Any, x: Any, lora_a_stacked: Any, lora_b_stacked: Any, scale: float, **kwargs: Any
) -> None:
    rows_y = y.view(-1, y.shape[-1])
    rows_x = x.view(-1, x.shape[-1])
    for begin, end, index in getattr(self, "_kubeai_sampler_runs", ()):
        a, b = _slot(lora_a_stacked, index), _slot(lora_b_stacked, index)
        product = ((rows_x[begin:end].to(a.dtype) @ a.t()) * scale) @ b.t()
        width = min(product.shape[1], rows_y.shape[1])
        rows_y[begin:end, :width].add_(product[:, :width].to(y.dtype))


if __name__ == "__main__":
    main()
