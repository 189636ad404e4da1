"""Train a LoRA adapter with peft on chat examples, on CPU or GPU, and save it with its model card.

The loss covers the assistant's reply only (the prompt tokens are masked), so the adapter learns how to answer,
not how to repeat questions. The adapter is written into a temporary directory and renamed into place, so an
interrupted run never leaves a half-written adapter that vLLM would try to load.

On a CPU most of a step is the backward pass through the frozen base model. ``top_layers`` puts LoRA on the last
layers only, so the backward pass stops there; batches group examples of similar length, so little is padding.
An example longer than ``max_length`` tokens is left out; with ``strict_length`` (the planning adapter, whose
examples are long prompts with short plans) it stops the run with one sentence instead, since a plan cut off or
left out silently trains on less than the data says. With ``checkpoint_dir`` a run saves its state every
``checkpoint_every`` steps and an interrupted run with the same recipe and data resumes where it stopped, ending
with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
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

__all__ = ["ChatExample", "LoraTrainingConfig", "TrainingReport", "example_length", "load_examples", "train_lora"]

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
    top_layers: int | None = None
    max_steps: int | None = None
    strict_length: bool = False

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
            ("top_layers", self.top_layers is None or self.top_layers >= 1, "an integer >= 1 or null"),
            ("max_steps", self.max_steps is None or self.max_steps >= 1, "an integer >= 1 or null"),
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
    resumed_from: int = 0


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
    card_extra: dict[str, Any] | None = None,
    checkpoint_dir: Path | None = None,
    checkpoint_every: int = 25,
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
        card_extra: More keys for the adapter's ``kubeai_card.json`` (role, data hash, ...).
        checkpoint_dir: Where to keep resumable state; a run finding state of the same recipe and data there
            resumes from it. Removed when the adapter is saved.
        checkpoint_every: Steps between checkpoints.

    Raises:
        TrainingError: Missing dependencies, an unreadable base model, no example fits ``max_length``, or (with
            ``strict_length``) one does not.
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
    except (OSError, ValueError) as exc:
        raise TrainingError(f"Cannot load the base model from {base_model_dir}: {exc}.") from None
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    # Lengths are checked before the model is loaded, so a recipe that does not fit the data fails at once.
    encoded = [_encode(tokenizer, ex, cfg.max_length) for ex in examples]
    if cfg.strict_length:
        _check_lengths(tokenizer, examples, encoded, cfg.max_length)
    batches_source = [e for e in encoded if e is not None]
    if not batches_source:
        raise TrainingError(f"No training example fits max_length={cfg.max_length} tokens; raise max_length.")
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"Cannot load the base model from {base_model_dir}: {exc}.") from None

    layers = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    lora = peft.LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.target_modules),
        task_type="CAUSAL_LM",
        bias="none",
        layers_to_transform=list(range(max(0, layers - cfg.top_layers), layers)) if cfg.top_layers and layers else None,
    )
    model = peft.get_peft_model(model, lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    run_id = _run_id(cfg, batches_source)
    state = _Checkpoint(checkpoint_dir, run_id, every=checkpoint_every) if checkpoint_dir else None
    began = time.perf_counter()
    losses, resumed = _fit(torch, peft, model, batches_source, pad_id=pad_id, cfg=cfg, progress=progress, state=state)
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
        extra={**(card_extra or {}), "train_seconds": round(seconds, 1), "run_id": run_id},
    )
    if state is not None:
        state.clear()
    return TrainingReport(
        adapter_dir=out_dir,
        examples=len(batches_source),
        steps=len(losses),
        first_loss=losses[0],
        final_loss=losses[-1],
        seconds=seconds,
        trainable_parameters=trainable,
        losses=tuple(losses),
        resumed_from=resumed,
    )


def batch_plan(lengths: Sequence[int], *, batch_size: int, epochs: int, seed: int) -> list[list[int]]:
    """Every step's example indices: batches of similar length, in a seeded random order per epoch.

    Sorting by length (ties broken by a seeded shuffle) before cutting batches keeps padding small; shuffling the
    batches keeps the order random. The plan depends only on its arguments, so a resumed run repeats it.
    """
    rng = random.Random(seed)
    plan: list[list[int]] = []
    for _ in range(epochs):
        order = list(range(len(lengths)))
        rng.shuffle(order)
        order.sort(key=lambda i: lengths[i])
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        rng.shuffle(batches)
        plan.extend(batches)
    return plan


def _run_id(cfg: LoraTrainingConfig, encoded: Sequence[tuple[list[int], list[int]]]) -> str:
    """A hash of the recipe and the encoded data: a checkpoint resumes only the run it came from."""
    digest = hashlib.sha256(json.dumps(asdict(cfg), sort_keys=True, default=str).encode())
    for ids, labels in encoded:
        digest.update(json.dumps([ids, labels]).encode())
    return digest.hexdigest()[:16]


class _Checkpoint:
    """Resumable training state in one folder, written atomically every ``every`` steps."""

    def __init__(self, folder: Path, run_id: str, *, every: int) -> None:
        self.folder = folder
        self.run_id = run_id
        self.every = max(1, every)

    def load(self, torch: Any, peft: Any, model: Any, optimizer: Any, scheduler: Any) -> tuple[int, list[float]]:
        """Restore the state of this run, if saved; returns (steps done, their losses)."""
        meta_file = self.folder / "state.json"
        if not meta_file.is_file():
            return 0, []
        try:
            meta = json.loads(meta_file.read_text("utf-8"))
            if meta.get("run_id") != self.run_id:
                return 0, []
            saved = torch.load(self.folder / "state.pt", weights_only=False)
        except (OSError, ValueError, RuntimeError):
            return 0, []
        peft.set_peft_model_state_dict(model, saved["adapter"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        return int(meta["step"]), [float(x) for x in meta["losses"]]

    def save(self, torch: Any, peft: Any, model: Any, *, optimizer: Any, scheduler: Any, losses: list[float]) -> None:
        """Save the state after ``len(losses)`` steps, replacing the previous checkpoint atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = self.folder / "state.pt.tmp"
        torch.save(
            {
                "adapter": peft.get_peft_model_state_dict(model),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
            },
            staging,
        )
        os.replace(staging, self.folder / "state.pt")
        meta = {"run_id": self.run_id, "step": len(losses), "losses": losses}
        (self.folder / "state.json.tmp").write_text(json.dumps(meta), "utf-8")
        os.replace(self.folder / "state.json.tmp", self.folder / "state.json")

    def clear(self) -> None:
        """Remove the state once the adapter is saved."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _fit(
    torch: Any,
    peft: Any,
    model: Any,
    encoded: list[tuple[list[int], list[int]]],
    *,
    pad_id: int,
    cfg: LoraTrainingConfig,
    progress: Callable[[int, int, float], None] | None,
    state: _Checkpoint | None,
) -> tuple[list[float], int]:
    optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=cfg.learning_rate)
    plan = batch_plan([len(ids) for ids, _ in encoded], batch_size=cfg.batch_size, epochs=cfg.epochs, seed=cfg.seed)
    if cfg.max_steps is not None:
        plan = plan[: cfg.max_steps]
    total = len(plan)
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1.0 - step / total)
    )
    losses: list[float] = []
    resumed = 0
    if state is not None:
        resumed, losses = state.load(torch, peft, model, optimizer, scheduler)
    model.train()
    for step in range(resumed, total):
        batch = [encoded[i] for i in plan[step]]
        input_ids, labels, attention = _collate(torch, batch, pad_id)
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        if state is not None and (len(losses) % state.every == 0) and len(losses) < total:
            state.save(torch, peft, model, optimizer=optimizer, scheduler=scheduler, losses=losses)
        if progress is not None:
            progress(len(losses), total, losses[-1])
    return losses, resumed


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
    extra: dict[str, Any] | None = None,
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
            **(extra or {}),
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


def example_length(tokenizer: Any, example: ChatExample) -> int:
    """Tokens of ``example`` as the trainer encodes it (the chat template applied to every message)."""
    messages = [{"role": role, "content": content} for role, content in example.messages]
    return len(_token_ids(tokenizer.apply_chat_template(messages, tokenize=True)))


def _check_lengths(
    tokenizer: Any,
    examples: Sequence[ChatExample],
    encoded: Sequence[tuple[list[int], list[int]] | None],
    max_length: int,
) -> None:
    """Raise a TrainingError naming how many examples ``max_length`` would leave out, and the longest."""
    lengths = [example_length(tokenizer, ex) for ex, enc in zip(examples, encoded, strict=True) if enc is None]
    left_out = [n for n in lengths if n > max_length]
    if left_out:
        raise TrainingError(
            f"{len(left_out)} of {len(examples)} training examples are longer than max_length={max_length} tokens "
            f"(the longest has {max(left_out)}); raise max_length to at least {max(left_out)} or shorten the prompt."
        )


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
