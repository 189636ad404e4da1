"""The function allowlist against the engines' own function lists.

DuckDB's list comes from the installed engine (``duckdb_functions()``); PostgreSQL's is a fixture made from
``pg_proc`` of PostgreSQL 15 (``fixtures/postgres_functions.txt``, regenerated the way its header says).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb
import pytest

from kubeai.errors import SQLGateError
from tests.unit.tools.sql_gate.sql_gate_samples import make_context
from tools.sql_gate import ALLOWED_FUNCTION_GROUPS, ALLOWED_FUNCTIONS, GateContext, check_sql
from tools.sql_gate.functions import SQL_GRAMMAR_NAMES, is_denied_function_name
from tools.sql_gate.rules import lexical, no_dangerous_functions, parse, read_only

FIXTURE = Path(__file__).parent / "fixtures" / "postgres_functions.txt"
UP_TO_FUNCTIONS = (lexical, parse, read_only, no_dangerous_functions)
ARGUMENTS = ("amount", "status", "created_at", "1")
# sqlglot reads DuckDB's ``apply(x, y)`` as the column ``apply`` with aliases ``x`` and ``y``: no call at all.
NOT_CALLS = frozenset({"apply"})


@cache
def duckdb_functions() -> dict[str, frozenset[str]]:
    """DuckDB's function names by type (scalar, aggregate, window, macro, table, table_macro, pragma)."""
    connection = duckdb.connect(":memory:")
    try:
        rows = connection.execute("SELECT DISTINCT function_name, function_type FROM duckdb_functions()").fetchall()
    finally:
        connection.close()
    by_type: dict[str, set[str]] = {}
    for name, kind in rows:
        by_type.setdefault(kind, set()).add(name.lower())
    return {kind: frozenset(names) for kind, names in by_type.items()}


@cache
def postgres_functions() -> frozenset[str]:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@cache
def _context(dialect: str) -> GateContext:
    return make_context(source_dialect=dialect)


def _callable_in_duckdb() -> frozenset[str]:
    kinds = duckdb_functions()
    return frozenset().union(*(kinds.get(kind, frozenset()) for kind in ("scalar", "aggregate", "window", "macro")))


def _verdict(name: str, dialect: str) -> str:
    """``allowed``, the rule that rejects a call of ``name``, or ``parse`` when no argument count from 0 to 4
    parses. The gate runs up to ``no_dangerous_functions``, so passing ends in the missing-transpile rejection."""
    for count in range(len(ARGUMENTS) + 1):
        sql = f"SELECT {name}({', '.join(ARGUMENTS[:count])}) FROM orders"
        try:
            check_sql(sql, _context(dialect), rules=UP_TO_FUNCTIONS)
        except SQLGateError as error:
            if error.rule == "parse":
                continue
            return "allowed" if error.rule == "transpile" else error.rule
    return "parse"


def test_every_allowed_name_exists_in_duckdb_or_postgres() -> None:
    known = _callable_in_duckdb() | postgres_functions() | SQL_GRAMMAR_NAMES
    assert sorted(ALLOWED_FUNCTIONS - known) == []
    # Grammar names are listed only because neither catalog has them.
    assert sorted(name for name in SQL_GRAMMAR_NAMES if name in postgres_functions()) == []
    assert SQL_GRAMMAR_NAMES <= ALLOWED_FUNCTIONS


def test_groups_are_disjoint_and_nothing_allowed_is_denied() -> None:
    seen: set[str] = set()
    for group, names in ALLOWED_FUNCTION_GROUPS.items():
        assert not (seen & names), f"{group} repeats {sorted(seen & names)}"
        seen |= names
    assert sorted(name for name in ALLOWED_FUNCTIONS if is_denied_function_name(name)) == []


def test_no_table_function_or_pragma_is_allowed() -> None:
    kinds = duckdb_functions()
    sources = kinds.get("table", frozenset()) | kinds.get("table_macro", frozenset()) | kinds.get("pragma", frozenset())
    assert sorted(ALLOWED_FUNCTIONS & sources) == []


@pytest.mark.parametrize("name", sorted(ALLOWED_FUNCTIONS))
def test_every_allowed_name_passes_the_function_rule(name: str) -> None:
    dialects = ["duckdb"] if name in _callable_in_duckdb() | SQL_GRAMMAR_NAMES else []
    if name in postgres_functions() | SQL_GRAMMAR_NAMES:
        dialects.append("postgres")
    for dialect in dialects:
        assert _verdict(name, dialect) == "allowed", f"{name}() in {dialect}"


def test_every_other_duckdb_function_is_rejected() -> None:
    """Fail closed: of DuckDB's own functions, exactly the allowlisted ones pass; the rest (file, network,
    settings, catalog, session state, sleeping, unbounded allocation, and everything not reviewed) do not."""
    passed = sorted(
        name
        for name in _callable_in_duckdb() - ALLOWED_FUNCTIONS - NOT_CALLS
        if name.replace("_", "").isalnum() and _verdict(name, "duckdb") == "allowed"
    )
    assert passed == []


DENIED_SAMPLES = (
    "read_csv",
    "read_parquet",
    "read_text",
    "glob",
    "sniff_csv",
    "parquet_metadata",
    "duckdb_settings",
    "duckdb_secrets",
    "current_setting",
    "getvariable",
    "sleep_ms",
    "write_log",
    "query",
    "query_table",
    "current_query",
    "json_execute_serialized_sql",
    "setseed",
    "nextval",
    "currval",
    "version",
)


@pytest.mark.parametrize("name", DENIED_SAMPLES)
def test_denied_duckdb_functions_are_rejected_in_every_position(name: str) -> None:
    assert is_denied_function_name(name)
    context = _context("duckdb")
    rules: list[str] = []
    for arguments in ("", "'x'"):
        for sql in (
            f"SELECT {name}({arguments}) FROM orders",
            f"SELECT * FROM {name}({arguments})",
            f'SELECT "{name}"({arguments}) FROM orders',
        ):
            with pytest.raises(SQLGateError) as caught:
                check_sql(sql, context)
            rules.append(caught.value.rule)
    assert set(rules) <= {"no_dangerous_functions", "parse"}
    assert "no_dangerous_functions" in rules


def test_every_duckdb_table_function_and_pragma_is_rejected() -> None:
    kinds = duckdb_functions()
    sources = kinds.get("table", frozenset()) | kinds.get("table_macro", frozenset()) | kinds.get("pragma", frozenset())
    context = _context("duckdb")
    let_through = []
    for name in sorted(sources):
        if not name.replace("_", "").isalnum():
            continue
        try:
            check_sql(f"SELECT * FROM {name}()", context)
        except SQLGateError as error:
            if error.rule not in {"no_dangerous_functions", "parse"}:
                let_through.append(f"{name}: {error.rule}")
        else:
            let_through.append(name)
    assert let_through == []


def test_denied_postgres_functions_stay_denied() -> None:
    """Every PostgreSQL function on the denylist (files, large objects, sleeping, settings, signals, catalog and
    privilege probes, query-string runners such as query_to_xml and ts_stat) is rejected when called."""
    denied = sorted(name for name in postgres_functions() if is_denied_function_name(name))
    assert {"pg_read_file", "pg_sleep", "lo_import", "set_config", "query_to_xml", "ts_stat"} <= set(denied)
    let_through = [name for name in denied if _verdict(name, "postgres") not in {"no_dangerous_functions", "parse"}]
    assert let_through == []


def test_extra_functions_allow_a_named_udf() -> None:
    sql = "SELECT fiscal_week(created_at) AS w FROM orders"
    with pytest.raises(SQLGateError, match="not on the gate's function allowlist"):
        check_sql(sql, make_context())
    assert "fiscal_week" in check_sql(sql, make_context(extra_functions=frozenset({"fiscal_week"}))).sql.lower()
