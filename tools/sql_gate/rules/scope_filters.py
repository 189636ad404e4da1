"""Rule ``scope_filters``: every read of a filtered table goes through its mandatory predicate."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from tools.sql_gate.context import GateContext
from tools.sql_gate.rules._sources import real_tables
from tools.sql_gate.state import GateState

__all__ = ["scope_filters"]

RULE = "scope_filters"

# Table arguments that belong around the filtered subquery; the rest (TABLESAMPLE, time travel, hints)
# stay on the inner table, so they apply to the rows before the filter as written.
_OUTER_ARGS = ("joins", "laterals", "pivots")


def scope_filters(state: GateState, context: GateContext) -> GateState:
    """Replace each occurrence of a filtered table with ``(SELECT * FROM t WHERE <predicate>) AS alias``.

    Wrapping the table (rather than ANDing the predicate into one WHERE clause) keeps the predicate exact
    under every construct: the right side of a LEFT JOIN, correlated and uncorrelated subqueries, each branch
    of a UNION, and every CTE that reads the table. The alias is kept, so the qualified columns above still
    resolve. Tables without a filter are left alone. This rule rejects nothing.
    """
    root = state.tree(RULE).copy()
    for table in real_tables(root):
        predicate = context.scope_predicates.get(table.name)
        if predicate is None:
            continue
        inner = table.copy()
        outer_args = {key: inner.args.get(key) for key in _OUTER_ARGS}
        for key in ("alias", *_OUTER_ARGS):
            inner.set(key, None)
        alias = table.args.get("alias")
        if not isinstance(alias, exp.TableAlias):
            alias = exp.TableAlias(this=exp.to_identifier(table.name, quoted=True))
        filtered = exp.select(exp.Star()).from_(inner).where(predicate.copy())
        wrapped = exp.Subquery(this=filtered, alias=alias.copy())
        for key, value in outer_args.items():
            if value:
                wrapped.set(key, value)
        table.replace(wrapped)
    return replace(state, expression=root, rules=(*state.rules, RULE))
