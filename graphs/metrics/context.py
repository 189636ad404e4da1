"""Per-run settings and collaborators of the metrics-analysis graph, read through ``Runtime[Context]``.

Nothing here is checkpointed: the catalog, knowledge base, model client and warehouse runner are passed in by
the agent that runs the graph, so the graph never reads configuration or opens connections itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from knowledge.catalog import Catalog
from knowledge.index import KnowledgeBase
from serving.client import ModelClient
from tools.metric_query.values import DimensionValues
from tools.sql_gate import GateContext
from tools.warehouse import SQLRunner

__all__ = ["Context", "Strategy"]

Strategy = Literal["auto", "structured", "sql"]


@dataclass(kw_only=True)
class Context:
    """What one run of the graph works with.

    Attributes:
        catalog: The metric catalog (semantic layer) of the warehouse.
        knowledge: Where catalog entries were indexed; ``None`` turns retrieval off and puts the whole catalog
            in the prompt (the "no RAG" strategy of the evaluation harness).
        llm: The model client; ``model`` picks the base model or an adapter.
        runner: Executes gated SQL on a read-only connection.
        gate: The SQL gate's allowlist and dialects for this warehouse.
        strategy: ``structured`` fills a metric-query schema compiled to SQL; ``sql`` asks for SQL directly;
            ``auto`` uses the structured path and falls back to SQL on the last attempt.
        max_attempts: Generation attempts per question (the first plus repairs) before the agent abstains.
        require_approval: Pause before execution for a human to approve, edit or reject the SQL.
        chain_of_thought: Ask the model to reason in a ``reasoning`` field before filling the query.
        tuned_model: An adapter fine-tuned on this catalog (``finetune/``); the first attempt asks it with the
            short prompt it was trained on (:mod:`graphs.metrics.tuned`), and it may mark a question unanswerable.
            Repairs use ``model`` with the full prompt.
        values: The categorical dimensions' values in the warehouse (read once when the agent opens); a value the
            question names becomes a filter on its dimension. ``None``: filters are the model's alone.
    """

    catalog: Catalog
    knowledge: KnowledgeBase | None
    llm: ModelClient
    runner: SQLRunner
    gate: GateContext
    model: str | None = None
    strategy: Strategy = "auto"
    max_attempts: int = 3
    require_approval: bool = False
    chain_of_thought: bool = False
    retrieval_k: int = 8
    alpha: float = 0.8
    max_metrics: int = 5
    max_dimensions: int = 12
    max_examples: int = 3
    max_rows: int = 1000
    timeout_s: float = 30.0
    tuned_model: str | None = None
    values: DimensionValues | None = None
