"""Rule ``transpile``: render the checked tree in the target dialect and confirm it reads back as one query."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, SqlglotError

from tools.sql_gate.context import GateContext
from tools.sql_gate.state import GateState, error_summary, reject

__all__ = ["transpile"]

RULE = "transpile"


def transpile(state: GateState, context: GateContext) -> GateState:
    """Generate target-dialect SQL with every identifier quoted and all comments dropped.

    Comments never reach the warehouse (they are where MySQL-style executable comments and optimizer hints
    live). The output is parsed back in the target dialect as a check that it is still exactly one query.

    Rejects: constructs the target dialect cannot express (sqlglot's unsupported-feature errors), and output
    that does not read back as a single query.
    """
    root = state.tree(RULE)
    target = Dialect.get_or_raise(context.target_dialect)
    try:
        sql = target.generate(root, copy=True, comments=False, identify=True, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as error:
        reject(
            RULE,
            f"the query cannot be written in {context.target_dialect} ({error_summary(error)}); "
            "use simpler constructs.",
        )
    try:
        statements = [s for s in target.parse(sql) if s is not None]
    except SqlglotError as error:
        reject(
            RULE,
            f"the {context.target_dialect} rendering does not parse back ({error_summary(error)}); simplify the query.",
        )
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        reject(RULE, f"the {context.target_dialect} rendering is not a single query; simplify the query.")
    return replace(state, output=sql, rules=(*state.rules, RULE))
