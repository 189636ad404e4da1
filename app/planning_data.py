"""``kubeai finetune data --task planning``: the planning adapter's training data, written for the trainer.

The app layer fills in what :mod:`finetune.planning_data` needs: the planner's real tool registry (the same
tools, descriptions and schemas the planner is served with; nothing is run), the catalog, and every evaluation
request to keep out of training.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from app.onboarding import EVAL_DATASETS
from evals.dataset import eval_questions
from finetune.examples import write_examples
from finetune.planning_data import build_planning_data, chat_example, write_chat_examples
from graphs.planner import DemoBank
from knowledge.catalog import load_catalog
from knowledge.index import open_knowledge_base
from kubeai.config import ProjectConfig
from kubeai.errors import ToolError
from kubeai.files import write_text_atomic
from serving.client import ModelClient
from tools.registry import TaskOutput, ToolRegistry
from tools.toolbox import planner_registry

__all__ = ["planning_tools", "write_planning_data"]

PER_SHAPE = 30
"""Requests drafted per shape and language before cleaning (10 shapes, 2 languages: 600)."""


def planning_tools(config: ProjectConfig) -> tuple[ToolRegistry, Callable[[], None]]:
    """The planner's tool registry as :class:`agents.planner.PlannerAgent` builds it, and a function closing it."""
    knowledge = open_knowledge_base(embeddings=config.embeddings, store=config.vector_store, data_dir=config.data_dir)

    async def not_run(question: str) -> TaskOutput:
        raise ToolError("metric questions are not answered while writing training data", tool="metric_query")

    client = ModelClient(config.llm, default_model=config.models.base.name)
    return planner_registry(llm=client, knowledge=knowledge, ask_metrics=not_run), knowledge.close


def write_planning_data(
    config: ProjectConfig, catalog_path: Path, out: Path | None, *, progress: Callable[[str], None] | None = None
) -> Path:
    """Synthesize, validate and clean planning examples; write them and the training conversations to a folder.

    Writes ``planning_synthesized.jsonl`` (request, language, gold plan, shape), ``planning_train.jsonl`` (the
    trainer's ``{"messages": [...]}`` format) and ``planning_report.json`` (counts per stage).

    Returns:
        The folder (``out``, or ``data_dir/finetune/<catalog>/planning``).
    """
    say = progress or (lambda _line: None)
    catalog = load_catalog(catalog_path)
    folder = out or config.data_dir / "finetune" / catalog.name / "planning"
    tools, close = planning_tools(config)
    try:
        say(f"synthesizing planning requests from {len(tools)} tools and the {catalog.name} catalog")
        data = build_planning_data(
            catalog,
            tools,
            eval_requests=eval_questions(EVAL_DATASETS),
            per_shape=PER_SHAPE,
            seed=config.finetune.seed,
        )
        bank = DemoBank.bundled()
        conversations = [chat_example(example, tools, bank) for example in data.examples]
    finally:
        close()
    folder.mkdir(parents=True, exist_ok=True)
    write_examples(folder / "planning_synthesized.jsonl", data.examples)
    write_chat_examples(folder / "planning_train.jsonl", conversations)
    write_text_atomic(folder / "planning_report.json", json.dumps(data.report, ensure_ascii=False, indent=2))
    say(json.dumps(data.report, ensure_ascii=False, indent=2))
    say(f"written to {folder}")
    return folder
