"""The logistics warehouse: deterministic, complete over 2024-2025, and shaped like a parcel business."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from knowledge.warehouse import LOGISTICS_END, LOGISTICS_START, build_logistics_warehouse
from knowledge.warehouse.bundled import BUNDLED_DOMAINS, bundled_domain
from kubeai.errors import ConfigError, WarehouseError

TABLES = ("hubs", "customers", "couriers", "vehicles", "shipments", "delivery_attempts", "claims")


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path_factory.mktemp("logistics") / "logistics.duckdb"
    build_logistics_warehouse(path, shipments=60_000)
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {t: connection.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    a = build_logistics_warehouse(tmp_path / "a.duckdb", shipments=6_000, seed=3)
    b = build_logistics_warehouse(tmp_path / "b.duckdb", shipments=6_000, seed=3)
    c = build_logistics_warehouse(tmp_path / "c.duckdb", shipments=6_000, seed=4)
    assert a.rows == b.rows
    assert _dump(a.path) == _dump(b.path)
    assert _dump(a.path)["shipments"] != _dump(c.path)["shipments"]
    assert (a.first_date, a.last_date) == (LOGISTICS_START, LOGISTICS_END)


def test_keys_are_unique_and_references_resolve(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(con, "SELECT COUNT(*) FROM shipments") == 60_000
    for table, key in (("shipments", "shipment_id"), ("claims", "claim_id"), ("delivery_attempts", "attempt_id")):
        assert _one(con, f"SELECT COUNT(*) = COUNT(DISTINCT {key}) FROM {table}")
    for child, column, parent, key in (
        ("shipments", "dest_hub_id", "hubs", "hub_id"),
        ("shipments", "customer_id", "customers", "customer_id"),
        ("shipments", "courier_id", "couriers", "courier_id"),
        ("shipments", "vehicle_id", "vehicles", "vehicle_id"),
        ("delivery_attempts", "shipment_id", "shipments", "shipment_id"),
        ("claims", "shipment_id", "shipments", "shipment_id"),
    ):
        orphans = f"SELECT COUNT(*) FROM {child} c LEFT JOIN {parent} p ON c.{column} = p.{key}"
        assert _one(con, f"{orphans} WHERE c.{column} IS NOT NULL AND p.{key} IS NULL") == 0


def test_dates_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(con, "SELECT MIN(created_date), MAX(created_date) FROM shipments") == (
        date(2024, 1, 1),
        date(2025, 12, 31),
    )
    assert _one(con, "SELECT COUNT(*) FROM shipments WHERE delivered_date < created_date") == 0
    assert _one(con, "SELECT MAX(delivered_date) FROM shipments") <= LOGISTICS_END
    assert _one(con, "SELECT MAX(claim_date) FROM claims") <= LOGISTICS_END
    assert _one(con, "SELECT COUNT(*) FROM shipments WHERE (status = 'delivered') <> (delivered_date IS NOT NULL)") == 0
    late_hires = (
        "SELECT COUNT(*) FROM shipments s JOIN couriers c USING (courier_id) WHERE c.hire_date > s.created_date"
    )
    assert _one(con, late_hires) == 0


def test_some_parcels_have_no_courier(con: duckdb.DuckDBPyConnection) -> None:
    unassigned = _one(con, "SELECT COUNT(*) FROM shipments WHERE status = 'delivered' AND courier_id IS NULL")
    assert unassigned > 0
    assert (
        _one(con, "SELECT COUNT(*) FROM shipments WHERE delivery_method = 'self_pickup' AND courier_id IS NOT NULL")
        == 0
    )


def test_double_11_peak_and_spring_festival_dip(con: duckdb.DuckDBPyConnection) -> None:
    def month(m: str) -> int:
        return int(_one(con, f"SELECT COUNT(*) FROM shipments WHERE strftime(created_date, '%Y-%m') = '{m}'"))

    assert month("2025-11") > 1.3 * month("2025-10")
    assert month("2024-02") < 0.8 * month("2024-03")
    assert month("2025-06") > month("2024-06")  # growth


def test_on_time_rate_varies_by_service_level_and_drops_in_peak(con: duckdb.DuckDBPyConnection) -> None:
    rate = "AVG(CASE WHEN delivered_date <= promised_date THEN 1.0 ELSE 0.0 END)"
    by_level = dict(
        con.execute(f"SELECT service_level, {rate} FROM shipments WHERE status = 'delivered' GROUP BY 1").fetchall()
    )
    assert by_level["express"] > by_level["economy"] + 0.04
    peak = _one(
        con,
        f"SELECT {rate} FROM shipments WHERE status = 'delivered' AND created_date BETWEEN "
        "DATE '2025-11-10' AND DATE '2025-11-20'",
    )
    calm = _one(
        con,
        f"SELECT {rate} FROM shipments WHERE status = 'delivered' AND created_date BETWEEN "
        "DATE '2025-09-01' AND DATE '2025-09-30'",
    )
    assert peak < calm - 0.05


def test_size_is_checked_and_a_failed_build_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="shipments must be between"):
        build_logistics_warehouse(tmp_path / "x.duckdb", shipments=10)
    target = tmp_path / "l.duckdb"
    build_logistics_warehouse(target, shipments=5_000)
    with pytest.raises(WarehouseError, match="already exists"):
        build_logistics_warehouse(target, shipments=5_000, overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.duckdb"]


def test_bundled_domains_name_their_catalogs() -> None:
    assert set(BUNDLED_DOMAINS) == {"demo", "logistics"}
    for domain in BUNDLED_DOMAINS.values():
        assert domain.catalog_path().is_file()
    with pytest.raises(ConfigError, match="No bundled domain is called 'shop'"):
        bundled_domain("shop")


def test_cli_builds_the_logistics_warehouse(tmp_path: Path) -> None:
    from app.cli import app

    out = tmp_path / "cli.duckdb"
    args = ["warehouse", "build-demo", "--domain", "logistics", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--shipments", "5000", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "delivery_attempts" in result.output
    assert "5,000" in result.output
    assert "seed 5, shipments" in result.output
    wrong = CliRunner().invoke(app, [*args, "--orders", "5000", "--force"])
    assert wrong.exit_code != 0
    assert "--shipments" in wrong.output
