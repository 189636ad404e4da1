"""Exact match of SQL by normalised sqlglot syntax trees, never by raw strings.

Both statements go through the same pipeline and match when the normalised trees print the same SQL:

1. parse in the dialect (``duckdb`` by default);
2. ``qualify`` (identifier casing, ``*`` expansion when a schema is given, column tables, GROUP BY/ORDER BY
   alias references), falling back to the parsed tree when qualification fails (an unknown column);
3. table aliases replaced by their table names when each table appears once (``FROM orders o`` equals
   ``FROM orders``), and the outermost projection's aliases dropped (``SUM(x) AS gmv`` equals ``SUM(x) AS total``;
   output column names are presentation);
4. the optimizer's ``normalize`` (boolean conditions to conjunctive normal form, bounded) and ``canonicalize``;
5. the operands of every AND and OR chain sorted (``x = 1 AND y = 2`` equals ``y = 2 AND x = 1``).

Anything that cannot be parsed, or that makes a step fail, is simply no match: the scorer never raises.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["normalize_sql", "sql_exact_match"]


def normalize_sql(sql: str, *, dialect: str = "duckdb", schema: Mapping[str, Any] | None = None) -> str | None:
    """The canonical text of one SQL statement, or ``None`` when it cannot be parsed.

    Args:
        sql: One statement.
        dialect: sqlglot dialect to parse it in.
        schema: Optional ``{table: {column: type}}`` mapping; with it, unqualified columns resolve to their table.

    Returns:
        The normalised tree printed as SQL, or ``None`` for unparsable or multi-statement input (including
        statements sqlglot only keeps as an opaque command).
    """
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(sql, read=dialect)
    except Exception:  # model output is arbitrary text: a parse error, or a parser bug, is no match
        return None
    if len(statements) != 1 or statements[0] is None or isinstance(statements[0], exp.Command):
        return None  # a Command is text sqlglot could not parse into a tree
    tree = statements[0]
    try:
        return _normalize_tree(tree, dialect=dialect, schema=schema).sql()
    except Exception:  # an optimizer step failing on odd input means no match, never a crash
        return None


def sql_exact_match(
    predicted: str, gold: str, *, dialect: str = "duckdb", schema: Mapping[str, Any] | None = None
) -> bool:
    """Whether two statements are the same query after normalisation.

    Args:
        predicted: The statement under test.
        gold: The gold statement.
        dialect: sqlglot dialect both are written in.
        schema: Optional ``{table: {column: type}}`` mapping used to qualify columns.

    Returns:
        ``True`` when both normalise to the same tree; ``False`` otherwise, including when either is unparsable.
    """
    left = normalize_sql(predicted, dialect=dialect, schema=schema)
    if left is None:
        return False
    right = normalize_sql(gold, dialect=dialect, schema=schema)
    return right is not None and left == right


def _normalize_tree(tree: exp.Expr, *, dialect: str, schema: Mapping[str, Any] | None) -> exp.Expr:
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.canonicalize import canonicalize
    from sqlglot.optimizer.normalize import normalize
    from sqlglot.optimizer.qualify import qualify

    try:
        tree = qualify(
            tree.copy(), schema=dict(schema) if schema else None, dialect=dialect, validate_qualify_columns=False
        )
    except OptimizeError:
        from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

        tree = normalize_identifiers(tree.copy(), dialect=dialect)
    tree = _unalias_tables(tree)
    tree = _drop_output_aliases(tree)
    tree = normalize(tree, dnf=False, max_distance=128)
    tree = canonicalize(tree)
    return _sort_conjuncts(tree)


def _sort_conjuncts(tree: exp.Expr) -> exp.Expr:
    """Order the operands of every AND and OR chain by their SQL text (both are commutative, so this is safe)."""
    from sqlglot import exp

    for node in reversed(list(tree.find_all(exp.And, exp.Or))):
        if type(node.parent) is type(node):
            continue
        parts = sorted((part.copy() for part in node.flatten()), key=lambda part: part.sql())
        joined = exp.and_(*parts, copy=False) if isinstance(node, exp.And) else exp.or_(*parts, copy=False)
        if node.parent is None:
            return joined
        node.replace(joined)
    return tree


def _unalias_tables(tree: exp.Expr) -> exp.Expr:
    """Replace each table alias by its table name where the table appears once and the name is free."""
    from sqlglot import exp

    tables = list(tree.find_all(exp.Table))
    counts = Counter(table.name for table in tables)
    taken = {alias.name for alias in tree.find_all(exp.TableAlias) if not isinstance(alias.parent, exp.Table)}
    renames: dict[str, str] = {}
    for table in tables:
        alias = table.alias
        if not alias or alias == table.name or counts[table.name] != 1 or table.name in taken:
            continue
        renames[alias] = table.name
        table.set("alias", exp.TableAlias(this=table.this.copy()))
    if renames:
        for column in tree.find_all(exp.Column):
            if column.table in renames:
                column.set("table", exp.to_identifier(renames[column.table], quoted=True))
    return tree


def _drop_output_aliases(tree: exp.Expr) -> exp.Expr:
    """Drop the aliases of the outermost SELECT's projections, inlining ORDER BY references to them."""
    from sqlglot import exp

    if not isinstance(tree, exp.Select):
        return tree
    aliased = {p.alias: p.this for p in tree.expressions if isinstance(p, exp.Alias)}
    order = tree.args.get("order")
    if order is not None and aliased:
        for column in list(order.find_all(exp.Column)):
            if not column.table and column.name in aliased:
                column.replace(aliased[column.name].copy())
    tree.set("expressions", [p.this if isinstance(p, exp.Alias) else p for p in tree.expressions])
    return tree
