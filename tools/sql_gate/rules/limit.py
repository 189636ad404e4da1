"""Rule ``limit``: the outermost query returns at most ``max_rows`` rows."""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from tools.sql_gate.context import GateContext
from tools.sql_gate.state import GateState, reject

__all__ = ["limit"]

RULE = "limit"


def _row_count(node: exp.Expr | None, clause: str) -> int:
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isascii() and node.this.isdecimal():
        return int(node.this)
    shown = node.sql() if node is not None else "nothing"
    reject(RULE, f"{clause} {shown} is not a whole number of rows; write {clause} with a plain integer.")


def limit(state: GateState, context: GateContext) -> GateState:
    """Add ``LIMIT max_rows`` to the outermost query when it has none, and lower a larger one.

    ``FETCH FIRST n ROWS ONLY`` is rewritten to ``LIMIT`` the same way. Inner LIMITs are left alone: the outer
    cap already bounds what is returned.

    Rejects: a LIMIT or FETCH that is not a plain non-negative integer (``LIMIT ALL``, ``LIMIT NULL``,
    ``LIMIT -1``, ``LIMIT 1e9``, ``LIMIT (SELECT ...)``), ClickHouse ``LIMIT n BY ...``, ``FETCH ... PERCENT``
    and ``FETCH ... WITH TIES``.
    """
    root = state.tree(RULE).copy()
    if not isinstance(root, exp.Query):
        reject(RULE, "the statement is not a query, only SELECT queries may run.")
    current = root.args.get("limit")
    wanted = context.max_rows
    if isinstance(current, exp.Fetch):
        options = current.args.get("limit_options")
        if isinstance(options, exp.LimitOptions) and (options.args.get("percent") or options.args.get("with_ties")):
            reject(RULE, "FETCH ... PERCENT and FETCH ... WITH TIES are not allowed; write LIMIT n instead.")
        wanted = min(wanted, _row_count(current.args.get("count"), "FETCH FIRST"))
        current.pop()
    elif isinstance(current, exp.Limit):
        if current.expressions:
            reject(RULE, "LIMIT n BY ... returns n rows per group without a total cap; use a window function.")
        wanted = min(wanted, _row_count(current.expression, "LIMIT"))
    elif current is not None:
        reject(RULE, f"the clause {current.sql()} is not a supported row limit; write LIMIT n instead.")
    capped = root.limit(wanted, copy=False)
    return replace(state, expression=capped, rules=(*state.rules, RULE))
