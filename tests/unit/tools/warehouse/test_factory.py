from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kubeai.errors import WarehouseError
from tools.warehouse import SQLALCHEMY_DIALECTS, DuckDBRunner, PostgresRunner, SQLAlchemyRunner, open_runner


@pytest.mark.parametrize("form", ["{rel}", "duckdb:{rel}", "duckdb:{abs}", "duckdb://{abs}", " {abs} "])
def test_duckdb_url_forms(duck_path: Path, tmp_path: Path, form: str) -> None:
    local = tmp_path / "w.duckdb"
    shutil.copy(duck_path, local)
    runner = open_runner(form.format(rel="w.duckdb", abs=local), base_dir=tmp_path)
    try:
        assert isinstance(runner, DuckDBRunner)
        assert runner.path == local
    finally:
        runner.close()


def test_relative_duckdb_path_without_base_dir_uses_cwd(
    duck_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(duck_path, tmp_path / "here.duckdb")
    monkeypatch.chdir(tmp_path)
    runner = open_runner("here.duckdb")
    assert isinstance(runner, DuckDBRunner)
    runner.close()


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@localhost/db", "postgres://u:p@h:5433/db", "postgresql+psycopg://u@h/db", "POSTGRESQL://u@h/d"],
)
def test_postgres_urls_go_to_psycopg_without_connecting(url: str) -> None:
    runner = open_runner(url)
    assert isinstance(runner, PostgresRunner)
    assert runner.dialect == "postgres"
    assert runner.url.startswith(("postgresql://", "postgres://", "POSTGRESQL://"))
    runner.close()


def test_other_sqlalchemy_urls(sqlite_path: Path) -> None:
    runner = open_runner(f"sqlite:///{sqlite_path}")
    assert isinstance(runner, SQLAlchemyRunner)
    assert runner.dialect == "sqlite"
    runner.close()


def test_dialect_table_maps_to_real_sqlglot_dialects() -> None:
    import sqlglot

    for dialect in SQLALCHEMY_DIALECTS.values():
        assert sqlglot.Dialect.get_or_raise(dialect) is not None
    assert SQLALCHEMY_DIALECTS["mssql"] == "tsql"
    with pytest.raises(TypeError):
        SQLALCHEMY_DIALECTS["evil"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("duckdb:", "must name a DuckDB file"),
        ("duckdb::memory:", "must name a DuckDB file"),
        ("nosuchdb://h/d", "'nosuchdb' is not supported"),
        ("os.system://x", "not a valid SQLAlchemy URL"),
        ("mysql:host/db", "neither a file path nor a dialect"),
        ("bad\x00path.duckdb", "control characters"),
        ("missing.duckdb", "does not exist"),
        ("sqlite://", "must name a database file"),
        ("sqlite:///:memory:", "must name a database file"),
        ("sqlite:///nope.db", "does not exist"),
    ],
)
def test_bad_urls_are_one_clear_sentence(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(WarehouseError, match=message) as caught:
        open_runner(url, base_dir=tmp_path)
    text = str(caught.value)
    assert text.endswith(".")
    assert "\n" not in text


def test_missing_driver_is_named() -> None:
    with pytest.raises(WarehouseError, match=r"driver .* is not installed"):
        open_runner("mssql+pyodbc://u:p@dsn")
