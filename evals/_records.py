"""Item records on disk: one JSON file per (variant, item) under ``<run_dir>/items/<variant>/``.

A record is the item's trace and scores plus the fingerprint it was asked under; :func:`read_cached` hands one
back only while that fingerprint still matches and the record is not marked for a retry.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from evals.dataset import Dataset
from evals.items import MetricsQAItem, PlanningItem
from evals.runfile import Variant
from kubeai.errors import ConfigError
from kubeai.files import write_text_atomic
from kubeai.values import json_value

__all__ = ["ITEMS_DIR", "item_file", "load_records", "read_cached", "record_head", "sha", "write_json"]

ITEMS_DIR = "items"


def record_head(item: MetricsQAItem | PlanningItem, variant: Variant, dataset: Dataset) -> dict[str, Any]:
    """The fields every record starts with, whatever its kind."""
    return {
        "item_id": item.id,
        "dataset": dataset.manifest.name,
        "dataset_version": dataset.manifest.version,
        "kind": dataset.manifest.kind,
        "variant": variant.name,
        "model": variant.model,
        "strategy": variant.strategy,
        "language": item.language,
        "tags": list(item.tags),
        "retry": False,
        "error": None,
    }


def load_records(run_dir: str | Path) -> tuple[dict[str, Any], ...]:
    """Read back the scored item traces of a run folder, sorted by variant, dataset and item id.

    Raises:
        ConfigError: The folder holds no run (no ``items`` folder).
    """
    root = Path(run_dir) / ITEMS_DIR
    if not root.is_dir():
        raise ConfigError(
            f"{run_dir} holds no evaluation run (no {ITEMS_DIR}/ folder); pass a folder written by `kubeai eval run`."
        )
    records = []
    for path in sorted(root.glob("*/*.json")):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a torn or foreign file is not a result; the next run rewrites it
    return tuple(sorted(records, key=lambda r: (r["variant"], r["dataset"], r["item_id"])))


def item_file(dataset: str, item_id: str) -> str:
    """The file name of an item's record: readable, and unique even when ids differ only in odd characters."""
    safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in item_id)[:80]
    return f"{dataset}__{safe}-{sha(item_id)[:8]}.json"


def read_cached(path: Path, fingerprint: str) -> dict[str, Any] | None:
    """The record at ``path`` if it was asked under ``fingerprint`` and is not marked for a retry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint or data.get("retry"):
        return None
    return data


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a torn write never leaves a half file that looks like a result."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=json_value) + "\n")


def sha(text: str) -> str:
    """The SHA-256 hex digest of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
