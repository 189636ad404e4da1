"""Train the planner's adapter with the metrics adapter's trainer, on the synthetic planning conversations.

The conversations (:func:`finetune.planning_data.chat_example`) are the plan prompt without demonstrations and
the gold plan as JSON: the adapter stands in for the demonstrations, so it is trained and served with the short
prompt. Their length is checked against the recipe's ``max_length`` before any step (``strict_length``): a plan
cut off or dropped silently would train on less than the data says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from finetune.lora import ChatExample, LoraTrainingConfig, TrainingReport, train_lora
from finetune.pipeline import lora_config
from kubeai.config import FinetuneConfig, ModelCard

__all__ = ["PLANNING_CARD", "conversations_hash", "planning_lora_config", "train_planning_adapter"]

PLANNING_CARD = ModelCard(
    description=(
        "LoRA adapter that turns a request into the planner's task graph (JSON tasks with tools, arguments and "
        "dependencies), trained on synthetic requests composed from the planner's tools and a metric catalog; "
        "served with the plan prompt without demonstrations."
    ),
    skills=("plan-tasks",),
    languages=("en", "zh"),
)


def planning_lora_config(recipe: FinetuneConfig) -> LoraTrainingConfig:
    """The planning recipe's LoRA hyper-parameters, with lengths checked rather than cut (``strict_length``)."""
    return lora_config(recipe, recipe.planning.lora, strict_length=True)


def conversations_hash(examples: Sequence[ChatExample]) -> str:
    """A short hash of the training conversations, recorded in the adapter's card."""
    digest = hashlib.sha256()
    for example in examples:
        for role, content in example.messages:
            digest.update(f"{role}\0{content}\0".encode())
    return digest.hexdigest()[:16]


def train_planning_adapter(
    examples: Sequence[ChatExample],
    *,
    base_model_dir: Path,
    out_dir: Path,
    name: str,
    role: str,
    recipe: FinetuneConfig,
    catalog: str,
    progress: Callable[[int, int, float], None] | None = None,
    checkpoint_dir: Path | None = None,
) -> TrainingReport:
    """Train the planning adapter on ``examples`` and save it with its card (role, data hash, recipe).

    Raises:
        TrainingError: An example is longer than ``finetune.planning.lora.max_length`` tokens, or the trainer
            failed (see :func:`finetune.lora.train_lora`).
    """
    extra = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "role": role,
        "task": "planning",
        "catalog": catalog,
        "demos_k": 0,
        "data_hash": conversations_hash(examples),
        "recipe": recipe.planning.model_dump(mode="json"),
    }
    return train_lora(
        base_model_dir,
        examples,
        out_dir,
        name=name,
        card=PLANNING_CARD,
        config=planning_lora_config(recipe),
        progress=progress,
        card_extra=extra,
        checkpoint_dir=checkpoint_dir,
    )
