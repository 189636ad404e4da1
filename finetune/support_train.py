"""Train the customer-service chat adapter on the pairs ``kubeai cs data`` wrote, with the project's LoRA trainer.

The adapter is written as a version folder of the adapter store (``<data_dir>/adapters/<name>``) with its card:
what it is for, the role ``customer-service:aeropure3``, the hash of ``train.jsonl``, the data report, the recipe
and the loss. It is not routed to a role: no eval gate decides for it; ``kubeai cs eval`` measures it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finetune.lora import LoraTrainingConfig, TrainingReport, load_examples, train_lora
from kubeai.config import ModelCard
from kubeai.errors import TrainingError
from kubeai.files import write_text_atomic
from serving.registry import ADAPTER_CARD_FILE

__all__ = ["SUPPORT_ADAPTER", "SUPPORT_ROLE", "support_card", "train_support_adapter"]

SUPPORT_ADAPTER = "cs-assistant"
"""The adapter's default name: its folder in the adapter store and the model name the server serves it under."""

SUPPORT_ROLE = "customer-service:aeropure3"
"""The role its card records."""


def support_card() -> ModelCard:
    """What the customer-service adapter is for, for the model registry and planner."""
    return ModelCard(
        description=(
            "LoRA adapter for AeroPure 3 customer service: answers customers' questions in English or Chinese from "
            "the product's manual and FAQ, and declines what they do not cover."
        ),
        skills=("customer-service", "answer-from-docs"),
        languages=("en", "zh"),
    )


def train_support_adapter(
    data_folder: Path,
    *,
    base_model_dir: Path,
    out_dir: Path,
    config: LoraTrainingConfig,
    name: str = SUPPORT_ADAPTER,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainingReport:
    """Train on ``data_folder/train.jsonl`` and save the adapter with its card to ``out_dir``.

    Args:
        data_folder: Where ``kubeai cs data`` wrote ``train.jsonl`` and ``data_report.json``.
        base_model_dir: The Hugging Face model directory the server serves.
        out_dir: The adapter's folder, replaced atomically.
        config: The LoRA recipe (steps included).
        name: The served name, recorded in the card.
        progress: Called after each step with (step, total, loss).

    Raises:
        TrainingError: The data folder lacks its files, or as :func:`finetune.lora.train_lora` raises.
    """
    train_file = data_folder / "train.jsonl"
    examples = load_examples(train_file)
    try:
        report = json.loads((data_folder / "data_report.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(
            f"Cannot read {data_folder / 'data_report.json'} ({exc}); run `kubeai cs data` first."
        ) from None
    extra: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "role": SUPPORT_ROLE,
        "data_hash": hashlib.sha256(train_file.read_bytes()).hexdigest(),
        "recipe": dataclasses.asdict(config),
        "data": report,
    }
    result = train_lora(
        base_model_dir,
        examples,
        out_dir,
        name=name,
        card=support_card(),
        config=config,
        progress=progress,
        card_extra=extra,
    )
    _add_losses(out_dir, result)
    return result


def _add_losses(out_dir: Path, result: TrainingReport) -> None:
    """Record the first loss, the loss curve and the examples that fit in the card beside the trainer's keys."""
    card_file = out_dir / ADAPTER_CARD_FILE
    card = json.loads(card_file.read_text("utf-8"))
    card["training"].update(
        {
            "first_loss": round(result.first_loss, 4),
            "losses": [round(x, 4) for x in result.losses],
            "seconds": round(result.seconds, 1),
        }
    )
    write_text_atomic(card_file, json.dumps(card, ensure_ascii=False, indent=2))
