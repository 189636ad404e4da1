from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from knowledge.warehouse import DEMO_END, DEMO_START, build_demo_warehouse
from knowledge.warehouse import demo as demo_module
from kubeai.errors import WarehouseError

TABLES = ("regions", "cities", "categories", "products", "channels", "users", "orders", "order_items", "refunds")


@pytest.fixture
def con(small_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(small_warehouse), read_only=True)
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
    a = build_demo_warehouse(tmp_path / "a.duckdb", orders=3_000, seed=11)
    b = build_demo_warehouse(tmp_path / "b.duckdb", orders=3_000, seed=11)
    c = build_demo_warehouse(tmp_path / "c.duckdb", orders=3_000, seed=12)
    assert a.rows == b.rows
    assert _dump(a.path) == _dump(b.path)
    assert _dump(a.path)["orders"] != _dump(c.path)["orders"]


def test_row_counts_and_keys(con: duckdb.DuckDBPyConnection) -> None:
    counts = {t: _one(con, f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    assert counts["orders"] == 20_000
    assert counts["regions"] == 7
    assert counts["channels"] == 5
    assert counts["categories"] == 12
    assert counts["order_items"] > counts["orders"]
    assert 0.02 * counts["orders"] < counts["refunds"] < 0.15 * counts["orders"]
    for table, key in (
        ("orders", "order_id"),
        ("order_items", "order_item_id"),
        ("users", "user_id"),
        ("products", "product_id"),
        ("refunds", "refund_id"),
    ):
        assert _one(con, f"SELECT COUNT(DISTINCT {key}) = COUNT(*) FROM {table}"), table
    orphans = """
        SELECT (SELECT COUNT(*) FROM orders o ANTI JOIN users u USING (user_id))
             + (SELECT COUNT(*) FROM orders o ANTI JOIN cities c USING (city_id))
             + (SELECT COUNT(*) FROM order_items i ANTI JOIN orders o USING (order_id))
             + (SELECT COUNT(*) FROM order_items i ANTI JOIN products p USING (product_id))
             + (SELECT COUNT(*) FROM refunds r ANTI JOIN orders o USING (order_id))
             + (SELECT COUNT(*) FROM orders o ANTI JOIN order_items i USING (order_id))
    """
    assert _one(con, orphans) == 0


def test_amounts_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    assert (
        _one(con, "SELECT COUNT(*) FROM orders WHERE paid_amount <> gross_amount - discount_amount + shipping_fee") == 0
    )
    assert _one(con, "SELECT MIN(paid_amount) > 0 AND MIN(discount_amount) >= 0 FROM orders")
    refund_checks = """
        SELECT COUNT(*) FILTER (WHERE r.refund_amount > o.paid_amount OR r.refund_amount <= 0),
               COUNT(*) FILTER (WHERE r.refund_date < o.order_date),
               COUNT(*) FILTER (WHERE o.status <> 'refunded')
        FROM refunds r JOIN orders o USING (order_id)
    """
    assert _one(con, refund_checks) == (0, 0, 0)
    assert (
        _one(
            con,
            "SELECT COUNT(*) FROM orders WHERE status = 'refunded' AND order_id NOT IN (SELECT order_id FROM refunds)",
        )
        == 0
    )
    items = (
        "SELECT COUNT(*) FROM (SELECT order_id, SUM(quantity) q FROM order_items GROUP BY 1) "
        "JOIN orders USING (order_id) WHERE q <> item_count"
    )
    assert _one(con, items) == 0


def test_dates_are_in_range(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(con, "SELECT MIN(order_date), MAX(order_date) FROM orders") == (DEMO_START, DEMO_END)
    assert _one(con, "SELECT MAX(refund_date) FROM refunds") <= DEMO_END
    assert _one(con, "SELECT COUNT(*) FROM orders WHERE CAST(order_time AS DATE) <> order_date") == 0
    assert (
        _one(con, "SELECT COUNT(*) FROM orders o JOIN users u USING (user_id) WHERE o.order_date < u.registered_date")
        == 0
    )
    assert _one(con, "SELECT MAX(registered_date) FROM users") <= DEMO_END


def test_distributions_look_like_a_shop(con: duckdb.DuckDBPyConnection) -> None:
    per_day = _one(con, "SELECT COUNT(*) / 731.0 FROM orders")
    assert _one(con, "SELECT COUNT(*) FROM orders WHERE order_date = DATE '2025-11-11'") > 3 * per_day
    spring = _one(
        con, "SELECT COUNT(*) / 7.0 FROM orders WHERE order_date BETWEEN DATE '2025-01-29' AND DATE '2025-02-04'"
    )
    assert spring < 0.7 * per_day
    assert _one(con, "SELECT COUNT(*) FILTER (WHERE user_order_seq >= 2) * 1.0 / COUNT(*) FROM orders") > 0.3
    # Apparel is refunded far more often than books.
    rates = dict(
        con.execute("""
        SELECT c.category_name_en, COUNT(DISTINCT r.order_id) * 1.0 / COUNT(DISTINCT o.order_id)
        FROM orders o JOIN order_items i USING (order_id) JOIN products p USING (product_id)
        JOIN categories c USING (category_id) LEFT JOIN refunds r ON r.order_id = o.order_id
        WHERE o.status <> 'cancelled' GROUP BY 1
    """).fetchall()
    )
    assert rates["Apparel"] > 2 * rates["Books"]
    # Prices are skewed: the mean order is well above the median order.
    mean, median = _one(con, "SELECT AVG(paid_amount), MEDIAN(paid_amount) FROM orders")
    assert mean > 1.3 * float(median)


def test_refuses_bad_sizes_and_existing_files(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="orders must be between"):
        build_demo_warehouse(tmp_path / "x.duckdb", orders=10)
    existing = tmp_path / "existing.duckdb"
    existing.write_bytes(b"keep me")
    with pytest.raises(WarehouseError, match="already exists"):
        build_demo_warehouse(existing, orders=1_000, overwrite=False)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(WarehouseError, match="is a folder"):
        build_demo_warehouse(tmp_path, orders=1_000)


def test_failed_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_load = demo_module._load

    def load_then_fail(con: duckdb.DuckDBPyConnection, frames: Any) -> None:
        real_load(con, frames)
        con.execute("SELECT * FROM no_such_table")  # a DuckDB failure after every table was written

    monkeypatch.setattr(demo_module, "_load", load_then_fail)
    target = tmp_path / "out" / "demo.duckdb"
    with pytest.raises(WarehouseError, match="nothing was written"):
        build_demo_warehouse(target, orders=1_000)
    assert list(target.parent.iterdir()) == []


def test_replacing_is_atomic_and_keeps_the_new_data(tmp_path: Path) -> None:
    target = tmp_path / "demo.duckdb"
    build_demo_warehouse(target, orders=1_000, seed=1)
    report = build_demo_warehouse(target, orders=2_000, seed=1)
    assert report.rows["orders"] == 2_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]
    assert (report.first_date, report.last_date) == (date(2024, 1, 1), date(2025, 12, 31))


def test_cli_builds_and_prints_counts(tmp_path: Path) -> None:
    from app.cli import app

    out = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(app, ["warehouse", "build-demo", "--out", str(out), "--orders", "1500", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "order_items" in result.output
    assert "1,500" in result.output
    assert f"built {out}" in result.output
    assert "seed 3" in result.output
    again = CliRunner().invoke(app, ["warehouse", "build-demo", "--out", str(out), "--orders", "1500"])
    assert again.exit_code != 0
