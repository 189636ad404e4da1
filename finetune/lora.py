"""Train a LoRA adapter with peft on chat examples, on CPU or GPU, and save it with its model card.

The loss covers the assistant's reply only (the prompt tokens are masked), so the adapter learns how to answer,
not how to repeat questions. The adapter is written into a temporary directory and renamed into place, so an
interrupted run never leaves a half-written adapter that vLLM would try to load.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubeai.config import ModelCard
from kubeai.errors import TrainingError
from serving.registry import ADAPTER_CARD_FILE

__all__ = ["ChatExample", "LoraTrainingConfig", "TrainingReport", "load_examples", "train_lora"]

_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True, kw_only=True)
class LoraTrainingConfig:
    """Hyper-parameters of a LoRA run; invalid values raise a TrainingError naming the field."""

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    learning_rate: float = 2e-3
    epochs: int = 4
    batch_size: int = 8
    max_length: int = 256
    seed: int = 7
    threads: int | None = None

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("rank", self.rank in (1, 8, 16, 32, 64), "one of 1, 8, 16, 32, 64 (ranks vLLM serves)"),
            ("alpha", self.alpha > 0, "a positive integer"),
            ("dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)"),
            ("target_modules", bool(self.target_modules), "at least one module name such as q_proj"),
            ("learning_rate", 0.0 < self.learning_rate < 1.0, "a number in (0, 1)"),
            ("epochs", self.epochs >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("max_length", self.max_length >= 16, "an integer >= 16"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise TrainingError(f"LoRA training field `{name}` must be {expected}, got {getattr(self, name)!r}.")


@dataclass(frozen=True, kw_only=True)
class ChatExample:
    """One training conversation; the last message is the assistant reply that is learned."""

    messages: tuple[tuple[str, str], ...]
    language: str | None = None


@dataclass(frozen=True, kw_only=True)
class TrainingReport:
    """What a run did."""

    adapter_dir: Path
    examples: int
    steps: int
    first_loss: float
    final_loss: float
    seconds: float
    trainable_parameters: int
    losses: tuple[float, ...] = field(default=(), repr=False)


def load_examples(path: Path) -> list[ChatExample]:
    """Read chat examples from JSONL: one ``{"messages": [{"role", "content"}, ...]}`` object per line.

    Raises:
        TrainingError: The file is unreadable, a line is not JSON, or a conversation is malformed; the message
            names the file and line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingError(f"Cannot read training examples from {path}: {exc}.") from None
    examples: list[ChatExample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingError(f"{where} is not valid JSON ({exc.msg}).") from None
        messages = item.get("messages") if isinstance(item, dict) else None
        if not isinstance(messages, list) or not messages:
            raise TrainingError(f"{where} needs a non-empty `messages` list.")
        pairs: list[tuple[str, str]] = []
        for message in messages:
            role = message.get("role") if isinstance(message, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if role not in _ROLES or not isinstance(content, str) or not content.strip():
                raise TrainingError(f"{where}: each message needs a role in {_ROLES} and non-empty content.")
            pairs.append((role, content))
        if pairs[-1][0] != "assistant":
            raise TrainingError(f"{where}: the last message must be the assistant's reply to learn.")
        language = item.get("language")
        examples.append(ChatExample(messages=tuple(pairs), language=language if isinstance(language, str) else None))
    if not examples:
        raise TrainingError(f"{path} holds no training examples.")
    return examples


def train_lora(
    base_model_dir: Path,
    examples: Sequence[ChatExample],
    out_dir: Path,
    *,
    name: str,
    card: ModelCard,
    config: LoraTrainingConfig | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainingReport:
    """Train a LoRA adapter on ``examples`` and save it, with its model card, to ``out_dir``.

    Args:
        base_model_dir: A Hugging Face model directory (the one vLLM serves).
        examples: Conversations whose final assistant reply is learned.
        out_dir: Where the adapter goes; replaced atomically if it exists.
        name: The adapter's serving name, recorded in its card.
        card: What the adapter is for.
        config: Hyper-parameters.
        progress: Called after each step with (step, total_steps, loss).

    Raises:
        TrainingError: Missing dependencies, an unreadable base model, or no example fits ``max_length``.
    """
    cfg = config or LoraTrainingConfig()
    torch, peft, transformers = _import_training_stack()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(base_model_dir)
        model = transformers.AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"Cannot load the base model from {base_model_dir}: {exc}.") from None
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    encoded = [_encode(tokenizer, ex, cfg.max_length) for ex in examples]
    batches_source = [e for e in encoded if e is not None]
    if not batches_source:
        raise TrainingError(f"No training example fits max_length={cfg.max_length} tokens; raise max_length.")

    lora = peft.LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.target_modules),
        task_type="CAUSAL_LM",
        bias="none",
    )
    model = peft.get_peft_model(model, lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    began = time.perf_counter()
    losses = _fit(torch, model, batches_source, pad_id=pad_id, cfg=cfg, progress=progress)
    seconds = time.perf_counter() - began
    _save(
        model,
        out_dir,
        name=name,
        card=card,
        cfg=cfg,
        base_model_dir=base_model_dir,
        examples=len(batches_source),
        losses=losses,
    )
    return TrainingReport(
        adapter_dir=out_dir,
        examples=len(batches_source),
        steps=len(losses),
        first_loss=losses[0],
        final_loss=losses[-1],
        seconds=seconds,
        trainable_parameters=trainable,
        losses=tuple(losses),
    )


def _fit(
    torch: Any,
    model: Any,
    encoded: list[tuple[list[int], list[int]]],
    *,
    pad_id: int,
    cfg: LoraTrainingConfig,
    progress: Callable[[int, int, float], None] | None,
) -> list[float]:
    optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=cfg.learning_rate)
    total = math.ceil(len(encoded) / cfg.batch_size) * cfg.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / total))
    model.train()
    losses: list[float] = []
    for _ in range(cfg.epochs):
        order = list(range(len(encoded)))
        random.shuffle(order)
        for start in range(0, len(order), cfg.batch_size):
            batch = [encoded[i] for i in order[start : start + cfg.batch_size]]
            input_ids, labels, attention = _collate(torch, batch, pad_id)
            loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(len(losses), total, losses[-1])
    return losses


def _save(
    model: Any,
    out_dir: Path,
    *,
    name: str,
    card: ModelCard,
    cfg: LoraTrainingConfig,
    base_model_dir: Path,
    examples: int,
    losses: list[float],
) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        model.save_pretrained(staging)
        card_data: dict[str, Any] = {
            "name": name,
            "base_model_dir": str(base_model_dir),
            "card": card.model_dump(mode="json"),
            "training": {
                **asdict(cfg),
                "examples": examples,
                "steps": len(losses),
                "final_loss": losses[-1],
            },
        }
        (staging / ADAPTER_CARD_FILE).write_text(json.dumps(card_data, ensure_ascii=False, indent=2), "utf-8")
        (staging / "README.md").write_text(_card_markdown(name, card, cfg, examples, losses), "utf-8")
        staging.chmod(0o755)  # mkdtemp creates 0700; a server running as another user must read it
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _import_training_stack() -> tuple[Any, Any, Any]:
    try:
        import peft
        import torch
        import transformers
    except ImportError as exc:
        raise TrainingError(f"LoRA training needs torch, transformers and peft ({exc.name} is missing).") from None
    return torch, peft, transformers


def _encode(tokenizer: Any, example: ChatExample, max_length: int) -> tuple[list[int], list[int]] | None:
    messages = [{"role": role, "content": content} for role, content in example.messages]
    prompt = _token_ids(tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True))
    full = _token_ids(tokenizer.apply_chat_template(messages, tokenize=True))
    if len(full) > max_length or full[: len(prompt)] != prompt:
        return None
    labels = [-100] * len(prompt) + full[len(prompt) :]
    return full, labels


def _token_ids(rendered: Any) -> list[int]:
    # apply_chat_template returns a list of ids, or a BatchEncoding in newer transformers.
    ids = rendered["input_ids"] if hasattr(rendered, "keys") else rendered
    return [int(i) for i in ids]


def _collate(torch: Any, batch: list[tuple[list[int], list[int]]], pad_id: int) -> tuple[Any, Any, Any]:
    width = max(len(ids) for ids, _ in batch)
    ids = [seq + [pad_id] * (width - len(seq)) for seq, _ in batch]
    labels = [lab + [-100] * (width - len(lab)) for _, lab in batch]
    mask = [[1] * len(seq) + [0] * (width - len(seq)) for seq, _ in batch]
    return torch.tensor(ids), torch.tensor(labels), torch.tensor(mask)


def _card_markdown(name: str, card: ModelCard, cfg: LoraTrainingConfig, examples: int, losses: list[float]) -> str:
    return (
        f"# {name}\n\n{card.description}\n\n"
        f"- skills: {', '.join(card.skills) or '-'}\n"
        f"- languages: {', '.join(card.languages)}\n"
        f"- LoRA: r={cfg.rank}, alpha={cfg.alpha}, dropout={cfg.dropout}, modules={', '.join(cfg.target_modules)}\n"
        f"- trained on {examples} examples, {len(losses)} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}\n"
    )
