"""Small sqlglot builders: the catalog's trusted expressions, and filter conditions over literal values.

The catalog's SQL (metric aggregates, row filters, dimension expressions) is configuration checked by the
catalog loader, so it is parsed with :func:`sqlglot.parse_one`. Values from a query are data: they only ever
become :class:`sqlglot.exp.Literal` nodes, never parsed SQL.
"""

from __future__ import annotations

from datetime import date

import sqlglot
from sqlglot import exp

from knowledge.catalog.models import Catalog, Column, Dimension
from kubeai.errors import MetricQueryError
from tools.metric_query._validate import close_matches
from tools.metric_query.query import Filter, FilterValue

__all__ = ["catalog_expression", "column_ref", "date_literal", "filter_condition"]

_COMPARISONS: dict[str, type[exp.Binary]] = {
    "eq": exp.EQ,
    "ne": exp.NEQ,
    "gt": exp.GT,
    "gte": exp.GTE,
    "lt": exp.LT,
    "lte": exp.LTE,
}


def catalog_expression(catalog: Catalog, sql: str, default_table: str) -> exp.Expr:
    """Parse a catalog expression and qualify its bare columns with ``default_table``."""
    tree = sqlglot.parse_one(sql, read=catalog.warehouse.dialect)
    for column in tree.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier(default_table))
    return tree


def column_ref(ref: str, default_table: str) -> exp.Column:
    """A ``column`` or ``table.column`` reference as a qualified column."""
    table, _, name = ref.rpartition(".")
    return exp.column(name, table=table or default_table)


def date_literal(day: date) -> exp.Expr:
    """``CAST('YYYY-MM-DD' AS DATE)``."""
    return exp.cast(exp.Literal.string(day.isoformat()), exp.DataType.build("DATE"))


def _literal(value: FilterValue) -> exp.Expr:
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def _comparison(target: exp.Expr, op: str, values: list[exp.Expr]) -> exp.Expr:
    if op in ("in", "not_in"):
        condition: exp.Expr = exp.In(this=target.copy(), expressions=values)
        return exp.Not(this=condition) if op == "not_in" else condition
    return _COMPARISONS[op](this=target.copy(), expression=values[0])


def _time_values(dimension: Dimension, item: Filter, field: str) -> list[exp.Expr]:
    literals: list[exp.Expr] = []
    for value in item.values:
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None:
            raise MetricQueryError(
                f"Filter value {value!r} on time dimension `{dimension.name}` is not an ISO date; write it as "
                "YYYY-MM-DD, or use time_range for periods.",
                field=field,
            )
        literals.append(date_literal(day))
    return literals


def _same(a: object, b: FilterValue) -> bool:
    return str(a) == str(b)


def _similar(a: object, b: FilterValue) -> bool:
    return str(a).strip().casefold() == str(b).strip().casefold()


def _enumerated_columns(catalog: Catalog, dimension: Dimension, tree: exp.Expr) -> list[tuple[exp.Column, Column]]:
    """The dimension's column and its parallel columns (translations), when the values are enumerated.

    A parallel column is another column of the same table with as many enumerated values, e.g.
    ``regions.region_name_en`` beside ``regions.region_name``: a filter value found there is compared against
    that column, so 华东 and East China both select the same rows.
    """
    if not isinstance(tree, exp.Column):
        return []
    table = catalog.table(tree.table or dimension.source_table)
    own = table.column(tree.name) if table is not None else None
    if table is None or own is None or own.values is None:
        return []
    found = [(tree, own)]
    for column in table.columns:
        if column.name != own.name and column.values is not None and len(column.values) == len(own.values):
            found.append((exp.column(column.name, table=table.name), column))
    return found


def _number_values(dimension: Dimension, item: Filter, field: str) -> list[exp.Expr]:
    literals: list[exp.Expr] = []
    for value in item.values:
        number: float | None = None
        if isinstance(value, int | float):
            number = value
        else:
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is None:
            raise MetricQueryError(
                f"Filter value {value!r} on number field `{dimension.name}` is not a number; write it as digits, "
                "e.g. 5 or 2.5.",
                field=field,
            )
        literals.append(exp.Literal.number(int(number) if float(number).is_integer() else number))
    return literals


def filter_condition(
    catalog: Catalog, dimension: Dimension, item: Filter, field: str, *, target: exp.Expr | None = None
) -> exp.Expr:
    """The row condition for one filter of a query.

    Values of a dimension whose column lists its values are checked against that list (and its parallel
    translations); a value matching only by case or spacing is replaced by the listed spelling. Time fields take
    ISO dates and number fields numbers.

    Args:
        catalog: The catalog.
        dimension: The filter's dimension or attribute.
        item: The filter.
        field: The query field, for errors, e.g. ``filters[0]``.
        target: The expression to compare instead of the dimension's own: a metric's time column for a
            ``metric_time`` dimension (which has no expression of its own).

    Returns:
        A boolean expression over the dimension's table (or over ``target``).

    Raises:
        MetricQueryError: If a value is not one the dimension takes, a time value is not an ISO date, or a
            number value is not a number.
    """
    tree = catalog_expression(catalog, dimension.expression, dimension.source_table) if target is None else target
    if dimension.type == "time":
        return _comparison(tree, item.op, _time_values(dimension, item, f"{field}.values"))
    if dimension.type == "number":
        return _comparison(tree, item.op, _number_values(dimension, item, f"{field}.values"))
    enumerated = _enumerated_columns(catalog, dimension, tree)
    if not enumerated or item.op in ("gt", "gte", "lt", "lte"):
        return _comparison(tree, item.op, [_literal(v) for v in item.values])
    chosen: dict[str, tuple[exp.Column, list[exp.Expr]]] = {}
    for value in item.values:
        match = next(
            (
                (col, known)
                for same in (_same, _similar)
                for col, c in enumerated
                for known in c.values or ()
                if same(known, value)
            ),
            None,
        )
        if match is None:
            own_values = [str(v) for v in enumerated[0][1].values or ()]
            every = [str(v) for _, c in enumerated for v in c.values or ()]
            similar = close_matches(str(value), every)
            hint = f"; did you mean {' or '.join(similar)}?" if similar else "."
            raise MetricQueryError(
                f"Filter value {value!r} is not a value of dimension `{dimension.name}` (its values are: "
                f"{', '.join(own_values)}){hint}",
                field=f"{field}.values",
            )
        column, known = match
        chosen.setdefault(column.sql(), (column, []))[1].append(exp.convert(known))
    negative = item.op in ("ne", "not_in")
    parts = [
        _comparison(
            column, ("not_in" if negative else "in") if len(values) > 1 else ("ne" if negative else "eq"), values
        )
        for column, values in chosen.values()
    ]
    return exp.and_(*parts) if negative else exp.or_(*parts)
