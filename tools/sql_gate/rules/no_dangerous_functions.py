"""Rule ``no_dangerous_functions``: only allowlisted functions, no table functions, no file or variable access."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from tools.sql_gate.context import GateContext
from tools.sql_gate.functions import (
    ALLOWED_CAST_TYPES,
    ALLOWED_FUNCTIONS,
    SYNTAX_FUNCTIONS,
    function_name,
    is_denied_function_name,
    written_name,
)
from tools.sql_gate.rules.lexical import LITERAL_TOKENS
from tools.sql_gate.state import GateState, reject

__all__ = ["no_dangerous_functions"]

RULE = "no_dangerous_functions"

_SOURCE_NODES: tuple[type[exp.Expr], ...] = (exp.Lateral, exp.Values, exp.TableFromRows, exp.Unnest, exp.Explode)


def _check_sources(root: exp.Expr, literal_starts: frozenset[int], sql: str) -> None:
    for node in root.find_all(*_SOURCE_NODES):
        kind = type(node).__name__.upper()
        reject(RULE, f"{kind} is not allowed as a row source; read from the allowed tables only.")
    for table in root.find_all(exp.Table):
        inner = table.this
        if isinstance(inner, exp.Func):
            reject(
                RULE,
                f"the table function {function_name(inner, sql)}() cannot be used in FROM; read from the allowed "
                "tables only.",
            )
        if not isinstance(inner, exp.Identifier):
            reject(RULE, f"the FROM item {table.sql()} is not a plain table name; read from the allowed tables.")
        if inner.meta.get("start") in literal_starts:
            reject(
                RULE,
                f"the string literal '{inner.name}' is used as a table, which reads a file or URL; "
                "name an allowed table instead.",
            )


def _check_cast(node: exp.Cast) -> None:
    target = node.to.this
    name = target.name if isinstance(target, exp.DataType.Type) else str(target).upper()
    if name not in ALLOWED_CAST_TYPES:
        reject(
            RULE,
            f"casting to {node.to.sql()} is not allowed; cast only to number, text, boolean, date or time types.",
        )


def _check_function(node: exp.Func, context: GateContext, sql: str) -> None:
    written = written_name(node, sql)
    name = written or function_name(node)
    parent = node.parent
    if isinstance(parent, exp.Dot) and parent.expression is node:
        reject(
            RULE,
            f"the schema-qualified call {parent.sql()} is not allowed; call allowlisted functions without a "
            "schema name.",
        )
    if is_denied_function_name(name) or is_denied_function_name(function_name(node)):
        reject(
            RULE,
            f"the function {name}() can read files, reach the network or the system, or change settings, "
            "so it is never allowed; compute the answer from the allowed tables.",
        )
    if name in ALLOWED_FUNCTIONS or name in context.extra_functions:
        return
    if written is None and type(node) in SYNTAX_FUNCTIONS:
        return
    reject(
        RULE,
        f"the function {name}() is not on the gate's function allowlist; use standard aggregate, window, date, "
        "string or math functions.",
    )


def no_dangerous_functions(state: GateState, context: GateContext) -> GateState:
    """Reject every call and row source the gate does not explicitly allow.

    Rejects, in this order: table-valued row sources (``LATERAL``, ``VALUES``, ``UNNEST``, a function in
    ``FROM`` such as ``read_csv(...)``, ``range(...)`` or ``duckdb_settings()``); a string literal used as a
    table (DuckDB ``FROM 'file.csv'``, which reads the file); any call whose name is on the denylist
    (:data:`tools.sql_gate.functions.DENIED_FUNCTION_NAMES` and prefixes: file, network, system, settings,
    sleep and catalog functions, whatever their quoting or case); schema-qualified calls (``main.lower(x)``);
    any other call whose written name is not on the allowlist
    (:data:`tools.sql_gate.functions.ALLOWED_FUNCTIONS` plus ``GateContext.extra_functions``), and grammar nodes
    outside :data:`tools.sql_gate.functions.SYNTAX_FUNCTIONS`; casts to types outside
    :data:`tools.sql_gate.functions.ALLOWED_CAST_TYPES` (``'pg_shadow'::regclass``); and placeholders,
    ``@variables`` and ``@@session`` parameters, which read state outside the query.
    """
    root = state.tree(RULE)
    literal_starts = frozenset(t.start for t in state.tokens if t.token_type in LITERAL_TOKENS)
    _check_sources(root, literal_starts, state.sql)
    for node in root.walk():
        if isinstance(node, exp.Func):
            _check_function(node, context, state.sql)
            if isinstance(node, exp.Cast):
                _check_cast(node)
        elif isinstance(node, exp.Placeholder | exp.Parameter | exp.SessionParameter):
            reject(
                RULE,
                f"the parameter {node.sql()} reads a value from outside the query; write the value as a literal.",
            )
    return replace(state, rules=(*state.rules, RULE))
