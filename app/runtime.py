"""Assemble the model runtime from the project configuration: registry, client, prepared models, server plan.

This is the one place that turns a :class:`~kubeai.config.ProjectConfig` into serving objects, so the CLI, the
HTTP API, the tests and the benchmarks start the same server the same way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from finetune.default_adapter import DEFAULT_ADAPTER, train_default_adapter
from finetune.lora import LoraTrainingConfig
from kubeai.config import ProjectConfig
from kubeai.errors import ServingError
from serving.adapters import AdapterStore
from serving.bundled import resolve_source
from serving.client import ModelClient
from serving.launcher import LaunchPlan, VLLMServer, plan_launch
from serving.registry import ModelRegistry

__all__ = [
    "PreparedModels",
    "adapter_store",
    "install_shipped_adapters",
    "model_client",
    "model_registry",
    "prepare_models",
    "server_for",
]

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class PreparedModels:
    """Paths of the base model directory and of every adapter, ready for vLLM."""

    base_dir: Path
    trained: tuple[str, ...]
    installed: tuple[str, ...] = ()


def model_registry(config: ProjectConfig) -> ModelRegistry:
    """The registry of the configured base model and adapters."""
    return ModelRegistry(config.models)


def adapter_store(config: ProjectConfig) -> AdapterStore:
    """The trained adapter versions in ``<data_dir>/adapters`` and the routes that pick one per role."""
    return AdapterStore(config.data_dir / "adapters")


def model_client(
    config: ProjectConfig, *, base_url: str | None = None, progress: Progress | None = None
) -> ModelClient:
    """A client for the configured endpoint whose default model is the registry's base model.

    ``progress`` hears a line every 10 s while a request waits for the server (see :class:`ModelClient`).
    """
    llm = config.llm if base_url is None else config.llm.model_copy(update={"base_url": base_url})
    return ModelClient(llm, default_model=config.models.base.name, progress=progress)


def prepare_models(
    config: ProjectConfig,
    *,
    retrain: bool = False,
    training: LoraTrainingConfig | None = None,
    progress: Progress | None = None,
) -> PreparedModels:
    """Make the base model servable and train the default adapter if it is registered but missing.

    Idempotent: a converted model and a trained adapter are reused.

    Raises:
        ServingError: The base model cannot be prepared, or a registered adapter other than the default one is
            missing (only the default adapter can be trained here).
    """
    say = progress or (lambda _message: None)
    say(f"base model {config.models.base.name}: {config.models.base.source}")
    base_dir = resolve_source(config.models.base.source, config.data_dir / "models")
    trained: list[str] = []
    for adapter in config.models.adapters:
        present = (adapter.path / "adapter_config.json").is_file()
        if present and not (retrain and adapter.name == DEFAULT_ADAPTER):
            continue
        if adapter.name != DEFAULT_ADAPTER:
            raise ServingError(
                f"Adapter {adapter.name!r} is registered but {adapter.path} holds no adapter; train or copy it "
                "there, or remove it from models.adapters."
            )
        say(f"training LoRA adapter {adapter.name} into {adapter.path} (about a minute or two on CPU)")
        report = train_default_adapter(
            base_dir,
            adapter.path,
            config=training,
            progress=lambda step, total, loss: say(f"  step {step}/{total} loss {loss:.3f}"),
        )
        say(f"  done: {report.steps} steps, loss {report.first_loss:.2f} -> {report.final_loss:.2f}")
        trained.append(adapter.name)
    installed = install_shipped_adapters(config, progress=say)
    return PreparedModels(base_dir=base_dir, trained=tuple(trained), installed=tuple(installed))


def install_shipped_adapters(config: ProjectConfig, *, progress: Progress | None = None) -> list[str]:
    """Copy the adapters shipped with the project (``finetune/adapters/``) into the adapter store, once.

    The demo catalog's metrics adapter is trained by the fine-tuning pipeline and shipped with its card (data
    hash, recipe, gate figures); ``kubeai finetune train`` reproduces it. A shipped adapter is promoted for its
    role only when its card's eval gate passed and nothing serves that role yet, so a team's own promotions are
    never overridden. The copy is written to a temporary folder and renamed into place.
    """
    say = progress or (lambda _message: None)
    store = adapter_store(config)
    installed: list[str] = []
    shipped = resources.files("finetune.adapters")
    with resources.as_file(shipped) as root:
        for folder in sorted(Path(root).iterdir()):
            if not (folder / "adapter_config.json").is_file():
                continue
            target = store.root / folder.name
            if not target.exists():
                store.root.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=store.root))
                shutil.copytree(folder, staging, dirs_exist_ok=True)
                staging.chmod(0o755)
                os.replace(staging, target)
                installed.append(folder.name)
                say(f"installed the shipped adapter {folder.name} into {target}")
            version = store.get(folder.name)
            if version.role is None or store.active(version.role) is not None:
                continue
            if version.gate_passed is False:
                reason = (version.card.get("gate") or {}).get("reason", "its eval gate failed")
                say(f"{folder.name} is installed but not routed: {reason} (promote it with --force to use it anyway)")
                continue
            store.promote(folder.name, max_lora_rank=config.serving.max_lora_rank)
            say(f"routed {version.role} to {folder.name}")
    return installed


def server_for(
    config: ProjectConfig, *, port: int | None = None, progress: Progress | None = None
) -> tuple[VLLMServer, LaunchPlan]:
    """A (not yet started) vLLM server for the configured models and routed adapters, preparing them first."""
    prepared = prepare_models(config, progress=progress)
    routed = adapter_store(config).routed()
    plan = plan_launch(config.serving, model_registry(config), prepared.base_dir, port=port, routed=routed)
    log = config.data_dir / "logs" / f"vllm-{plan.port}.log"
    return VLLMServer(plan, log_path=log), plan
