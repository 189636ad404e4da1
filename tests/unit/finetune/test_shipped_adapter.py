"""The demo catalog's metrics adapter ships with the data it was trained on, and its card names that data."""

from __future__ import annotations

import json
from pathlib import Path

from evals.dataset import eval_questions
from finetune.clean import CleaningContext, decontaminate
from finetune.examples import examples_hash, read_examples

SHIPPED = Path(__file__).resolve().parents[3] / "finetune" / "adapters" / "demo-ecommerce-metrics"


def test_the_shipped_demo_adapter_card_names_its_data() -> None:
    card = json.loads((SHIPPED / "kubeai_card.json").read_text("utf-8"))
    train = read_examples(SHIPPED / "train.jsonl")
    assert examples_hash(train) == card["data_hash"] == card["data"]["data_hash"]
    assert card["role"] == "metrics:demo_ecommerce" and isinstance(card["gate"]["passed"], bool)
    assert card["training"]["steps"] == card["recipe"]["lora"]["max_steps"]


def test_no_evaluation_question_is_near_the_shipped_training_data() -> None:
    # Eval sets added after the adapter was trained must keep out of its data too: the pipeline's own
    # decontamination stage, run over the shipped examples against every dataset today, removes nothing.
    train = read_examples(SHIPPED / "train.jsonl")
    context = CleaningContext(eval_questions=tuple(eval_questions(SHIPPED.parents[2] / "evals" / "datasets")))
    assert decontaminate(tuple(train), context).removed == {"decontaminated": 0}
