"""Which ``exp.Table`` nodes of a query are real tables, and which are references to its CTEs."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

__all__ = ["real_tables", "table_aliases"]


def _is_cte_reference(table: exp.Table, scope: Scope) -> bool:
    if table.args.get("db") or table.args.get("catalog"):
        return False
    source = scope.sources.get(table.alias_or_name)
    if not isinstance(source, Scope):
        return False
    cte = source.expression.parent
    return isinstance(cte, exp.CTE) and cte.alias == table.name


def real_tables(root: exp.Expr) -> list[exp.Table]:
    """Every table node that is not a reference to a CTE in scope, in tree order.

    A node counts as a CTE reference only when its own name (not merely its alias) is the name of the CTE
    it resolves to, so ``FROM users AS some_cte`` is still the real table ``users``. Table nodes the scope
    walk does not reach are treated as real tables, which keeps the caller's allowlist check fail-closed.
    """
    cte_references: set[int] = set()
    for scope in traverse_scope(root):
        for table in scope.tables:
            if _is_cte_reference(table, scope):
                cte_references.add(id(table))
    return [table for table in root.find_all(exp.Table) if id(table) not in cte_references]


def table_aliases(root: exp.Expr) -> dict[tuple[int, str], str]:
    """For each scope (by ``id`` of its expression) and source alias, the real table it names."""
    aliases: dict[tuple[int, str], str] = {}
    real = {id(table) for table in real_tables(root)}
    for scope in traverse_scope(root):
        for alias, source in scope.sources.items():
            if isinstance(source, exp.Table) and id(source) in real:
                aliases[(id(scope.expression), alias)] = source.name
    return aliases
