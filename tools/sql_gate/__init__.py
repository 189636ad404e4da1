"""The SQL gate: nothing reaches a warehouse unless it passes these rules.

``check_sql(sql, context)`` runs :data:`RULES` in order (lexical, parse, read_only, no_dangerous_functions,
allowlist_tables, qualify, allowlist_columns, no_cartesian_product, scope_filters, limit, transpile), each a small
pure function ``(GateState, GateContext) -> GateState`` that rejects with :class:`kubeai.errors.SQLGateError`
naming itself.
See ``docs/sql-gate.md``.
"""

from __future__ import annotations

from tools.sql_gate.context import GateContext
from tools.sql_gate.functions import (
    ALLOWED_CAST_TYPES,
    ALLOWED_FUNCTION_GROUPS,
    ALLOWED_FUNCTIONS,
    DENIED_FUNCTION_NAMES,
    DENIED_FUNCTION_PREFIXES,
    SYNTAX_FUNCTIONS,
)
from tools.sql_gate.gate import check_sql
from tools.sql_gate.rules import RULES
from tools.sql_gate.state import GateResult, GateState, Rule

__all__ = [
    "ALLOWED_CAST_TYPES",
    "ALLOWED_FUNCTIONS",
    "ALLOWED_FUNCTION_GROUPS",
    "DENIED_FUNCTION_NAMES",
    "DENIED_FUNCTION_PREFIXES",
    "RULES",
    "SYNTAX_FUNCTIONS",
    "GateContext",
    "GateResult",
    "GateState",
    "Rule",
    "check_sql",
]
