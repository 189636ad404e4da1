"""A model-free baseline for the planning set: copy the task graph of the nearest demonstration.

For every request of ``evals/datasets/planning`` the demonstration bank is searched the way the planner searches
it (same language first), and the top demonstration's task graph is scored as the plan, with the same TaskBench
node and edge F1 the evaluation harness uses (edge F1 over requests whose gold graph has edges). It prints this
for three rankings: multilingual-e5-small as the planner uses it (request as query, demonstrations as passages),
e5 with both sides as queries, and character-bigram overlap.

A planner model that scores below this baseline adds nothing over retrieval; compare with
``kubeai eval run evals/runs/planning.yaml``.

Run: ``.venv/bin/python benchmarks/planning_baseline.py``
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class _Node:
    id: str
    type: str
    tool: str | None
    depends_on: tuple[str, ...]


def main() -> None:
    from evals.dataset import load_dataset
    from evals.items import PlanningItem
    from evals.scorers.plan import plan_scores
    from graphs.planner import Demo, DemoBank
    from knowledge.embeddings import E5Embeddings

    began = time.perf_counter()
    items = load_dataset(ROOT / "evals" / "datasets" / "planning").items_of(PlanningItem)
    bank = DemoBank.bundled()
    embeddings = E5Embeddings()
    as_passages = embeddings.embed_documents([d.request for d in bank.demos])
    as_queries = [embeddings.embed_query(d.request) for d in bank.demos]
    queries = {item.id: embeddings.embed_query(item.request) for item in items}

    def cosine(a: Sequence[float], b: Sequence[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))  # e5 vectors are normalized

    def bigrams(text: str) -> set[str]:
        flat = "".join(text.lower().split())
        return {flat[i : i + 2] for i in range(len(flat) - 1)}

    rankings: dict[str, Callable[[PlanningItem, Demo, int], float]] = {
        "e5, demos as passages (the planner's)": lambda item, demo, i: cosine(queries[item.id], as_passages[i]),
        "e5, demos as queries": lambda item, demo, i: cosine(queries[item.id], as_queries[i]),
        "character bigrams": lambda item, demo, i: (
            len(bigrams(item.request) & bigrams(demo.request)) / len(bigrams(item.request) | bigrams(demo.request))
        ),
    }
    print(f"{len(items)} requests, {len(bank.demos)} demonstrations; score of copying the top demonstration's graph")
    print(f"{'ranking':40} {'node F1':>8} {'edge F1':>8} {'exact':>6}")
    for name, score in rankings.items():
        node_f1, edge_f1, exact = [], [], 0
        for item in items:
            ranked = sorted(
                range(len(bank.demos)),
                key=lambda i: (bank.demos[i].language != item.language, -score(item, bank.demos[i], i)),
            )
            top = bank.demos[ranked[0]]
            plan = [
                _Node(id=str(t["id"]), type=str(t["tool"]), tool=str(t["tool"]), depends_on=tuple(t.get("dep", ())))
                for t in top.tasks
            ]
            scores = plan_scores(plan, item.tasks)
            node_f1.append(scores.node_f1)
            if any(task.depends_on for task in item.tasks):
                edge_f1.append(scores.edge_f1)
            exact += scores.node_f1 == scores.edge_f1 == 1.0
        print(f"{name:40} {statistics.mean(node_f1):8.3f} {statistics.mean(edge_f1):8.3f} {exact:6d}")
    print(f"({time.perf_counter() - began:.1f} s)")


if __name__ == "__main__":
    main()
