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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class _QueriesOnly:
    """Embeds documents as queries too: e5 with the same prefix on both sides."""

    def __init__(self, embeddings: Any) -> None:
        self._embeddings = embeddings

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embeddings.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return list(self._embeddings.embed_query(text))


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
    from graphs.planner import DemoBank
    from knowledge.embeddings import E5Embeddings

    began = time.perf_counter()
    items = load_dataset(ROOT / "evals" / "datasets" / "planning").items_of(PlanningItem)
    embeddings = E5Embeddings()
    bank = DemoBank.bundled(embeddings=embeddings)
    tools = frozenset(tool for demo in bank.demos for tool in demo.tools)
    symmetric = DemoBank(bank.demos, embeddings=_QueriesOnly(embeddings))
    rankings: dict[str, DemoBank] = {
        "e5, demos as passages (the planner's)": bank,
        "e5, demos as queries": symmetric,
        "character bigrams": DemoBank(bank.demos),
    }
    print(f"{len(items)} requests, {len(bank.demos)} demonstrations; score of copying the top demonstration's graph")
    print(f"{'ranking':40} {'node F1':>8} {'edge F1':>8} {'exact':>6}")
    for name, ranking in rankings.items():
        node_f1, edge_f1, exact = [], [], 0
        for item in items:
            top = ranking.nearest(item.request, 1, tools=tools, language=item.language)[0]
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
