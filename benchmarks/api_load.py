"""HTTP API under load: concurrent multi-turn sessions against the real model server, and the API's own overhead.

N sessions (``--sessions``, default 32) run at once for ``--duration-s`` (default 300). Each session holds
conversations: it creates a thread (``POST /threads``), asks ``--turns`` questions on it one after another (the
first question and its follow-ups, English or Chinese, drawn from ``evals/datasets/metrics_qa`` through the
evals dataset loader; the language alternates by thread), then starts a new thread. Turns alternate between
``runs/wait`` and ``runs/stream`` (``--mode``). No turn starts after the deadline; turns in flight then get
``--drain-s`` to finish, and those still running are cancelled and counted as unfinished, not as errors.

At the end every thread is read back (``GET /threads/{id}/state`` and ``/history``) and checked against what its
session sent and received: a *lost turn* is an answered turn whose question and answer are missing from the
thread's messages (in order) or from its checkpoints.

Then the same sessions ask the same questions in the same order in-process through
:class:`agents.metrics.MetricsAgent` (the baseline, ``--baseline-sessions``, default the same concurrency), on the
same model server, for the same duration. The API runs first (``--baseline-first`` swaps them), so the baseline
meets a model server that has already seen every prompt (a warm prefix cache): the overhead printed is, if
anything, an upper bound. Other clients of the model server move both phases' figures; the two orders bracket it.

Prints sessions, completed turns, errors by kind, lost and unfinished turns, p50/p95/max latency per turn and
throughput for both phases, then the API/in-process latency ratio, the mean difference per turn, and the median
difference over the turns both phases completed (same session, same turn, same question).

By default the API is started in this process (uvicorn on a free port, in its own thread and event loop) on a
temporary data folder, with a key created there; the warehouse, vector index and adapters are the configured
ones. ``--api-url`` with ``--api-key`` measures a running API instead.

    .venv/bin/python benchmarks/api_load.py --quick                      # 4 sessions x 60 s, a smoke run
    .venv/bin/python benchmarks/api_load.py --llm-url http://127.0.0.1:8011/v1 --sessions 8 --duration-s 120
    .venv/bin/python benchmarks/api_load.py                              # 32 sessions x 300 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO / "evals" / "datasets" / "metrics_qa"
PROGRESS_EVERY_S = 10.0


@dataclass
class Turn:
    """One question a session asked, and how it went."""

    session: int
    number: int  # the session's turn counter: the same number is the same question in both phases
    thread: str
    question: str
    latency_s: float | None = None
    answer: str | None = None
    error: str | None = None


@dataclass
class Phase:
    """One phase's turns and clock."""

    name: str
    sessions: int
    turns: list[Turn] = field(default_factory=list)
    in_flight: dict[int, Turn] = field(default_factory=dict)
    wall_s: float = 0.0
    unfinished: int = 0
    lost: list[str] = field(default_factory=list)

    @property
    def done(self) -> list[Turn]:
        """The answered turns."""
        return [t for t in self.turns if t.answer is not None]

    @property
    def errors(self) -> Counter[str]:
        """Failed turns by kind."""
        return Counter(t.error for t in self.turns if t.error is not None)


# Questions -------------------------------------------------------------------------------------------------------


def questions_by_language() -> dict[str, list[str]]:
    """The metrics_qa questions, English and Chinese, read through the evals dataset loader."""
    from evals.dataset import load_dataset
    from evals.items import MetricsQAItem

    items = load_dataset(DATASET).items_of(MetricsQAItem)
    found: dict[str, list[str]] = {"en": [], "zh": []}
    for item in items:
        found.setdefault(item.language, []).append(item.question)
    return found


def session_plan(questions: dict[str, list[str]], session: int, turns_per_thread: int) -> Iterator[list[str]]:
    """The session's conversations, each ``turns_per_thread`` questions in one language; seeded by the session."""
    rng = random.Random(1000 + session)
    languages = ("en", "zh") if session % 2 == 0 else ("zh", "en")
    for number in range(10_000):
        pool = questions[languages[number % 2]]
        yield rng.sample(pool, min(turns_per_thread, len(pool)))


# Sessions --------------------------------------------------------------------------------------------------------

Ask = Callable[[str, str, int], Awaitable[str]]  # (thread, question, turn number) -> answer


async def run_session(
    phase: Phase,
    session: int,
    plan: Iterator[list[str]],
    *,
    new_thread: Callable[[], Awaitable[str]],
    ask: Ask,
    deadline: float,
) -> None:
    """Ask the session's conversations until the deadline; a failed thread creation ends nothing but that thread."""
    number = 0
    while time.monotonic() < deadline:
        conversation = next(plan)
        try:
            thread = await new_thread()
        except Exception as exc:  # counted like a failed turn: the session goes on
            phase.turns.append(Turn(session, number, "", "(create thread)", error=f"create thread: {kind_of(exc)}"))
            await asyncio.sleep(1)
            continue
        for question in conversation:
            if time.monotonic() >= deadline:
                return
            turn = Turn(session, number, thread, question)
            number += 1
            phase.in_flight[session] = turn
            began = time.perf_counter()
            try:
                turn.answer = await ask(thread, question, turn.number)
                turn.latency_s = time.perf_counter() - began
            except Exception as exc:
                turn.error = kind_of(exc)
            finally:
                phase.in_flight.pop(session, None)
            phase.turns.append(turn)
            if turn.error is not None:
                break  # a thread whose turn failed is left; the next conversation starts a new one


class TurnError(Exception):
    """A turn that came back without an answer; ``kind`` names how."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def kind_of(exc: BaseException) -> str:
    """A short error kind for the report."""
    if isinstance(exc, TurnError):
        return exc.kind
    if isinstance(exc, httpx.HTTPStatusError):
        return f"http {exc.response.status_code}"
    return type(exc).__name__


async def run_phase(
    phase: Phase,
    plans: Sequence[Iterator[list[str]]],
    *,
    new_thread: Callable[[], Awaitable[str]],
    ask: Ask,
    duration_s: float,
    drain_s: float,
) -> None:
    """All sessions at once for ``duration_s``, then up to ``drain_s`` for the turns in flight."""
    began = time.monotonic()
    deadline = began + duration_s
    tasks = [
        asyncio.create_task(run_session(phase, s, plans[s], new_thread=new_thread, ask=ask, deadline=deadline))
        for s in range(phase.sessions)
    ]
    reporter = asyncio.create_task(report_progress(phase, began, deadline))
    _, pending = await asyncio.wait(tasks, timeout=duration_s + drain_s)
    phase.unfinished = len(phase.in_flight)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    reporter.cancel()
    phase.wall_s = time.monotonic() - began
    print(f"[{phase.name}] finished in {phase.wall_s:.0f} s; {phase.unfinished} turns still running were cancelled")


async def report_progress(phase: Phase, began: float, deadline: float) -> None:
    """A line every few seconds: elapsed time, answered turns, errors, turns in flight."""
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        now = time.monotonic()
        state = "running" if now < deadline else "draining"
        print(
            f"[{phase.name}] {now - began:5.0f} s {state}: {len(phase.done)} answered, "
            f"{sum(phase.errors.values())} errors, {len(phase.in_flight)} in flight",
            flush=True,
        )


# The API phase ---------------------------------------------------------------------------------------------------


def parse_sse(lines: Sequence[str]) -> list[tuple[str, Any]]:
    """``(event, data)`` of Server-Sent Event lines (comments such as pings are skipped)."""
    events: list[tuple[str, Any]] = []
    event, data = None, None
    for line in [*lines, ""]:
        if not line:
            if event is not None:
                events.append((event, json.loads(data) if data else None))
            event, data = None, None
        elif line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data = line.partition(":")[2].strip()
    return events


def api_calls(http: httpx.AsyncClient, mode: str) -> tuple[Callable[[], Awaitable[str]], Ask]:
    """Thread creation and one turn over HTTP; ``mode`` is ``wait``, ``stream`` or ``mixed`` (by turn number)."""

    async def new_thread() -> str:
        response = await http.post("/threads", json={"assistant_id": "metrics"})
        response.raise_for_status()
        return str(response.json()["thread_id"])

    async def ask(thread: str, question: str, number: int) -> str:
        body = {"input": {"question": question}}
        streamed = mode == "stream" or (mode == "mixed" and number % 2 == 1)
        if not streamed:
            response = await http.post(f"/threads/{thread}/runs/wait", json=body)
            response.raise_for_status()
            return answer_of(response.json())
        async with http.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                response.raise_for_status()
            lines = [line async for line in response.aiter_lines()]
        events = parse_sse(lines)
        for event, data in events:
            if event == "error":
                raise TurnError(f"stream error {data.get('status')} {data.get('error')}")
        values = [data for event, data in events if event == "values"]
        if not values or events[-1][0] != "end":
            raise TurnError("stream ended without values")
        return answer_of(values[-1])

    return new_thread, ask


def answer_of(values: dict[str, Any]) -> str:
    """The turn's answer; an empty one is an error."""
    answer = values.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise TurnError("no answer in the values")
    return answer


async def check_threads(http: httpx.AsyncClient, phase: Phase) -> None:
    """Mark lost turns: answered turns missing from their thread's messages (in order) or checkpoints."""
    by_thread: dict[str, list[Turn]] = {}
    for turn in phase.turns:
        if turn.thread:
            by_thread.setdefault(turn.thread, []).append(turn)
    for thread, turns in by_thread.items():
        answered = [t for t in sorted(turns, key=lambda t: t.number) if t.answer is not None]
        if not answered:
            continue
        try:
            state = await http.get(f"/threads/{thread}/state")
            history = await http.get(f"/threads/{thread}/history", params={"limit": 100})
            state.raise_for_status()
            history.raise_for_status()
        except httpx.HTTPError as exc:
            phase.lost.extend(f"{thread}: reading it back failed ({kind_of(exc)})" for _ in answered)
            continue
        messages = [(m["role"], m["content"]) for m in state.json()["values"].get("messages", [])]
        checkpoints = {(c["values"].get("question"), c["values"].get("answer")) for c in history.json()}
        truncated = len(history.json()) >= 100
        position = 0
        for turn in answered:
            pair = [("user", turn.question), ("assistant", turn.answer)]
            found = next((i for i in range(position, len(messages) - 1) if messages[i : i + 2] == pair), None)
            if found is None:
                phase.lost.append(f"{thread} turn {turn.number}: not in the thread's messages")
                continue
            position = found + 2
            if not truncated and (turn.question, turn.answer) not in checkpoints:
                phase.lost.append(f"{thread} turn {turn.number}: no checkpoint holds it")


@contextlib.contextmanager
def api_in_process(config: Any, port: int) -> Iterator[str]:
    """The API on ``config`` served by uvicorn on ``port`` in its own thread and event loop; its base URL."""
    import uvicorn

    from app import runtime
    from app.api import create_app

    app = create_app(config, llm=runtime.model_client(config))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="kubeai-api", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("The API did not start; see the log above.")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


async def api_phase(url: str, secret: str, plans: Sequence[Iterator[list[str]]], args: argparse.Namespace) -> Phase:
    """The sessions over HTTP, then every thread read back."""
    phase = Phase("api", args.sessions)
    limits = httpx.Limits(max_connections=args.sessions * 2 + 4, max_keepalive_connections=args.sessions * 2 + 4)
    headers = {"Authorization": f"Bearer {secret}"}
    timeout = httpx.Timeout(args.turn_timeout_s, connect=30)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, limits=limits) as http:
        new_thread, ask = api_calls(http, args.mode)
        await run_phase(phase, plans, new_thread=new_thread, ask=ask, duration_s=args.duration_s, drain_s=args.drain_s)
        print(f"[api] reading back {len({t.thread for t in phase.turns if t.thread})} threads")
        await check_threads(http, phase)
    return phase


# The in-process baseline -----------------------------------------------------------------------------------------


async def baseline_phase(config: Any, plans: Sequence[Iterator[list[str]]], args: argparse.Namespace) -> Phase:
    """The same sessions through MetricsAgent in this process, on the same model server."""
    import uuid

    from agents.metrics import MetricsAgent
    from app import runtime

    phase = Phase("in-process", args.baseline_sessions)
    async with MetricsAgent.open(config, llm=runtime.model_client(config)) as agent:

        async def new_thread() -> str:
            return uuid.uuid4().hex

        async def ask(thread: str, question: str, _number: int) -> str:
            result = await agent.ask(question, thread_id=thread)
            if not result.answer.strip():
                raise TurnError("no answer in the values")
            return result.answer

        await run_phase(phase, plans, new_thread=new_thread, ask=ask, duration_s=args.duration_s, drain_s=args.drain_s)
    return phase


# Report ----------------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def print_phase(phase: Phase) -> None:
    """One phase's figures."""
    latencies = [t.latency_s for t in phase.done if t.latency_s is not None]
    errors = ", ".join(f"{kind} x{count}" for kind, count in phase.errors.most_common()) or "none"
    print(f"\n{phase.name}: {phase.sessions} sessions, {phase.wall_s:.0f} s")
    print(f"  completed turns   {len(phase.done)}   (threads {len({t.thread for t in phase.turns if t.thread})})")
    print(f"  errors            {sum(phase.errors.values())}   ({errors})")
    print(f"  unfinished        {phase.unfinished}   (still running after the drain; cancelled, not errors)")
    if phase.name == "api":
        print(f"  lost turns        {len(phase.lost)}")
        for line in phase.lost[:10]:
            print(f"    {line}")
    print(
        f"  latency per turn  p50 {percentile(latencies, 0.5):.2f} s   p95 {percentile(latencies, 0.95):.2f} s   "
        f"max {max(latencies, default=float('nan')):.2f} s   mean {statistics.fmean(latencies or [float('nan')]):.2f} s"
    )
    print(f"  throughput        {len(phase.done) / phase.wall_s * 60:.1f} turns/min")


def print_overhead(api: Phase, base: Phase, *, baseline_first: bool) -> None:
    """The API against the in-process baseline: latency ratio, mean difference, paired median difference."""
    a = [t.latency_s for t in api.done if t.latency_s is not None]
    b = [t.latency_s for t in base.done if t.latency_s is not None]
    if not a or not b:
        print("\noverhead: not measured (a phase completed no turn)")
        return
    by_key = {(t.session, t.number): t for t in base.done}
    paired = [
        t.latency_s - by_key[(t.session, t.number)].latency_s  # type: ignore[operator]
        for t in api.done
        if (t.session, t.number) in by_key
    ]
    ratio_p50 = percentile(a, 0.5) / percentile(b, 0.5)
    ratio_mean = statistics.fmean(a) / statistics.fmean(b)
    order = "in-process first, then the API" if baseline_first else "the API first, then in-process"
    print(f"\nAPI overhead against MetricsAgent in-process (same model server, same questions, {order}):")
    print(f"  latency ratio     p50 {ratio_p50:.3f}   mean {ratio_mean:.3f}   (api / in-process)")
    print(f"  per turn          mean {statistics.fmean(a) - statistics.fmean(b):+.3f} s (api - in-process)")
    if paired:
        print(f"  paired turns      {len(paired)}: median difference {statistics.median(paired):+.3f} s")
    print(f"  throughput ratio  {(len(api.done) / api.wall_s) / (len(base.done) / base.wall_s):.3f}")


def print_traced_overhead(traces: Path) -> None:
    """The API's own time per run from its traces: each request span less the agent run span inside it.

    The latency comparison above is at the mercy of the shared model server (a turn takes minutes and its
    queue moves with everything else on the machine); the spans time the same turns from inside the server, so
    what is left is the API alone: routing, auth, the thread registry, serialization and the stream.
    """
    from app.trace_store import TraceStore

    store = TraceStore(traces)
    gaps: list[float] = []
    shares: list[float] = []
    for summary in store.recent(limit=1_000_000):
        spans = store.spans(summary.trace_id)
        request = next((s for s in spans if s.span_type == "request"), None)
        if request is None:
            continue
        runs = [s for s in spans if s.span_type == "run" and s.parent_id == request.span_id]
        if not runs or request.seconds <= 0:
            continue
        gap = max(request.seconds - sum(r.seconds for r in runs), 0.0)
        gaps.append(gap)
        shares.append(gap / request.seconds)
    if not gaps:
        print("\nAPI's own time: not measured (no traced run; is observability.traces_store off?)")
        return
    print(f"\nAPI's own time per run, from {len(gaps)} traced runs (request span less the agent's run span):")
    print(
        f"  p50 {percentile(gaps, 0.5) * 1000:.1f} ms   p95 {percentile(gaps, 0.95) * 1000:.1f} ms   "
        f"max {max(gaps) * 1000:.1f} ms   share of the request p50 {percentile(shares, 0.5):.4%}"
    )


# Setup -----------------------------------------------------------------------------------------------------------


def bench_config(args: argparse.Namespace, data_dir: Path) -> Any:
    """The project configuration on a temporary data folder, with the configured warehouse, index and adapters."""
    from app.cli.demo import ensure_demo_warehouse
    from kubeai.config import load_config

    config = load_config(args.config) if args.config else load_config()
    llm = config.llm.model_copy(
        update={
            "base_url": args.llm_url or config.llm.base_url,
            "timeout_s": max(config.llm.timeout_s, args.turn_timeout_s),
        }
    )
    config = config.model_copy(update={"llm": llm})
    ensure_demo_warehouse(config)
    url = config.warehouse.url
    if url is not None and "://" not in url:
        url = str(Path(url.removeprefix("duckdb:")).resolve())
    vectors = config.vector_store.model_copy(
        update={"path": (config.vector_store.path or config.data_dir / "vectors.sqlite").resolve()}
    )
    adapters = (config.data_dir / "adapters").resolve()
    if adapters.exists():
        (data_dir / "adapters").symlink_to(adapters, target_is_directory=True)
    return config.model_copy(
        update={
            "data_dir": data_dir,
            "warehouse": config.warehouse.model_copy(update={"url": url}),
            "vector_store": vectors,
        }
    )


def free_port() -> int:
    """A free local port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def model_server_answers(config: Any) -> None:
    """Stop with one sentence when no model server answers at ``llm.base_url``."""
    from app import runtime
    from kubeai.errors import KubeAIError

    try:
        await runtime.model_client(config).models()
    except KubeAIError as exc:
        raise SystemExit(f"No model server answers at {config.llm.base_url}: {exc}") from None


def main(argv: Sequence[str] | None = None) -> None:
    """Run both phases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--turns", type=int, default=3, help="questions per thread before a new thread")
    parser.add_argument("--mode", choices=("wait", "stream", "mixed"), default="mixed")
    parser.add_argument("--baseline-sessions", type=int, default=None, help="default: --sessions")
    parser.add_argument("--no-baseline", action="store_true", help="skip the in-process baseline")
    parser.add_argument(
        "--baseline-first", action="store_true", help="run the in-process baseline before the API (default: after)"
    )
    parser.add_argument("--drain-s", type=float, default=None, help="default: --turn-timeout-s")
    parser.add_argument("--turn-timeout-s", type=float, default=900.0)
    parser.add_argument("--llm-url", default=None, help="the model server (default: the config's llm.base_url)")
    parser.add_argument("--api-url", default=None, help="a running API to measure (needs --api-key)")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--config", type=Path, default=None, help="kubeai.yaml (default: the usual lookup)")
    parser.add_argument("--quick", action="store_true", help="4 sessions x 60 s: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.duration_s = 4, 60.0
    args.baseline_sessions = args.baseline_sessions or args.sessions
    args.drain_s = args.turn_timeout_s if args.drain_s is None else args.drain_s
    if args.api_url and not args.api_key:
        parser.error("--api-url needs --api-key (a key of that API's `kubeai keys create`)")
    asyncio.run(run(args))


async def run(args: argparse.Namespace) -> None:
    """Both phases on a temporary data folder."""
    from app.keys import KeyStore

    questions = questions_by_language()
    print(
        f"metrics_qa: {len(questions['en'])} English and {len(questions['zh'])} Chinese questions; "
        f"{args.sessions} sessions x {args.duration_s:.0f} s, {args.turns} turns per thread, mode {args.mode}"
    )
    with tempfile.TemporaryDirectory(prefix="kubeai-api-load-") as tmp:
        config = bench_config(args, Path(tmp))
        await model_server_answers(config)
        print(f"model server {config.llm.base_url}; data folder {tmp}")
        if args.api_url:
            secret = args.api_key
            serving: contextlib.AbstractContextManager[str] = contextlib.nullcontext(args.api_url.rstrip("/"))
        else:
            secret = KeyStore.in_data_dir(config.data_dir).create("api-load")[1]
            serving = api_in_process(config, free_port())
        base = None
        if args.baseline_first and not args.no_baseline:
            base = await baseline_phase(config, make_plans(questions, args.baseline_sessions, args.turns), args)
        with serving as url:
            print(f"API at {url}")
            api = await api_phase(url, secret, make_plans(questions, args.sessions, args.turns), args)
        if base is None and not args.no_baseline:
            base = await baseline_phase(config, make_plans(questions, args.baseline_sessions, args.turns), args)
        print_phase(api)
        if base is not None:
            print_phase(base)
            print_overhead(api, base, baseline_first=args.baseline_first)
        if not args.api_url:  # the API served here wrote its traces into the temporary data folder
            print_traced_overhead(config.data_dir / "traces.sqlite")
    bar = "PASS" if not api.errors and not api.lost else "MISS"
    print(f"\nbar (0 errors, 0 lost turns): {bar}")


def make_plans(questions: dict[str, list[str]], sessions: int, turns: int) -> list[Iterator[list[str]]]:
    """One seeded conversation plan per session."""
    return [session_plan(questions, s, turns) for s in range(sessions)]


if __name__ == "__main__":
    main()
