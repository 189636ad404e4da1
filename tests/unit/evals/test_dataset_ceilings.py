"""The structured path's ceiling on each bundled metrics-QA set: at least 95 % of the questions are expressible.

Every item's hand-written ``gold_query`` is compiled against the set's catalog, gated and run on a small build of
the set's warehouse, and compared with its gold computed on that same warehouse (``evals.ceiling``). The
assertion lists each item that falls short and why, so a compiler regression names the questions it broke.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evals import MetricsQAItem, load_dataset
from evals.ceiling import CeilingReport, score_dataset
from knowledge.catalog import load_catalog
from knowledge.warehouse.bundled import BUNDLED_DOMAINS
from tools.warehouse import open_runner

DATASETS = Path(__file__).parents[3] / "evals" / "datasets"
TARGET = 0.95


# One line per bundled set: its folder and the size of the small warehouse build (orders, shipments, ...).
CASES: list[tuple[str, int]] = [("metrics_qa", 100_000), ("logistics_qa", 40_000)]


def _ceiling(name: str, size: int, folder: Path) -> CeilingReport:
    dataset = load_dataset(DATASETS / name)
    catalog_path = dataset.catalog_path()
    assert catalog_path is not None, f"{name} names no catalog"
    catalog = load_catalog(catalog_path)
    warehouse = folder / "warehouse.duckdb"
    BUNDLED_DOMAINS[str(dataset.manifest.warehouse)].build(warehouse, size=size, seed=None, overwrite=True)
    runner = open_runner(str(warehouse))
    try:
        return score_dataset(dataset, catalog=catalog, runner=runner)
    finally:
        runner.close()


@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_every_item_has_a_gold_query_or_null(name: str) -> None:
    items = load_dataset(DATASETS / name).items_of(MetricsQAItem)
    missing = [item.id for item in items if "gold_query" not in item.model_fields_set]
    assert not missing, f"{name}: write a gold_query (null when no structured query expresses it) for {missing}"


@pytest.mark.parametrize(("name", "size"), CASES, ids=[name for name, _ in CASES])
def test_the_structured_path_expresses_at_least_95_percent(name: str, size: int, tmp_path: Path) -> None:
    report = _ceiling(name, size, tmp_path)
    totals = report.totals()
    failing = "; ".join(f"{item.id} {item.outcome}: {item.detail}" for item in report.failing())
    assert totals.ratio >= TARGET, f"{name} ceiling {totals.expressible}/{totals.total}; failing: {failing}"
