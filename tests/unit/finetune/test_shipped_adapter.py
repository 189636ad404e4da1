"""The demo catalog's metrics adapter ships with the data it was trained on, and its card names that data."""

from __future__ import annotations

import json
from pathlib import Path

from finetune.examples import examples_hash, read_examples

SHIPPED = Path(__file__).resolve().parents[3] / "finetune" / "adapters" / "demo-ecommerce-metrics"


def test_the_shipped_demo_adapter_card_names_its_data() -> None:
    card = json.loads((SHIPPED / "kubeai_card.json").read_text("utf-8"))
    train = read_examples(SHIPPED / "train.jsonl")
    assert examples_hash(train) == card["data_hash"] == card["data"]["data_hash"]
    assert card["role"] == "metrics:demo_ecommerce" and isinstance(card["gate"]["passed"], bool)
    assert card["training"]["steps"] == card["recipe"]["lora"]["max_steps"]
