"""The model registry: the served base model and its LoRA adapters, each with a model card.

Agents pick a model by name (the base model or an adapter: vLLM serves both under their names), and the
task-decomposition planner chooses among registered models by their cards. The registry validates what it
registers: unique names, adapters on the served base, adapter directories that vLLM can load.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kubeai.config import AdapterSpec, ModelCard, ModelRegistryConfig
from kubeai.errors import ModelNotFoundError, ServingError

__all__ = ["ADAPTER_CARD_FILE", "ModelRegistry", "RegisteredModel", "read_adapter_rank"]

ADAPTER_CARD_FILE = "kubeai_card.json"


@dataclass(frozen=True, kw_only=True)
class RegisteredModel:
    """A servable model: the base model or one of its LoRA adapters."""

    name: str
    kind: Literal["base", "adapter"]
    card: ModelCard
    base: str
    path: Path | None = None


class ModelRegistry:
    """Registered models, looked up by name, filtered by skill and language."""

    def __init__(self, config: ModelRegistryConfig) -> None:
        self._config = config
        base = config.base
        self._models: dict[str, RegisteredModel] = {
            base.name: RegisteredModel(name=base.name, kind="base", card=base.card, base=base.name)
        }
        for adapter in config.adapters:
            self._models[adapter.name] = _adapter_entry(adapter)

    @property
    def base(self) -> RegisteredModel:
        """The served base model."""
        return self._models[self._config.base.name]

    @property
    def adapters(self) -> tuple[RegisteredModel, ...]:
        """The registered LoRA adapters, in configuration order."""
        return tuple(m for m in self._models.values() if m.kind == "adapter")

    def __iter__(self) -> Iterator[RegisteredModel]:
        return iter(self._models.values())

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def get(self, name: str) -> RegisteredModel:
        """The model registered under ``name``.

        Raises:
            ModelNotFoundError: No such model is registered.
        """
        try:
            return self._models[name]
        except KeyError:
            known = tuple(self._models)
            raise ModelNotFoundError(
                f"Model {name!r} is not registered; registered models are: {', '.join(known)}.",
                model=name,
                available=known,
            ) from None

    def for_agent(self, agent: str) -> RegisteredModel:
        """The model an agent uses by default (``models.agents`` in the config, else the base model)."""
        return self.get(self._config.model_for(agent))

    def candidates(self, *, skill: str | None = None, language: str | None = None) -> list[RegisteredModel]:
        """Models whose card lists ``skill`` and ``language`` (each ignored when ``None``), base model first."""
        return [
            m
            for m in self._models.values()
            if (skill is None or skill in m.card.skills) and (language is None or language in m.card.languages)
        ]

    def check_adapters(self, *, max_lora_rank: int) -> None:
        """Check that every adapter directory holds a PEFT LoRA adapter vLLM can serve.

        Raises:
            ServingError: An adapter directory is missing, is not a LoRA adapter, or exceeds the rank limit.
        """
        for adapter in self.adapters:
            assert adapter.path is not None
            rank = read_adapter_rank(adapter.path, name=adapter.name)
            if rank > max_lora_rank:
                raise ServingError(
                    f"Adapter {adapter.name!r} has LoRA rank {rank}, above serving.max_lora_rank={max_lora_rank}; "
                    "raise serving.max_lora_rank in kubeai.yaml."
                )


def read_adapter_rank(path: Path, *, name: str) -> int:
    """The LoRA rank ``r`` of the PEFT adapter in ``path``.

    Raises:
        ServingError: ``path`` holds no readable LoRA ``adapter_config.json``.
    """
    config_file = path / "adapter_config.json"
    if not config_file.is_file():
        raise ServingError(
            f"Adapter {name!r} is missing: {config_file} does not exist; run `kubeai prepare` for the default "
            "adapter, or fix its path in models.adapters."
        )
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
        rank = int(data["r"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ServingError(f"Adapter {name!r}: {config_file} is not a PEFT LoRA config ({exc}).") from None
    if data.get("peft_type", "LORA") != "LORA":
        raise ServingError(f"Adapter {name!r} is a {data.get('peft_type')} adapter; vLLM serves LoRA adapters only.")
    return rank


def _adapter_entry(spec: AdapterSpec) -> RegisteredModel:
    return RegisteredModel(name=spec.name, kind="adapter", card=spec.card, base=spec.base, path=spec.path)
