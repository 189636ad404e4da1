"""Fingerprints of everything that decides an item's answer, so that a re-run asks only what changed.

A variant's fingerprint covers the code and prompt files of its dataset's kind, the package version, the model,
the strategy, the dataset file and the settings each kind names (catalog, retrieval, embeddings); an item's adds
the item itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import kubeai
from evals._records import sha
from evals.dataset import Dataset
from evals.runfile import Variant

__all__ = ["CODE_PATHS", "code_hash", "file_hash", "variant_hash"]

# The code and prompt files (folders or single files) that decide each kind's answers: part of every fingerprint.
CODE_PATHS: dict[str, tuple[str, ...]] = {
    "metrics_qa": (
        "graphs/metrics",
        "graphs/shared.py",
        "kubeai/prompting.py",
        "kubeai/language.py",
        "kubeai/values.py",
        "evals/scorers",
        "tools/sql_gate",
    ),
    "planning": (
        "graphs/planner",
        "graphs/shared.py",
        "kubeai/prompting.py",
        "kubeai/language.py",
        "evals/scorers",
        "agents/planner.py",
        "tools/registry.py",
        "tools/toolbox.py",
        # The tools whose names, descriptions and argument schemas the planner is shown.
        "tools/metric_tool.py",
        "tools/doc_qa.py",
        "tools/text_tasks.py",
        "tools/calculator.py",
        "tools/tables.py",
        "tools/charts/tool.py",
    ),
}
_CODE_SUFFIXES = frozenset({".py", ".yaml", ".yml", ".jinja", ".jsonl"})
_REPO = Path(__file__).resolve().parents[1]


def variant_hash(code: str, variant: Variant, dataset: Dataset, *settings: str) -> str:
    """The fingerprint of one variant on one dataset; ``settings`` are the kind's own (JSON text, file hashes)."""
    parts = [
        code,
        variant.model,
        variant.strategy,
        repr(variant.spec),
        file_hash(dataset.root / dataset.manifest.items),
        *settings,
    ]
    return sha("\n".join(parts))


def code_hash(paths: Sequence[str]) -> str:
    """A hash of the package version and of the code and prompt files under ``paths`` (folders or files)."""
    digest = hashlib.sha256(kubeai.__version__.encode())
    for entry in paths:
        root = _REPO / entry
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.suffix in _CODE_SUFFIXES and path.is_file():
                digest.update(path.relative_to(_REPO).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes, or ``missing``."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"
