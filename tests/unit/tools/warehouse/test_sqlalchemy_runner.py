from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kubeai.errors import WarehouseError
from tools.warehouse import SQLAlchemyRunner, SQLRunner, open_runner


@pytest.fixture
def runner(sqlite_path: Path) -> SQLAlchemyRunner:
    opened = SQLAlchemyRunner(f"sqlite:///{sqlite_path.name}", base_dir=sqlite_path.parent)
    yield opened  # type: ignore[misc]
    opened.close()


def test_sqlite_query_and_row_cap(runner: SQLAlchemyRunner) -> None:
    assert isinstance(runner, SQLRunner)
    frame = runner.run("SELECT region_name FROM regions ORDER BY region_id", max_rows=10, timeout_s=5).frame
    assert frame["region_name"].tolist() == ["华东", "华北", "West"]
    capped = runner.run("SELECT n FROM numbers ORDER BY n", max_rows=7, timeout_s=5)
    assert capped.truncated
    assert capped.frame["n"].tolist() == list(range(7))
    assert not runner.run("SELECT n FROM numbers", max_rows=1000, timeout_s=5).truncated


def test_percent_and_colon_in_sql_are_not_parameters(runner: SQLAlchemyRunner) -> None:
    sql = "SELECT region_name FROM regions WHERE region_name LIKE '%东' AND ':x' = ':x'"
    assert runner.run(sql, max_rows=5, timeout_s=5).frame["region_name"].tolist() == ["华东"]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("CREATE TABLE stolen (x)", "readonly database"),
        ("INSERT INTO regions VALUES (9, '火星')", "readonly database"),
        ("DELETE FROM numbers", "readonly database"),
        ("ATTACH DATABASE '{tmp}/other.db' AS other", "not authorized"),
    ],
)
def test_sqlite_is_opened_read_only(runner: SQLAlchemyRunner, tmp_path: Path, sql: str, reason: str) -> None:
    with pytest.raises(WarehouseError, match=reason):
        runner.run(sql.format(tmp=tmp_path), max_rows=1, timeout_s=5)
    assert not (tmp_path / "other.db").exists()
    assert runner.run("SELECT count(*) AS n FROM numbers", max_rows=1, timeout_s=5).frame["n"].tolist() == [1000]


def test_sqlite_timeout_interrupts(runner: SQLAlchemyRunner) -> None:
    endless = (
        "WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000000) SELECT sum(n) FROM r"
    )
    with pytest.raises(WarehouseError, match=r"^The query ran longer than 0.5 s and was cancelled"):
        runner.run(endless, max_rows=1, timeout_s=0.5)
    assert runner.run("SELECT 1 AS one", max_rows=1, timeout_s=5).frame["one"].tolist() == [1]


def test_errors_quote_sqlite(runner: SQLAlchemyRunner) -> None:
    with pytest.raises(WarehouseError, match=r"sqlite rejected the query \(no such column: nope\)"):
        runner.run("SELECT nope FROM regions", max_rows=1, timeout_s=5)


def test_file_on_disk_is_unchanged_by_a_session(sqlite_path: Path) -> None:
    before = sqlite_path.read_bytes()
    runner = open_runner(f"sqlite:///{sqlite_path}")
    for sql in ("UPDATE regions SET region_name = 'x'", "DROP TABLE numbers"):
        with pytest.raises(WarehouseError):
            runner.run(sql, max_rows=1, timeout_s=5)
    runner.close()
    assert sqlite_path.read_bytes() == before
    with sqlite3.connect(sqlite_path) as conn:
        assert conn.execute("SELECT count(*) FROM numbers").fetchone() == (1000,)


def test_sqlalchemy_runners_give_no_estimate_and_ignore_no_bound(runner: SQLAlchemyRunner) -> None:
    # No EXPLAIN row estimates here: the SQL gate's cartesian-product rule and the timeout are the guards.
    assert runner.estimate("SELECT count(*) FROM numbers a, numbers b", timeout_s=5) is None
