"""Rule ``read_only``: a single SELECT (or set operation, or WITH ... SELECT) that writes nothing and locks nothing."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp

from tools.sql_gate.context import GateContext
from tools.sql_gate.state import GateState, reject

__all__ = ["STATEMENT_NODES", "read_only"]

RULE = "read_only"

STATEMENT_NODES: tuple[type[exp.Expr], ...] = (
    exp.DDL,
    exp.DML,
    exp.Alter,
    exp.AlterSession,
    exp.Analyze,
    exp.Attach,
    exp.Cache,
    exp.Command,
    exp.Comment,
    exp.Commit,
    exp.ConnectTo,
    exp.Declare,
    exp.Describe,
    exp.Detach,
    exp.Disconnect,
    exp.Drop,
    exp.Execute,
    exp.Export,
    exp.Get,
    exp.Grant,
    exp.Heredoc,
    exp.Install,
    exp.Kill,
    exp.ListStage,
    exp.LoadData,
    exp.LockingStatement,
    exp.MultitableInserts,
    exp.Pragma,
    exp.Put,
    exp.Refresh,
    exp.Revoke,
    exp.Rollback,
    exp.Semicolon,
    exp.Set,
    exp.Show,
    exp.Summarize,
    exp.SwapTable,
    exp.Transaction,
    exp.TruncateTable,
    exp.Uncache,
    exp.Undrop,
    exp.Use,
    exp.UserDefinedFunction,
)
"""Nodes that are statements of their own (DDL, DML, session and server commands); rejected anywhere."""

_CLAUSES: dict[type[exp.Expr], str] = {
    exp.Into: "SELECT ... INTO creates a table; remove the INTO clause.",
    exp.Lock: "a locking clause (FOR UPDATE / FOR SHARE) takes row locks; remove it.",
    exp.Returning: "a RETURNING clause belongs to a data-modifying statement; remove it.",
    exp.OnConflict: "an ON CONFLICT clause belongs to INSERT; remove it.",
}


def _statement_name(node: exp.Expr) -> str:
    """``DROP TABLE``, ``LOAD command``, ``bare Column expression``, with its indefinite article."""
    if isinstance(node, exp.Command):
        name = f"{str(node.this).upper()} command"
    elif isinstance(node, STATEMENT_NODES):
        name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(node).__name__).upper()
        kind = node.args.get("kind")
        if isinstance(kind, str) and kind:
            name = f"{name} {kind.upper()}"
    else:
        name = f"bare {type(node).__name__} expression"
    article = "an" if name[0] in "AEIOU" else "a"
    return f"{article} {name}"


def read_only(state: GateState, context: GateContext) -> GateState:
    """Allow only read-only queries.

    Rejects: a root that is not a query (DDL, DML, ``PRAGMA``, ``SET``, ``ATTACH``, ``INSTALL``, ``COPY``,
    ``EXPORT DATABASE``, ``VACUUM``, ``CALL``, ``EXECUTE``, ``PREPARE``, anything sqlglot keeps as an opaque
    ``Command``, a bare expression), any such statement nested anywhere (a data-modifying CTE such as
    ``WITH x AS (DELETE ... RETURNING *)``), ``SELECT ... INTO``, ``FOR UPDATE``/``FOR SHARE``, ``RETURNING``,
    ClickHouse ``SETTINGS``, and ``WITH RECURSIVE`` (DuckDB evaluates a recursive CTE to completion before an
    outer LIMIT applies, so one unbounded recursion runs until the statement timeout; analytical questions here
    do not need it).
    """
    del context
    root = state.tree(RULE)
    if not isinstance(root, exp.Query):
        reject(RULE, f"the statement is {_statement_name(root)}, only SELECT queries may run.")
    for node in root.walk():
        if isinstance(node, STATEMENT_NODES):
            reject(
                RULE,
                f"the query contains {_statement_name(node)} inside it, only SELECT queries may run; remove it.",
            )
        for clause, reason in _CLAUSES.items():
            if isinstance(node, clause):
                reject(RULE, reason)
        if isinstance(node, exp.Query) and node.args.get("settings"):
            reject(RULE, "a query-level SETTINGS clause changes server settings; remove it.")
        if isinstance(node, exp.With) and node.args.get("recursive"):
            reject(
                RULE,
                "WITH RECURSIVE is not allowed because a recursion can run unbounded; write the query "
                "with joins or plain CTEs.",
            )
    return replace(state, rules=(*state.rules, RULE))
