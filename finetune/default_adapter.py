"""The project's default LoRA adapter, trained on shipped examples so the base + adapter path works from day one.

``kubeai-style`` teaches the bundled model a fixed two-part answer format for business questions, in English
("Answer: ... / Note: ...") and Chinese ("结论：... / 提示：..."). It is small plumbing, not fine-tuning proper:
its purpose is that serving, runtime loading, evaluation and model selection all run on a real adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from finetune.lora import LoraTrainingConfig, TrainingReport, load_examples, train_lora
from kubeai.config import AdapterSpec, ModelCard

__all__ = ["DEFAULT_ADAPTER", "default_adapter_spec", "train_default_adapter"]

DEFAULT_ADAPTER = "kubeai-style"
DEFAULT_CARD = ModelCard(
    description=(
        "LoRA adapter that answers business and metric questions in a fixed two-part format: a one-sentence "
        "answer, then one caveat (English: 'Answer:'/'Note:'; Chinese: '结论：'/'提示：')."
    ),
    skills=("answer-format", "metric-explanation", "summarize"),
    languages=("en", "zh"),
)


def default_adapter_spec(path: Path, *, base: str) -> AdapterSpec:
    """The registry entry for the default adapter stored at ``path``."""
    return AdapterSpec(name=DEFAULT_ADAPTER, base=base, path=path, card=DEFAULT_CARD)


def train_default_adapter(
    base_model_dir: Path,
    out_dir: Path,
    *,
    config: LoraTrainingConfig | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainingReport:
    """Train ``kubeai-style`` from the examples packaged in ``finetune/data/kubeai_style.jsonl``."""
    data = resources.files("finetune.data").joinpath("kubeai_style.jsonl")
    with resources.as_file(data) as path:
        examples = load_examples(Path(path))
    return train_lora(
        base_model_dir,
        examples,
        out_dir,
        name=DEFAULT_ADAPTER,
        card=DEFAULT_CARD,
        config=config,
        progress=progress,
    )
