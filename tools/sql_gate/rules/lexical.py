"""Rule ``lexical``: bounded size, clean tokens, no look-alike or invisible characters outside string literals."""

from __future__ import annotations

import unicodedata

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from tools.sql_gate.context import GateContext
from tools.sql_gate.state import GateState, error_summary, reject

__all__ = ["LITERAL_TOKENS", "lexical"]

RULE = "lexical"

LITERAL_TOKENS: frozenset[TokenType] = frozenset(
    {
        TokenType.STRING,
        TokenType.NATIONAL_STRING,
        TokenType.RAW_STRING,
        TokenType.NATIONAL_RAW_STRING,
        TokenType.HEREDOC_STRING,
        TokenType.UNICODE_STRING,
        TokenType.BIT_STRING,
        TokenType.HEX_STRING,
        TokenType.BYTE_STRING,
    }
)
"""Token types that are data (string literals): any character is allowed inside them."""

_MAX_NUMBER_CHARS = 40
_CJK_PREFIXES = ("CJK ", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO")


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')}"


def _allowed_in_name(char: str) -> bool:
    """ASCII, or a CJK letter that Unicode normalization leaves alone (so it cannot pose as ASCII)."""
    if char.isascii():
        return char.isprintable() or char in "\t\n\r"
    if unicodedata.normalize("NFKC", char) != char:
        return False
    return unicodedata.category(char).startswith("L") and unicodedata.name(char, "").startswith(_CJK_PREFIXES)


def _check_token(token: Token) -> None:
    if token.token_type in LITERAL_TOKENS:
        return
    for char in token.text:
        if not _allowed_in_name(char):
            folded = unicodedata.normalize("NFKC", token.text)
            hint = f" (it normalizes to {folded!r})" if folded != token.text and folded.isascii() else ""
            reject(
                RULE,
                f"the keyword, name or symbol {token.text!r} contains {_describe(char)}{hint}, which can pass "
                "for a different character; write SQL in plain ASCII (Chinese text belongs in string literals "
                "such as '华东').",
            )
    if token.token_type == TokenType.NUMBER and len(token.text) > _MAX_NUMBER_CHARS:
        reject(
            RULE,
            f"the number {token.text[:20]}... has {len(token.text)} characters; use numbers that fit in a DECIMAL(38).",
        )


def _check_gaps(sql: str, tokens: list[Token]) -> None:
    """Whitespace and comments between tokens may not hide invisible or direction-changing characters."""
    literal_spans = [(t.start, t.end) for t in tokens if t.token_type in LITERAL_TOKENS]
    span = 0
    for index, char in enumerate(sql):
        while span < len(literal_spans) and literal_spans[span][1] < index:
            span += 1
        if span < len(literal_spans) and literal_spans[span][0] <= index <= literal_spans[span][1]:
            continue
        category = unicodedata.category(char)
        if category in {"Cf", "Co", "Cs", "Cn"} or (category == "Cc" and char not in "\t\n\r"):
            reject(
                RULE,
                f"the text contains the invisible character {_describe(char)} at offset {index} outside a "
                "string literal; remove it.",
            )


def lexical(state: GateState, context: GateContext) -> GateState:
    """Tokenize in the source dialect and reject hostile characters before anything is parsed.

    Rejects: empty or oversized input, NUL bytes, text the tokenizer cannot split (unterminated strings or
    comments), keywords and names with non-ASCII look-alikes (fullwidth ``ＳＥＬＥＣＴ``, Cyrillic ``о`` in
    ``оrders``, zero-width joiners inside names), invisible or bidirectional control characters anywhere
    outside string literals, and absurdly long number literals. String literals may hold any text, so
    ``'华东'`` passes; CJK letters are also allowed in aliases.
    """
    sql = state.sql
    if not sql.strip():
        reject(RULE, "the query is empty; send one SELECT statement.")
    if len(sql) > context.max_sql_chars:
        reject(
            RULE,
            f"the query has {len(sql)} characters, more than the limit of {context.max_sql_chars}; "
            "send a shorter query.",
        )
    if "\x00" in sql:
        reject(RULE, "the query contains a NUL byte; send plain text.")
    try:
        tokens = Dialect.get_or_raise(context.source_dialect).tokenize(sql)
    except TokenError as error:
        reject(RULE, f"the query cannot be tokenized ({error_summary(error)}); close every quote and comment.")
    if not tokens:
        reject(RULE, "the query contains only comments or whitespace; send one SELECT statement.")
    _check_gaps(sql, tokens)
    for token in tokens:
        _check_token(token)
    return GateState(sql=sql, tokens=tuple(tokens), rules=(*state.rules, RULE))
