"""The gate's steps, one small pure function per file, and :data:`RULES`, the order they run in."""

from __future__ import annotations

from tools.sql_gate.rules.allowlist import allowlist_columns, allowlist_tables
from tools.sql_gate.rules.lexical import lexical
from tools.sql_gate.rules.limit import limit
from tools.sql_gate.rules.no_cartesian_product import no_cartesian_product
from tools.sql_gate.rules.no_dangerous_functions import no_dangerous_functions
from tools.sql_gate.rules.parse import parse
from tools.sql_gate.rules.qualify import qualify
from tools.sql_gate.rules.read_only import read_only
from tools.sql_gate.rules.scope_filters import scope_filters
from tools.sql_gate.rules.transpile import transpile
from tools.sql_gate.state import Rule

__all__ = [
    "RULES",
    "allowlist_columns",
    "allowlist_tables",
    "lexical",
    "limit",
    "no_cartesian_product",
    "no_dangerous_functions",
    "parse",
    "qualify",
    "read_only",
    "scope_filters",
    "transpile",
]

RULES: tuple[Rule, ...] = (
    lexical,
    parse,
    read_only,
    no_dangerous_functions,
    allowlist_tables,
    qualify,
    allowlist_columns,
    no_cartesian_product,
    scope_filters,
    limit,
    transpile,
)
"""Every step in order; each one's ``__name__`` is the ``rule`` a rejection names."""
