"""The retrieval evaluation set stays well-formed and in step with the demo catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from knowledge.catalog import demo_catalog_path, load_catalog

DATASET = Path(__file__).parents[4] / "evals" / "datasets" / "retrieval" / "catalog_questions.jsonl"


def _records() -> list[dict[str, Any]]:
    with DATASET.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_format_and_balance() -> None:
    records = _records()
    assert len(records) >= 60
    assert len({r["id"] for r in records}) == len(records)
    assert len({r["question"] for r in records}) == len(records)
    languages = [r["language"] for r in records]
    assert set(languages) == {"en", "zh"}
    assert abs(languages.count("en") - languages.count("zh")) <= len(records) // 10
    for record in records:
        assert set(record) == {"id", "question", "language", "metrics", "dimensions", "expected_ids"}
        assert record["metrics"], record["id"]
        expected = [f"metric:{m}" for m in record["metrics"]] + [f"dimension:{d}" for d in record["dimensions"]]
        assert record["expected_ids"] == expected, record["id"]


def test_every_name_is_in_the_demo_catalog_and_questions_avoid_labels() -> None:
    catalog = load_catalog(demo_catalog_path())
    for record in _records():
        for name in record["metrics"]:
            assert catalog.metric(name) is not None, (record["id"], name)
        for name in record["dimensions"]:
            assert catalog.dimension(name) is not None, (record["id"], name)
        # Questions are phrased as users speak, not copied from the catalog's metric labels.
        for name in record["metrics"]:
            metric = catalog.metric(name)
            assert metric is not None
            assert metric.label.en.lower() not in record["question"].lower(), (record["id"], name)
            assert metric.label.zh not in record["question"], (record["id"], name)
