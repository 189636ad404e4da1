"""Rule ``no_cartesian_product``: every source a query joins is connected to the others by a join condition."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope

from tools.sql_gate.context import GateContext
from tools.sql_gate.rules._sources import real_tables
from tools.sql_gate.state import GateState, error_summary, reject

__all__ = ["no_cartesian_product"]

RULE = "no_cartesian_product"


def _outside_windows_and_subqueries(node: exp.Expr, query: exp.Expr) -> bool:
    parent = node.parent
    while parent is not None and parent is not query:
        if isinstance(parent, exp.Window | exp.Query):
            return False
        parent = parent.parent
    return parent is query


def _at_most_one_row(query: exp.Expr) -> bool:
    """A query that returns at most one row: an aggregate without GROUP BY, or ``LIMIT 0``/``LIMIT 1``."""
    limit = query.args.get("limit")
    if isinstance(limit, exp.Limit):
        count = limit.expression
        if isinstance(count, exp.Literal) and not count.is_string and count.name in {"0", "1"}:
            return True
    if not isinstance(query, exp.Select) or query.args.get("group"):
        return False
    return any(
        _outside_windows_and_subqueries(aggregate, query)
        for projection in query.selects
        for aggregate in projection.find_all(exp.AggFunc)
    )


def _source_name(source: exp.Expr) -> str:
    return source.alias_or_name


class _Components:
    """Union-find over one SELECT's sources."""

    def __init__(self, names: list[str]) -> None:
        self.parent = {name: name for name in names}

    def find(self, name: str) -> str:
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def connect(self, names: set[str]) -> None:
        first, *rest = sorted(names)
        for name in rest:
            self.parent[self.find(name)] = self.find(first)


def _conjuncts(condition: exp.Expr | None) -> list[exp.Expr]:
    if condition is None:
        return []
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _referenced(condition: exp.Expr, names: set[str]) -> set[str]:
    """The sources of this SELECT whose columns a condition reads."""
    return {column.table for column in condition.find_all(exp.Column) if column.table in names}


def _negligible(scope: Scope, name: str, small: set[int]) -> bool:
    """A source that cannot multiply the result: one row at most, or a table the deployment declared small."""
    source = scope.sources.get(name)
    if isinstance(source, Scope):
        return _at_most_one_row(source.expression)
    return isinstance(source, exp.Table) and id(source) in small


def _check_select(scope: Scope, small: set[int]) -> None:
    select = scope.expression
    if not isinstance(select, exp.Select):
        return
    from_ = select.args.get("from_") or select.args.get("from")
    joins = select.args.get("joins") or []
    if not isinstance(from_, exp.From) or not joins:
        return
    sources = [from_.this, *(join.this for join in joins)]
    names = [_source_name(source) for source in sources]
    if len(set(names)) != len(names):
        return  # duplicate aliases are reported by qualify; nothing here to connect reliably
    known = set(names)
    components = _Components(names)
    conditions = _conjuncts(select.args.get("where"))
    for index, join in enumerate(joins):
        if join.args.get("using") or str(join.args.get("method") or "").upper() == "NATURAL":
            components.connect({names[index], names[index + 1]})  # qualify usually rewrites these to ON
        conditions.extend(_conjuncts(join.args.get("on")))
    for condition in conditions:
        referenced = _referenced(condition, known)
        if len(referenced) > 1:
            components.connect(referenced)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(components.find(name), []).append(name)
    heavy = [members for members in groups.values() if not all(_negligible(scope, member, small) for member in members)]
    if len(heavy) > 1:
        first, second = heavy[0][0], heavy[1][0]
        reject(
            RULE,
            f"nothing in the query joins {first} to {second} (a CROSS JOIN, a comma join or ON TRUE without a "
            "condition on both), which pairs every row of one with every row of the other; join them on a "
            f"key, such as ON {first}.<key> = {second}.<key>.",
        )


def no_cartesian_product(state: GateState, context: GateContext) -> GateState:
    """Reject a SELECT whose sources fall into two or more groups no join condition connects.

    Runs after ``qualify``, so every column names its source. Within each SELECT, a condition in ``ON`` or
    ``WHERE`` (each ``AND`` part on its own) that reads columns of two sources connects them; ``USING`` and
    ``NATURAL`` joins connect their two sides. ``CROSS JOIN``, comma joins, ``ON TRUE`` and ``ON 1 = 1`` connect
    nothing. Sources that cannot multiply the result may stand alone: a subquery or CTE that returns at most one
    row (an aggregate without GROUP BY, as in ``CROSS JOIN (SELECT sum(amount) AS total FROM orders) t`` for a
    share of the total, or ``LIMIT 1``), and tables listed in ``GateContext.cross_join_tables`` (a 12-month
    calendar, a list of regions), whose products the warehouse's own estimate then bounds.

    Rejects: a join of two or more tables (or subqueries reading them) with no condition connecting them.
    """
    root = state.tree(RULE)
    try:
        scopes = traverse_scope(root)
        small = {id(table) for table in real_tables(root) if table.name in context.cross_join_tables}
    except OptimizeError as error:
        reject(RULE, f"the query's scopes cannot be resolved ({error_summary(error)}); give every source an alias.")
    for scope in scopes:
        _check_select(scope, small)
    return replace(state, rules=(*state.rules, RULE))
