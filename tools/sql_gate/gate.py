"""``check_sql``: run a query through every gate rule, failing closed."""

from __future__ import annotations

from collections.abc import Sequence

from kubeai.errors import SQLGateError
from tools.sql_gate.context import GateContext
from tools.sql_gate.rules import RULES
from tools.sql_gate.state import GateResult, GateState, Rule, error_summary, reject

__all__ = ["check_sql"]


def _run(rule: Rule, state: GateState, context: GateContext) -> GateState:
    name = rule.__name__
    try:
        return rule(state, context)
    except SQLGateError:
        raise
    except RecursionError:
        reject(name, "the query is nested too deeply to analyse; flatten its subqueries and parentheses.")
    except Exception as error:  # fail closed: anything unexpected is a rejection
        reject(
            name,
            f"the gate could not analyse the query ({type(error).__name__}: {error_summary(error)}); rewrite "
            "it with plainer SQL.",
        )


def check_sql(sql: str, context: GateContext, *, rules: Sequence[Rule] = RULES) -> GateResult:
    """Check a query and return it rewritten for the warehouse, or raise with the first rule that rejects it.

    Args:
        sql: The query, written in ``context.source_dialect`` (model output or compiled from a metric).
        context: The allowlist, dialects, row cap and scope filters.
        rules: The steps to run; the default :data:`tools.sql_gate.rules.RULES` is the full gate. Tests pass
            a prefix to stop early.

    Returns:
        The target-dialect SQL, the tables and columns it reads and the rules that ran.

    Raises:
        SQLGateError: With ``rule`` set to the rejecting step and a one-sentence message such as
            ``Rejected by read_only: the statement is a DROP TABLE, only SELECT queries may run.`` Any
            unexpected failure inside a rule is also a rejection by that rule.
    """
    state = GateState(sql=sql)
    for rule in rules:
        state = _run(rule, state, context)
    if state.output is None:
        reject("transpile", "the rules ran without producing SQL; include the transpile rule.")
    return GateResult(
        sql=state.output,
        dialect=context.target_dialect,
        tables=state.tables,
        columns=state.columns,
        rules=state.rules,
    )
