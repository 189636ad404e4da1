"""What flows between gate rules, what the gate returns, and how a rule rejects."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from sqlglot import exp
from sqlglot.tokenizer_core import Token

from kubeai.errors import SQLGateError
from tools.sql_gate.context import GateContext

__all__ = ["GateResult", "GateState", "Rule", "error_summary", "reject"]


@dataclass(frozen=True, kw_only=True)
class GateState:
    """The query as it moves through the rules; each rule returns a new state and never mutates its input.

    Attributes:
        sql: The text as received.
        tokens: The source-dialect tokens (set by ``lexical``).
        expression: The parsed, then rewritten, syntax tree (set by ``parse``).
        output: The final SQL in the target dialect (set by ``transpile``).
        tables: The allowlisted tables read (set by ``allowlist_tables``).
        columns: The ``table.column`` pairs read (set by ``allowlist_columns``).
        rules: Names of the rules that have run, in order.
    """

    sql: str
    tokens: tuple[Token, ...] = ()
    expression: exp.Expr | None = None
    output: str | None = None
    tables: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def tree(self, rule: str) -> exp.Expr:
        """The syntax tree, or a clear error if ``rule`` is run before ``parse``."""
        if self.expression is None:
            reject(rule, "there is no parsed statement; run the parse rule first.")
        return self.expression


@dataclass(frozen=True, kw_only=True)
class GateResult:
    """A query that passed the gate.

    Attributes:
        sql: The query to run, rendered in ``dialect``.
        dialect: The target dialect.
        tables: The allowlisted tables the query reads, sorted.
        columns: The ``table.column`` pairs it reads, sorted.
        rules: The rules that ran, in order.
    """

    sql: str
    dialect: str
    tables: tuple[str, ...]
    columns: tuple[str, ...]
    rules: tuple[str, ...]


Rule = Callable[[GateState, GateContext], GateState]
"""A gate step: a pure function from a state and the context to the next state, or :class:`SQLGateError`."""


def reject(rule: str, reason: str) -> NoReturn:
    """Raise the gate's error: ``Rejected by <rule>: <reason>``.

    Args:
        rule: The rejecting rule's name.
        reason: One sentence (ending with a period) saying what is wrong and what to write instead.

    Raises:
        SQLGateError: Always.
    """
    raise SQLGateError(f"Rejected by {rule}: {reason}", rule=rule)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_summary(error: BaseException) -> str:
    """The first line of a library error, without terminal colour codes or a trailing period."""
    text = _ANSI.sub("", str(error)).strip()
    return (text.splitlines()[0] if text else type(error).__name__).rstrip(".")
