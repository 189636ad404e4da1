from __future__ import annotations

import time
from pathlib import Path

import pytest

from kubeai.errors import WarehouseError
from tools.warehouse import DuckDBRunner, PlanEstimate, QueryResult, SQLRunner, open_runner


@pytest.fixture
def runner(duck_path: Path) -> DuckDBRunner:
    opened = DuckDBRunner(duck_path)
    yield opened  # type: ignore[misc]
    opened.close()


def test_runner_satisfies_the_protocol(runner: DuckDBRunner) -> None:
    assert isinstance(runner, SQLRunner)
    assert runner.dialect == "duckdb"


def test_query_returns_a_typed_frame(runner: DuckDBRunner) -> None:
    sql = (
        "SELECT r.region_name, count(*) AS orders, sum(o.paid_amount) AS gmv, min(o.order_date) AS first_day "
        "FROM orders o JOIN regions r USING (region_id) GROUP BY 1 ORDER BY 1"
    )
    before = time.perf_counter()
    result = runner.run(sql, max_rows=100, timeout_s=10)
    took = time.perf_counter() - before
    assert isinstance(result, QueryResult)
    assert result.sql == sql
    assert not result.truncated
    # elapsed_s is the query's own wall time: measured (not zero) and inside the call that produced it.
    assert 0 < result.elapsed_s <= took
    frame = result.frame
    assert frame["region_name"].tolist() == ["West", "华东", "华北"]
    assert frame["orders"].tolist() == [1666, 1667, 1667]
    assert str(frame["gmv"].dtype) == "float64"  # DECIMAL becomes float, like every backend
    assert str(frame["first_day"].dtype).startswith("datetime64")


def test_row_cap_fetches_one_extra_row_to_flag_truncation(runner: DuckDBRunner) -> None:
    capped = runner.run("SELECT order_id FROM orders ORDER BY order_id", max_rows=10, timeout_s=10)
    assert capped.truncated
    assert capped.frame["order_id"].tolist() == list(range(10))
    exact = runner.run("SELECT order_id FROM orders WHERE order_id < 10", max_rows=10, timeout_s=10)
    assert not exact.truncated
    assert len(exact.frame) == 10


def test_huge_result_is_not_materialised(runner: DuckDBRunner) -> None:
    # 10^12 rows: only max_rows + 1 are ever produced, so this returns at once instead of exhausting memory.
    result = runner.run("SELECT range AS n FROM range(1000000000000)", max_rows=5, timeout_s=30)
    assert result.truncated
    assert result.frame["n"].tolist() == [0, 1, 2, 3, 4]


def test_duplicate_column_names_are_kept_apart(runner: DuckDBRunner) -> None:
    frame = runner.run("SELECT 1 AS a, 2 AS a", max_rows=1, timeout_s=5).frame
    assert list(frame.columns) == ["a", "a_2"]


def test_timeout_interrupts_and_the_connection_survives(runner: DuckDBRunner) -> None:
    endless = "SELECT count(*) FROM range(100000000000) a, range(1000) b"
    with pytest.raises(WarehouseError, match=r"^The query ran longer than 0.5 s and was cancelled; narrow the date"):
        runner.run(endless, max_rows=1, timeout_s=0.5)
    assert runner.run("SELECT 7 AS x", max_rows=1, timeout_s=5).frame["x"].tolist() == [7]


def test_database_errors_quote_duckdb(runner: DuckDBRunner) -> None:
    with pytest.raises(WarehouseError, match=r'DuckDB rejected the query \(Binder Error: .*"nope"'):
        runner.run("SELECT nope FROM orders", max_rows=1, timeout_s=5)
    with pytest.raises(WarehouseError, match="syntax error"):
        runner.run("SELEC 1", max_rows=1, timeout_s=5)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("CREATE TABLE stolen (x INTEGER)", "read-only mode"),
        ("INSERT INTO regions VALUES (9, '火星')", "read-only mode"),
        ("UPDATE orders SET paid_amount = 0", "read-only mode"),
        ("DELETE FROM orders", "read-only mode"),
        ("DROP TABLE orders", "read-only mode"),
        ("COPY orders TO '/tmp/kubeai-stolen.csv'", "file system operations are disabled"),
        ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
        ("SELECT * FROM read_text('/etc/hostname')", "file system operations are disabled"),
        ("SELECT * FROM glob('/etc/*')", "file system operations are disabled"),
        ("ATTACH '/tmp/kubeai-other.duckdb' AS other", "file system operations are disabled"),
        ("INSTALL httpfs", "file system operations are disabled"),
        ("LOAD httpfs", "disabled through configuration"),
        ("SET enable_external_access = true", "configuration has been locked"),
        ("SET lock_configuration = false", "configuration has been locked"),
        ("SET autoinstall_known_extensions = true", "configuration has been locked"),
        ("EXPORT DATABASE '/tmp/kubeai-export'", "file system operations are disabled"),
    ],
)
def test_defence_in_depth_without_the_gate(runner: DuckDBRunner, sql: str, reason: str) -> None:
    with pytest.raises(WarehouseError, match=reason):
        runner.run(sql, max_rows=1, timeout_s=5)
    assert runner.run("SELECT count(*) AS n FROM regions", max_rows=1, timeout_s=5).frame["n"].tolist() == [3]
    assert not Path("/tmp/kubeai-stolen.csv").exists()
    assert not Path("/tmp/kubeai-other.duckdb").exists()


def test_missing_file_names_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match=r"does not exist; build the demo with `kubeai warehouse build-demo`"):
        open_runner(str(tmp_path / "absent.duckdb"))
    assert not (tmp_path / "absent.duckdb").exists()


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_bytes(b"not a database at all" * 100)
    with pytest.raises(WarehouseError, match=r"^Could not open .* as a DuckDB warehouse"):
        DuckDBRunner(bogus)


def test_closed_runner_says_so(duck_path: Path) -> None:
    runner = DuckDBRunner(duck_path)
    runner.close()
    runner.close()
    with pytest.raises(WarehouseError, match="closed"):
        runner.run("SELECT 1", max_rows=1, timeout_s=1)


@pytest.mark.parametrize(("max_rows", "timeout_s"), [(0, 1.0), (5, 0.0), (5, -1.0)])
def test_limits_are_validated(runner: DuckDBRunner, max_rows: int, timeout_s: float) -> None:
    with pytest.raises(WarehouseError, match="must be"):
        runner.run("SELECT 1", max_rows=max_rows, timeout_s=timeout_s)


def test_estimate_is_the_largest_step_of_the_plan(runner: DuckDBRunner) -> None:
    # count(*) returns one row, but the product it counts has 5,000 x 5,000 rows.
    assert runner.estimate("SELECT count(*) FROM orders a, orders b", timeout_s=5) == PlanEstimate(
        rows=25_000_000, engine="DuckDB"
    )
    keyed = runner.estimate("SELECT count(*) FROM orders o JOIN regions r USING (region_id)", timeout_s=5)
    assert keyed is not None and keyed.rows <= 5_000


def test_a_query_estimated_over_the_bound_is_refused_before_it_runs(duck_path: Path) -> None:
    bounded = open_runner(str(duck_path), max_estimated_rows=1_000_000)
    try:
        # 1.25 * 10^11 rows: run, it would end only at the 30 s timeout, with the timeout's message instead.
        endless = "SELECT count(*) FROM orders a, orders b, orders c"
        with pytest.raises(WarehouseError) as caught:
            bounded.run(endless, max_rows=1, timeout_s=30)
        assert str(caught.value) == (
            "DuckDB estimates that this query builds about 125,000,000,000 rows in one step, more than "
            "warehouse.max_estimated_rows (1,000,000), so it was not run; join every table on its key and filter "
            "before aggregating."
        )
        # A small cross join of a tiny dimension (3 regions x 5,000 orders) is under the bound and runs.
        small = bounded.run("SELECT count(*) AS n FROM orders o, regions r", max_rows=1, timeout_s=30)
        assert small.frame["n"].tolist() == [15_000]
    finally:
        bounded.close()


def test_without_a_bound_nothing_is_estimated(runner: DuckDBRunner) -> None:
    assert runner.max_estimated_rows is None
    assert runner.run("SELECT count(*) AS n FROM orders a, orders b", max_rows=1, timeout_s=30).frame["n"].tolist() == [
        25_000_000
    ]


def test_estimate_errors_are_one_sentence(runner: DuckDBRunner) -> None:
    with pytest.raises(WarehouseError, match=r'^DuckDB rejected the query \(Binder Error: .*"nope"'):
        runner.estimate("SELECT nope FROM orders", timeout_s=5)
