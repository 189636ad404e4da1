"""Fine-tuning: LoRA training with peft on chat examples, and the project's default adapter."""

from finetune.default_adapter import DEFAULT_ADAPTER, default_adapter_spec, train_default_adapter
from finetune.lora import ChatExample, LoraTrainingConfig, TrainingReport, load_examples, train_lora

__all__ = [
    "DEFAULT_ADAPTER",
    "ChatExample",
    "LoraTrainingConfig",
    "TrainingReport",
    "default_adapter_spec",
    "load_examples",
    "train_default_adapter",
    "train_lora",
]
