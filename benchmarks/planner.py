"""Planner scheduling: wall time of the real task-decomposition graph against the critical path of its plan.

Synthetic plans with known task latencies run through :class:`agents.planner.PlannerAgent` with the plan given
(no planning model): validate -> select -> LangGraph fan-out of every task at once, each task waiting on the
:class:`graphs.planner.TaskBoard` for its own dependencies -> respond. The tasks are one synthetic tool, ``sleep``,
registered in a :class:`tools.registry.ToolRegistry`, that awaits ``asyncio.sleep`` for the milliseconds in its
arguments (``{"ms": 120}``). The respond step asks a fake chat model that answers at once. Shapes: a chain, a wide
fan-out/fan-in, a diamond, two staggered chains (long and short steps alternating out of phase) and seeded random
layered DAGs of 6-16 tasks with latencies of 50-400 ms.

Per shape and overall it prints the critical path (:func:`graphs.planner.critical_path` over the known
latencies: the least wall time any schedule can reach), the sequential sum, and the graph's wall time: the whole
``PlannerAgent.run`` less its respond step (``resp``, shown beside it: with a real model that step is the
model's answer, not scheduling), so from the request to the last task's result joined in the graph. ``exec`` is
the task board's span, from its opening to the last task's end. Then wall/critical path against the goal of at
most 1.15 (PASS/MISS), wall/sequential sum, and the graph's overhead per task, (wall - critical path) / tasks.

Two baselines run the same tool calls (``ToolRegistry.run``) on the same DAGs in the same process: *sequential*
(one task at a time in topological order) and *level-sync* (each topological level with ``asyncio.gather``, the
next level once the whole level has finished: a naive superstep-per-level executor). The gap between level-sync
and the graph is what starting a task the moment its own inputs are ready buys. Ratios over several DAGs are
ratios of summed times. Under 2 minutes with the defaults.

Run: ``.venv/bin/python benchmarks/planner.py [--dags 20] [--seed 7] [--scale 1.0]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import InjectedToolArg, StructuredTool
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from agents.planner import PlannerAgent
from graphs.planner import Context, DemoBank, PlannedTask, critical_path
from graphs.planner.plan import topological_order
from kubeai.config import LLMConfig, ModelRegistryConfig
from serving.client import ModelClient
from serving.registry import ModelRegistry
from tools.registry import TaskInputs, TaskOutput, ToolRegistry

GOAL = 1.15
"""The most the graph's wall time may be over the critical path."""

TOOL = "sleep"
REQUEST = "Run the synthetic task graph."


class _SleepArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    ms: int = Field(ge=0, le=600_000, description="How long the task takes, in milliseconds.")
    inputs: Annotated[SkipValidation[TaskInputs], InjectedToolArg] = TaskInputs()


def sleep_tool() -> StructuredTool:
    """A task that takes as long as its arguments say."""

    async def run(ms: int, inputs: TaskInputs) -> TaskOutput:
        await asyncio.sleep(ms / 1000)
        return TaskOutput(text=f"{inputs.task_id} slept {ms} ms after {', '.join(inputs.results) or 'nothing'}")

    return StructuredTool.from_function(
        coroutine=run,
        name=TOOL,
        description="Wait for the given milliseconds. Synthetic benchmark task.",
        args_schema=_SleepArgs,
        metadata={"task_type": "calculate", "references": (), "needs_model": False},
    )


@dataclass(frozen=True, kw_only=True)
class Dag:
    """A synthetic plan: task ids with their latencies (ms) and dependencies."""

    shape: str
    ms: dict[str, int]
    deps: dict[str, tuple[str, ...]]

    def plan(self) -> list[dict[str, Any]]:
        return [{"id": i, "tool": TOOL, "args": {"ms": ms}, "dep": list(self.deps[i])} for i, ms in self.ms.items()]

    def tasks(self) -> list[PlannedTask]:
        return [
            PlannedTask(id=i, tool=TOOL, type="calculate", args={"ms": ms}, depends_on=self.deps[i])
            for i, ms in self.ms.items()
        ]

    def critical_s(self) -> float:
        return critical_path(self.tasks(), {i: ms / 1000 for i, ms in self.ms.items()})

    def sum_s(self) -> float:
        return sum(self.ms.values()) / 1000


def _dag(shape: str, latencies: Sequence[int], deps: Sequence[Sequence[int]], scale: float) -> Dag:
    """Tasks t1..tN; ``deps[k]`` lists the numbers of the tasks that task k+1 needs."""
    ids = [f"t{n + 1}" for n in range(len(latencies))]
    return Dag(
        shape=shape,
        ms={i: round(ms * scale) for i, ms in zip(ids, latencies, strict=True)},
        deps={i: tuple(f"t{d}" for d in need) for i, need in zip(ids, deps, strict=True)},
    )


def fixed_dags(scale: float) -> list[Dag]:
    chain = [120, 80, 200, 60, 150, 90, 180, 70]
    fan = [60, *(50 + 25 * k for k in range(12)), 80]  # t1 -> t2..t13 (50-325 ms) -> t14
    staggered = [300, 50, 300, 50, 300, 50, 300, 50, 300, 50]  # t1..t5 and t6..t10, out of phase
    return [
        _dag("chain", chain, [[], *([k] for k in range(1, len(chain)))], scale),
        _dag("fan-out/fan-in", fan, [[], *([1] for _ in range(12)), list(range(2, 14))], scale),
        _dag("diamond", [100, 300, 60, 100], [[], [1], [1], [2, 3]], scale),
        _dag("staggered chains", staggered, [[], [1], [2], [3], [4], [], [6], [7], [8], [9]], scale),
    ]


def random_dag(rng: random.Random, scale: float) -> Dag:
    """6-16 tasks in 2-5 layers; a task past the first layer needs 1-3 earlier tasks, one in the layer before."""
    size = rng.randint(6, 16)
    depth = rng.randint(2, min(5, size))
    cuts = sorted(rng.sample(range(1, size), depth - 1))
    bounds = list(zip([0, *cuts], [*cuts, size], strict=True))
    deps: list[list[int]] = []
    for layer, (start, end) in enumerate(bounds):
        for _ in range(start, end):
            if layer == 0:
                deps.append([])
                continue
            before = range(bounds[layer - 1][0] + 1, bounds[layer - 1][1] + 1)
            earlier = range(1, start + 1)
            extra = rng.sample(earlier, min(len(earlier), rng.randint(0, 2)))
            deps.append(sorted({rng.choice(before), *extra}))
    latencies = [rng.randint(50, 400) for _ in range(size)]
    return _dag("random layered", latencies, deps, scale)


def instant_client() -> ModelClient:
    """A model client whose every answer is an immediate, valid response citing t1."""
    reply = json.dumps({"answer": "All tasks finished [t1].", "sources": ["t1"]})
    chat = GenericFakeChatModel(messages=itertools.repeat(AIMessage(content=reply)))
    return ModelClient(LLMConfig(), default_model=ModelRegistryConfig().base.name, chat_factory=lambda _name: chat)


@dataclass(kw_only=True)
class Row:
    """Figures summed over the DAGs of one shape, in seconds."""

    dags: int = 0
    tasks: int = 0
    critical: float = 0.0
    total: float = 0.0
    run: float = 0.0
    respond: float = 0.0
    execute: float = 0.0
    level: float = 0.0
    sequential: float = 0.0
    peak: int = 0

    @property
    def wall(self) -> float:
        """The graph's run less its respond step: from the request to the last result joined."""
        return self.run - self.respond

    def add(self, other: Row) -> None:
        for name in ("dags", "tasks", "critical", "total", "run", "respond", "execute", "level", "sequential"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.peak = max(self.peak, other.peak)


async def graph_run(agent: PlannerAgent, dag: Dag) -> Row:
    """The plan through the planner graph: whole run, respond step, task board span, peak parallel tasks."""
    began = time.perf_counter()
    run = await agent.run(REQUEST, plan=dag.plan())
    elapsed = time.perf_counter() - began
    failed = [f"{r.task.id}: {r.text}" for r in run.tasks if r.status != "ok"]
    if run.status != "done" or failed:
        raise SystemExit(f"the {dag.shape} plan did not finish: {run.status}; {'; '.join(failed)}")
    return Row(
        dags=1,
        tasks=len(dag.ms),
        critical=dag.critical_s(),
        total=dag.sum_s(),
        run=elapsed,
        respond=run.timings["respond"],
        execute=run.timings["execute"],
        peak=run.peak_parallel,
    )


async def _call(tools: ToolRegistry, dag: Dag, task_id: str, outputs: dict[str, TaskOutput]) -> None:
    inputs = TaskInputs(task_id=task_id, results={d: outputs[d] for d in dag.deps[task_id]}, request=REQUEST)
    outputs[task_id] = await tools.run(TOOL, {"ms": dag.ms[task_id]}, inputs)


async def sequential_run(tools: ToolRegistry, dag: Dag) -> float:
    """One task at a time in topological order."""
    outputs: dict[str, TaskOutput] = {}
    began = time.perf_counter()
    for level in topological_order(dag.tasks()):
        for task_id in level:
            await _call(tools, dag, task_id, outputs)
    return time.perf_counter() - began


async def level_sync_run(tools: ToolRegistry, dag: Dag) -> float:
    """Each topological level at once; the next level starts when the whole level has finished."""
    outputs: dict[str, TaskOutput] = {}
    began = time.perf_counter()
    for level in topological_order(dag.tasks()):
        await asyncio.gather(*(_call(tools, dag, task_id, outputs) for task_id in level))
    return time.perf_counter() - began


async def measure(agent: PlannerAgent, tools: ToolRegistry, dag: Dag) -> Row:
    row = await graph_run(agent, dag)
    row.level = await level_sync_run(tools, dag)
    row.sequential = await sequential_run(tools, dag)
    return row


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def print_tables(rows: dict[str, Row]) -> None:
    print(
        f"\n{'planner graph':<18} {'dags':>4} {'tasks':>5} {'crit ms':>8} {'sum ms':>8} {'wall ms':>8} "
        f"{'exec ms':>8} {'resp ms':>7} {'wall/crit':>9} {'goal':>4} {'wall/sum':>8} {'ovh ms/task':>11} {'peak':>4}"
    )
    for name, r in rows.items():
        ratio = r.wall / r.critical
        print(
            f"{name:<18} {r.dags:>4} {r.tasks:>5} {_ms(r.critical):>8} {_ms(r.total):>8} {_ms(r.wall):>8} "
            f"{_ms(r.execute):>8} {_ms(r.respond):>7} {ratio:>9.3f} {'PASS' if ratio <= GOAL else 'MISS':>4} "
            f"{r.wall / r.total:>8.3f} {(r.wall - r.critical) * 1000 / r.tasks:>11.2f} {r.peak:>4}"
        )
    print(
        f"\n{'baselines':<18} {'crit ms':>8} {'graph ms':>8} {'level ms':>8} {'level/crit':>10} "
        f"{'seq ms':>8} {'seq/crit':>8} {'level/graph':>11} {'seq/graph':>9}"
    )
    for name, r in rows.items():
        print(
            f"{name:<18} {_ms(r.critical):>8} {_ms(r.wall):>8} {_ms(r.level):>8} {r.level / r.critical:>10.3f} "
            f"{_ms(r.sequential):>8} {r.sequential / r.critical:>8.3f} {r.level / r.wall:>11.2f} "
            f"{r.sequential / r.wall:>9.2f}"
        )


def print_random_spread(ratios: list[tuple[float, Dag]]) -> None:
    values = [ratio for ratio, _ in ratios]
    worst, dag = max(ratios, key=lambda item: item[0])
    print(
        f"\nrandom layered, wall/crit per DAG: median {statistics.median(values):.3f}, worst {worst:.3f} "
        f"({len(dag.ms)} tasks, {len(topological_order(dag.tasks()))} levels, critical path "
        f"{_ms(dag.critical_s())} ms); {sum(v <= GOAL for v in values)}/{len(values)} PASS"
    )


async def benchmark(dags: int, seed: int, scale: float) -> None:
    rng = random.Random(seed)
    plans = fixed_dags(scale) + [random_dag(rng, scale) for _ in range(dags)]
    biggest = max(len(d.ms) for d in plans)
    tools = ToolRegistry([sleep_tool()])
    context = Context(
        tools=tools,
        llm=instant_client(),
        models=ModelRegistry(ModelRegistryConfig()),
        demos=DemoBank(()),
        max_tasks=biggest,
        max_parallel=biggest,  # no cap on tools at once: what is measured is scheduling, not a limit
    )
    agent = PlannerAgent(context=context)
    print(
        f"DAGs: {len(plans) - dags} fixed shapes + {dags} random layered (seed {seed}), latency scale {scale:g}; "
        f"goal: graph wall / critical path <= {GOAL}"
    )
    await graph_run(agent, _dag("warm-up", [1, 1, 1], [[], [1], [1, 2]], 1.0))  # first-run imports and caches
    rows: dict[str, Row] = {}
    random_ratios: list[tuple[float, Dag]] = []
    for dag in plans:
        row = await measure(agent, tools, dag)
        rows.setdefault(dag.shape, Row()).add(row)
        if dag.shape == "random layered":
            random_ratios.append((row.wall / row.critical, dag))
    overall = Row()
    for row in rows.values():
        overall.add(row)
    rows["overall"] = overall
    print_tables(rows)
    if random_ratios:
        print_random_spread(random_ratios)
    print(
        f"\noverall with the respond step (fake model, answers at once): run/crit {overall.run / overall.critical:.3f},"
        f" respond {overall.respond * 1000 / overall.dags:.0f} ms per run"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dags", type=int, default=20, help="random layered DAGs (default 20)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random DAGs (default 7)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every task latency (default 1.0)")
    args = parser.parse_args()
    if args.dags < 0 or args.scale <= 0:
        parser.error("--dags must be >= 0 and --scale > 0")
    began = time.perf_counter()
    asyncio.run(benchmark(args.dags, args.seed, args.scale))
    print(f"\nbenchmark took {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
