"""A user's row scope (catalog dimension = allowed values) as the SQL gate's per-table mandatory predicates.

A scope ``{"region": ("华东",)}`` restricts every table whose rows belong to one region: the dimension's own
table (``regions.region_name IN ('华东')``) and every table that reaches it through row-keeping joins
(:func:`knowledge.catalog.joins.join_path`), through its join key, e.g. for ``orders``::

    orders.city_id IN (SELECT cities.city_id FROM cities
                       JOIN regions ON cities.region_id = regions.region_id
                       WHERE regions.region_name IN ('华东'))

The SQL gate wraps every read of such a table in a subquery with its predicate (rule ``scope_filters``), so the
filter holds whatever the query does around it. A row whose join key is NULL belongs to no allowed value and is
left out. Tables that cannot reach the dimension (users, products) are not scoped: their rows belong to no region.
Several dimensions are ANDed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp, parse_one

from knowledge.catalog.joins import join_path
from knowledge.catalog.models import Catalog, Dimension
from kubeai.errors import ConfigError

__all__ = ["check_scope", "row_filters"]


def check_scope(catalog: Catalog, scope: Mapping[str, Sequence[str]]) -> None:
    """Check that each scope dimension is one of the catalog's and has values.

    Raises:
        ConfigError: A dimension is unknown, is a ``metric_time`` dimension (no table of its own), or lists no values.
    """
    for name, values in scope.items():
        _dimension(catalog, name)
        if not values:
            raise ConfigError(f"Scope dimension {name!r} lists no values.", field=f"scope.{name}")


def _dimension(catalog: Catalog, name: str) -> Dimension:
    dimension = catalog.dimension(name)
    if dimension is None:
        known = ", ".join(d.name for d in catalog.all_dimensions if not d.metric_time)
        raise ConfigError(
            f"Catalog {catalog.name} has no dimension {name!r} to scope by; use one of: {known}.",
            field=f"scope.{name}",
        )
    if dimension.metric_time:
        raise ConfigError(
            f"Dimension {name!r} is each metric's own time column and cannot scope rows; scope by a dimension "
            "with a table.",
            field=f"scope.{name}",
        )
    return dimension


def _column(ref: str) -> exp.Column:
    table, column = ref.split(".", 1)
    return exp.column(column, table=table)


def _values(dimension: Dimension, values: Sequence[str]) -> list[exp.Expr]:
    if dimension.type == "number":
        out: list[exp.Expr] = []
        for value in values:
            try:
                float(value)
            except ValueError:
                raise ConfigError(
                    f"Scope value {value!r} of number dimension {dimension.name!r} is not a number.",
                    field=f"scope.{dimension.name}",
                ) from None
            out.append(exp.Literal.number(value))
        return out
    return [exp.Literal.string(value) for value in values]


def row_filters(catalog: Catalog, scope: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The gate's ``scope_filters`` for ``scope``: per table, the predicate its rows must meet (catalog dialect).

    Raises:
        ConfigError: As :func:`check_scope`.
    """
    check_scope(catalog, scope)
    dialect = catalog.warehouse.dialect
    predicates: dict[str, list[exp.Expr]] = {}
    for name, values in scope.items():
        dimension = _dimension(catalog, name)
        target = dimension.source_table
        allowed = exp.In(this=parse_one(dimension.expression, read=dialect), expressions=_values(dimension, values))
        for table in catalog.tables:
            path = join_path(catalog, table.name, target)
            if path is None:
                continue
            if not path:
                predicates.setdefault(table.name, []).append(allowed.copy())
                continue
            first, rest = path[0], path[1:]
            keys = exp.select(_column(first.to_column)).from_(first.table)
            for step in rest:
                keys = keys.join(
                    step.table, on=exp.EQ(this=_column(step.from_column), expression=_column(step.to_column))
                )
            keys = keys.where(allowed.copy())
            predicates.setdefault(table.name, []).append(
                exp.In(this=_column(first.from_column), query=exp.Subquery(this=keys))
            )
    return {table: exp.and_(*parts).sql(dialect=dialect) for table, parts in predicates.items()}
