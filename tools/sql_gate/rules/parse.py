"""Rule ``parse``: exactly one statement, parsed in the source dialect."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError

from tools.sql_gate.context import GateContext
from tools.sql_gate.state import GateState, error_summary, reject

__all__ = ["parse"]

RULE = "parse"


_TOKEN = re.compile(r"<Token token_type: [^,]+, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: .*?>")


def _first_line(error: ParseError) -> str:
    if error.errors:
        first = error.errors[0]
        description = _TOKEN.sub(lambda match: repr(match.group(1)), str(first.get("description")))
        return f"{description} at line {first.get('line')}, column {first.get('col')}"
    return error_summary(error)


def parse(state: GateState, context: GateContext) -> GateState:
    """Parse the tokens from ``lexical`` into one syntax tree.

    Rejects: parse errors (with the parser's own message and position), stacked statements
    (``SELECT ...; DROP ...``; a ``;`` inside a string literal is data and is fine), and input that holds no
    statement at all. A single trailing ``;`` is accepted.
    """
    if not state.tokens:
        reject(RULE, "there are no tokens; run the lexical rule first.")
    parser = Dialect.get_or_raise(context.source_dialect).parser(error_level=ErrorLevel.RAISE)
    try:
        statements = [s for s in parser.parse(list(state.tokens), state.sql) if s is not None]
    except ParseError as error:
        reject(RULE, f"the query does not parse in {context.source_dialect} ({_first_line(error)}); fix the syntax.")
    if not statements:
        reject(RULE, "the query holds no statement; send one SELECT statement.")
    if len(statements) > 1:
        kinds = ", ".join(type(s).__name__.upper() for s in statements)
        reject(
            RULE,
            f"the text holds {len(statements)} statements ({kinds}) separated by ';'; send exactly one "
            "SELECT statement.",
        )
    return replace(state, expression=statements[0], rules=(*state.rules, RULE))
