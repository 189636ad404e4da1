"""Rule ``qualify``: resolve every column against the allowlist schema; unknown or ambiguous columns fail."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify as sqlglot_qualify

from tools.sql_gate.context import GateContext
from tools.sql_gate.state import GateState, error_summary, reject

__all__ = ["qualify"]

RULE = "qualify"
_POSITION = re.compile(r"\. Line: (\d+), Col: (\d+)")


def qualify(state: GateState, context: GateContext) -> GateState:
    """Qualify tables and columns with :func:`sqlglot.optimizer.qualify.qualify` and validate the result.

    Every column gets its source alias, ``*`` is expanded to the schema's columns, and every table gets an
    alias (its own name when it had none), so later rules can trace each column to a table.

    Rejects: a column that no table in scope has (a typo, a column of another table, a hidden system
    column), an ambiguous unqualified column present in two joined tables, and a reference to an alias that
    is not in scope. The message lists the columns the query's tables do have, so the model can repair it.
    """
    root = state.tree(RULE)
    try:
        qualified = sqlglot_qualify(
            root.copy(),
            dialect=context.source_dialect,
            schema=context.mapping_schema,
            validate_qualify_columns=True,
            quote_identifiers=True,
            identify=True,
        )
    except OptimizeError as error:
        detail = _POSITION.sub(r" (line \1, column \2)", error_summary(error))
        detail = detail[:1].lower() + detail[1:]
        columns = "; ".join(f"{table}({', '.join(sorted(context.readable_columns(table)))})" for table in state.tables)
        hint = f"the tables in this query have: {columns}" if columns else "use only columns of the allowed tables"
        reject(RULE, f"{detail}; {hint}.")
    return replace(state, expression=qualified, rules=(*state.rules, RULE))
