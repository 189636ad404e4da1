"""Rules ``allowlist_tables`` and ``allowlist_columns``: only allowlisted tables and columns are read."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.scope import traverse_scope

from tools.sql_gate.context import GateContext
from tools.sql_gate.rules._sources import real_tables, table_aliases
from tools.sql_gate.state import GateState, error_summary, reject

__all__ = ["allowlist_columns", "allowlist_tables"]

TABLES_RULE = "allowlist_tables"
COLUMNS_RULE = "allowlist_columns"


def _scope_error(rule: str, error: OptimizeError) -> None:
    reject(
        rule,
        f"the query's scopes cannot be resolved ({error_summary(error)}); give every source a distinct alias.",
    )


def allowlist_tables(state: GateState, context: GateContext) -> GateState:
    """Check every table the query reads against the allowlist, after resolving CTE names.

    Identifiers are first normalized the way the source dialect compares them (unquoted names fold to lower
    case; PostgreSQL keeps quoted names exact). A CTE may take any name, even one of a denied table, because
    references to it read the CTE; a table aliased with a CTE's name is still checked as the real table.

    Rejects: schema- or catalog-qualified names (``information_schema.tables``, ``pg_catalog.pg_user``,
    ``main.orders``, ``other_db.orders``) and any table not in the allowlist (``sqlite_master``,
    ``duckdb_tables``, ``pg_shadow``).
    """
    root = normalize_identifiers(state.tree(TABLES_RULE).copy(), dialect=context.source_dialect)
    try:
        tables = real_tables(root)
    except OptimizeError as error:
        _scope_error(TABLES_RULE, error)
    allowed = ", ".join(sorted(context.schema))
    used: set[str] = set()
    for table in tables:
        if table.args.get("db") or table.args.get("catalog"):
            reject(
                TABLES_RULE,
                f"{table.sql(dialect=context.source_dialect)} is a schema-qualified name; use an unqualified "
                f"allowed table: {allowed}.",
            )
        alias = table.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns:
            reject(
                TABLES_RULE,
                f"the column list in {alias.sql(dialect=context.source_dialect)} renames the columns of "
                f"{table.name}; alias columns in the SELECT list instead.",
            )
        if table.name not in context.schema:
            reject(TABLES_RULE, f"the table {table.name!r} is not allowed; use one of: {allowed}.")
        used.add(table.name)
    return replace(state, expression=root, tables=tuple(sorted(used)), rules=(*state.rules, TABLES_RULE))


def _check_whole_rows(root: exp.Expr) -> None:
    """Reject every way of reading a row without naming its columns, which would bypass the column check."""
    whole_row = root.find(exp.TableColumn)
    if whole_row is not None:
        reject(
            COLUMNS_RULE,
            f"{whole_row.name} names a whole table row, not a column; select the columns you need by name.",
        )
    positional = root.find(exp.PositionalColumn)
    if positional is not None:
        reject(COLUMNS_RULE, f"the positional column {positional.sql()} hides which column is read; name it.")
    for star in root.find_all(exp.Star):
        parent = star.parent
        if isinstance(parent, exp.Count) and parent.this is star:
            continue
        shown = parent.sql() if isinstance(parent, exp.Column) else "*"
        reject(
            COLUMNS_RULE,
            f"{shown} outside the SELECT list reads whole rows; select the columns you need by name.",
        )


def _check_column(context: GateContext, table: str, column: str) -> None:
    readable = context.readable_columns(table)
    if column not in readable:
        reject(
            COLUMNS_RULE,
            f"the column {table}.{column} may not be read; the readable columns of {table} are: "
            f"{', '.join(sorted(readable))}.",
        )


def allowlist_columns(state: GateState, context: GateContext) -> GateState:
    """Check every column read from a real table against the table's readable columns.

    Runs after ``qualify``, so stars are expanded and every column names its source. Columns of CTEs and
    subqueries are traced through their own scopes down to the real tables they read.

    Rejects: a column that exists in the schema but is not readable under ``GateContext.allowed_columns``
    (including through ``SELECT *``), and every way to read a row without naming its columns: a bare table
    name used as a value (``SELECT users FROM users``, ``u::text``), a star outside ``COUNT(*)``
    (``(u.*)::text LIKE '%@%'``), and DuckDB positional columns (``SELECT #3 FROM users``).
    """
    root = state.tree(COLUMNS_RULE)
    try:
        aliases = table_aliases(root)
        scopes = traverse_scope(root)
    except OptimizeError as error:
        _scope_error(COLUMNS_RULE, error)
    _check_whole_rows(root)
    used: set[str] = set()
    seen: set[int] = set()
    for scope in scopes:
        for column in scope.columns:
            seen.add(id(column))
            table = aliases.get((id(scope.expression), column.table))
            if table is not None:
                _check_column(context, table, column.name)
                used.add(f"{table}.{column.name}")
    # Defense in depth: a column the scope walk did not list is checked against every table its alias names.
    tables_by_alias: dict[str, set[str]] = {}
    for (_, alias), table in aliases.items():
        tables_by_alias.setdefault(alias, set()).add(table)
    for column in root.find_all(exp.Column):
        if id(column) not in seen:
            for table in sorted(tables_by_alias.get(column.table, ())):
                _check_column(context, table, column.name)
    return replace(state, columns=tuple(sorted(used)), rules=(*state.rules, COLUMNS_RULE))
