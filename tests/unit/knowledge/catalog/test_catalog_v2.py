"""Catalog format version 2: conventions, periods, attributes, metric-time dimensions, join types, labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.catalog import load_catalog
from knowledge.catalog.models import standard_vocabulary
from kubeai.errors import CatalogError

V2 = """\
version: 2
name: tiny_logistics
description: Parcels shipped between hubs.
warehouse: {dialect: duckdb, connection: tiny.duckdb}
conventions:
  reference_date: 2025-12-31
  fiscal_year_start_month: 4
  periods:
    - last_month
    - h1
    - name: peak_season
      label: {en: peak season}
      phrases: {zh: [旺季], en: [peak season]}
      unit: month
      count: 2
      offset: -1
  rate_format: fraction
  growth_format: fraction
  grain_formats: {month: YYYY-MM, quarter: YYYY-Qn, year: YYYY}
  notes: [Shipments are dated by the day they were created.]
tables:
  - name: shipments
    columns:
      - {name: shipment_id, type: BIGINT}
      - {name: courier_id, type: BIGINT}
      - {name: created_date, type: DATE}
      - {name: fee, type: 'DECIMAL(12,2)'}
  - name: couriers
    columns:
      - {name: courier_id, type: BIGINT}
      - {name: team, type: VARCHAR}
      - {name: hire_date, type: DATE}
joins:
  - {left: shipments.courier_id, right: couriers.courier_id, cardinality: many_to_one, type: inner}
dimensions:
  - name: period
    label: {en: Period, zh: 时间}
    type: time
    metric_time: true
    time_grains: [month, quarter, year]
  - name: team
    label: {en: Courier team}
    synonyms: {zh: [配送组, 班组]}
    table: couriers
    sql: couriers.team
attributes:
  - name: hire_date
    label: {en: Hire date, zh: 入职日期}
    table: couriers
    sql: couriers.hire_date
    type: time
metrics:
  - name: shipments
    label: {en: Shipments}
    synonyms: {zh: [发货量, 单量]}
    description: Parcels shipped.
    table: shipments
    sql: COUNT(shipments.shipment_id)
    time_column: created_date
    dimensions: [team, hire_date]
  - name: fee
    label: {en: Fee revenue, zh: 运费收入}
    description: Fees charged.
    table: shipments
    sql: SUM(shipments.fee)
examples:
  - question: 上个月各配送组的发货量
    language: zh
    query: {metrics: [shipments], dimensions: [team], time_range: last_month}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_v2_catalog_loads_with_its_conventions(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, V2))
    assert catalog.version == 2
    assert str(catalog.reference_date) == "2025-12-31"
    assert [p.name for p in catalog.periods()] == ["last_month", "h1", "peak_season"]
    assert catalog.period("h1") is not None and catalog.period("last_year") is None
    assert catalog.conventions.grain_format("quarter") == "YYYY-Qn"
    assert catalog.conventions.grain_format("day") == "date"
    assert catalog.joins[0].type == "inner"


def test_labels_missing_a_language_are_filled_from_synonyms_then_the_other_label(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, V2))
    shipments = catalog.metric("shipments")
    team = catalog.dimension("team")
    peak = catalog.period("peak_season")
    assert shipments is not None and team is not None and peak is not None
    assert shipments.label.zh == "发货量"
    assert team.label.zh == "配送组"
    assert peak.label.zh == "旺季"
    fee = catalog.metric("fee")
    assert fee is not None and fee.label.get("ja") == "Fee revenue"


def test_attributes_filter_but_are_not_dimensions(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, V2))
    hire = catalog.dimension("hire_date")
    assert hire is not None and hire.filter_only
    assert "hire_date" not in [d.name for d in catalog.dimensions]
    assert [d.name for d in catalog.all_dimensions] == ["period", "team", "hire_date"]


def test_metric_time_dimension_is_allowed_exactly_for_metrics_with_a_time_column(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, V2))
    assert catalog.allowed_dimensions("shipments") == ("team", "hire_date", "period")
    assert "period" not in catalog.allowed_dimensions("fee")


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        ("    - last_month\n", "    - last_fortnight\n", "not in the standard vocabulary"),
        ("      offset: -1\n", "      offset: 1\n", "less than or equal to 0"),
        ("    metric_time: true\n", "    metric_time: true\n    table: shipments\n", "drop table and sql"),
        ("    dimensions: [team, hire_date]\n", "    dimensions: [team, hire_date, period]\n", ""),
        ("time_range: last_month}", "time_range: last_year}", "period `last_year` is not one of"),
    ],
)
def test_v2_mistakes_are_one_sentence_naming_the_field(tmp_path: Path, before: str, after: str, message: str) -> None:
    assert before in V2
    text = V2.replace(before, after, 1)
    if not message:
        load_catalog(_write(tmp_path, text))  # listing a metric-time dimension explicitly is fine
        return
    with pytest.raises(CatalogError) as info:
        load_catalog(_write(tmp_path, text))
    assert message in str(info.value)


def test_v1_file_using_a_v2_field_is_told_to_upgrade(tmp_path: Path) -> None:
    text = V2.replace("version: 2", "version: 1").replace(
        "warehouse: {dialect: duckdb, connection: tiny.duckdb}",
        "warehouse: {dialect: duckdb, connection: tiny.duckdb, reference_date: 2025-12-31}",
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(_write(tmp_path, text))
    assert "set `version: 2`" in str(info.value)


def test_standard_vocabulary_periods_are_unique_and_phrased_in_both_languages() -> None:
    vocabulary = standard_vocabulary()
    names = [p.name for p in vocabulary.periods]
    assert len(names) == len(set(names))
    for period in vocabulary.periods:
        assert period.phrases.en and period.phrases.zh, period.name
    assert set(vocabulary.grain_phrases) == {"day", "week", "month", "quarter", "year"}
