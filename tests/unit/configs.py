"""Configurations the unit tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubeai.config import ProjectConfig


def agent_config(tmp_path: Path, warehouse: Path, **sections: dict[str, Any]) -> ProjectConfig:
    """The metrics agent on ``warehouse`` (200 rows at most), without retrieval, writing SQL, data in ``tmp_path``.

    ``sections`` add configuration sections (``api={...}``) or replace one of these.
    """
    return ProjectConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "warehouse": {"url": str(warehouse), "max_rows": 200},
            "metrics_agent": {"rag": False, "strategy": "sql"},
            **sections,
        }
    )
