"""The typed settings every gate rule reads: the allowlist schema, dialects, row cap and scope filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from sqlglot import exp, parse_one
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.qualify_columns import quote_identifiers
from sqlglot.schema import MappingSchema

from kubeai.errors import ConfigError
from tools.sql_gate.functions import DENIED_FUNCTION_NAMES, is_denied_function_name

__all__ = ["GateContext"]

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _freeze_schema(schema: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    if not schema:
        raise ConfigError("The SQL gate schema is empty; list at least one table and its columns.", field="schema")
    frozen: dict[str, Mapping[str, str]] = {}
    for table, columns in schema.items():
        if not _NAME.match(table):
            raise ConfigError(
                f"Table name {table!r} in the SQL gate schema must be a lowercase ASCII identifier.",
                field=f"schema.{table}",
            )
        if not columns:
            raise ConfigError(f"Table {table!r} in the SQL gate schema has no columns.", field=f"schema.{table}")
        for column, type_ in columns.items():
            if not _NAME.match(column):
                raise ConfigError(
                    f"Column name {column!r} of table {table!r} must be a lowercase ASCII identifier.",
                    field=f"schema.{table}.{column}",
                )
            try:
                exp.DataType.build(type_)
            except (SqlglotError, ValueError) as error:
                raise ConfigError(
                    f"Column {table}.{column} has type {type_!r}, which is not a SQL type: {error}.",
                    field=f"schema.{table}.{column}",
                ) from error
        frozen[table] = MappingProxyType(dict(columns))
    return MappingProxyType(frozen)


@dataclass(frozen=True, kw_only=True)
class GateContext:
    """What the gate allows and how it renders the result.

    Attributes:
        schema: The allowlist, ``{table: {column: sql_type}}``; lowercase ASCII names. Only these tables and
            columns can be read; qualification resolves every column against it.
        allowed_columns: Optional narrower column sets per table, for columns that exist (so ``SELECT *``
            expands to them) but must not be read, e.g. ``{"users": {"id", "city_id"}}`` hides the rest of
            ``users``. Tables not named here allow all their schema columns.
        source_dialect: The sqlglot dialect the incoming SQL is written in, e.g. ``"duckdb"``.
        target_dialect: The warehouse's sqlglot dialect the result is rendered in, e.g. ``"postgres"``.
        max_rows: The LIMIT cap: added when the outermost query has none, lowered when it asks for more.
        scope_filters: Mandatory predicates per table, written in the source dialect against that table,
            e.g. ``{"orders": "orders.tenant_id = 42"}``; a predicate may read other schema tables in a
            subquery to follow joins (``orders.city_id IN (SELECT cities.city_id FROM cities WHERE ...)``, see
            :func:`knowledge.catalog.scope.row_filters`). Every occurrence of the table is replaced by a filtered
            subquery, so the predicate holds under joins, outer joins, subqueries and CTEs.
        extra_functions: Lowercase function names to allow on top of
            :data:`tools.sql_gate.functions.ALLOWED_FUNCTIONS` (a warehouse's own UDFs). Denied names cannot be
            added.
        cross_join_tables: Tables small enough to join without a join condition (a 12-month calendar, a list
            of regions); the ``no_cartesian_product`` rule rejects every other such join. Each must be in the
            schema. The warehouse's own row estimate still bounds what such a join produces.
        max_sql_chars: Longer input is rejected before tokenizing.

    Raises:
        ConfigError: If a name, type, dialect, filter or limit is invalid; ``field`` names it.
    """

    schema: Mapping[str, Mapping[str, str]]
    allowed_columns: Mapping[str, frozenset[str]] = field(default_factory=dict)
    source_dialect: str = "duckdb"
    target_dialect: str = "duckdb"
    max_rows: int = 1000
    scope_filters: Mapping[str, str] = field(default_factory=dict)
    extra_functions: frozenset[str] = frozenset()
    cross_join_tables: frozenset[str] = frozenset()
    max_sql_chars: int = 20_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema", _freeze_schema(self.schema))
        for name in ("source_dialect", "target_dialect"):
            value = getattr(self, name)
            try:
                Dialect.get_or_raise(value)
            except ValueError as error:
                raise ConfigError(
                    f"{name} {value!r} is not a sqlglot dialect; use e.g. duckdb, postgres, trino.", field=name
                ) from error
        if self.max_rows < 1:
            raise ConfigError(f"max_rows must be at least 1, got {self.max_rows}.", field="max_rows")
        if self.max_sql_chars < 1:
            raise ConfigError(f"max_sql_chars must be at least 1, got {self.max_sql_chars}.", field="max_sql_chars")
        allowed: dict[str, frozenset[str]] = {}
        for table, columns in self.allowed_columns.items():
            known = self.schema.get(table)
            if known is None:
                raise ConfigError(
                    f"allowed_columns names table {table!r}, which is not in the schema.",
                    field=f"allowed_columns.{table}",
                )
            unknown = sorted(set(columns) - set(known))
            if unknown:
                raise ConfigError(
                    f"allowed_columns.{table} names columns not in the schema: {', '.join(unknown)}.",
                    field=f"allowed_columns.{table}",
                )
            allowed[table] = frozenset(columns)
        object.__setattr__(self, "allowed_columns", MappingProxyType(allowed))
        for name in self.extra_functions:
            if not _NAME.match(name):
                raise ConfigError(
                    f"extra_functions entry {name!r} must be a lowercase ASCII function name.",
                    field="extra_functions",
                )
            if name in DENIED_FUNCTION_NAMES or is_denied_function_name(name):
                raise ConfigError(
                    f"extra_functions entry {name!r} is on the gate's denylist and cannot be allowed.",
                    field="extra_functions",
                )
        object.__setattr__(self, "extra_functions", frozenset(self.extra_functions))
        unknown_tables = sorted(set(self.cross_join_tables) - set(self.schema))
        if unknown_tables:
            raise ConfigError(
                f"cross_join_tables names tables not in the schema: {', '.join(unknown_tables)}.",
                field="cross_join_tables",
            )
        object.__setattr__(self, "cross_join_tables", frozenset(self.cross_join_tables))
        object.__setattr__(self, "scope_filters", MappingProxyType(dict(self.scope_filters)))
        _ = self.scope_predicates  # validate eagerly

    @cached_property
    def mapping_schema(self) -> MappingSchema:
        """The schema as sqlglot's :class:`MappingSchema`, normalized for the source dialect."""
        return MappingSchema(
            {table: dict(columns) for table, columns in self.schema.items()}, dialect=self.source_dialect
        )

    @cached_property
    def scope_predicates(self) -> Mapping[str, exp.Expr]:
        """Each scope filter parsed and checked against its table's columns."""
        parsed: dict[str, exp.Expr] = {}
        for table, predicate in self.scope_filters.items():
            where = f"scope_filters.{table}"
            if table not in self.schema:
                raise ConfigError(f"Scope filter names table {table!r}, which is not in the schema.", field=where)
            try:
                condition = parse_one(predicate, read=self.source_dialect, into=exp.Condition)
                probe = exp.select("*").from_(table).where(condition.copy())
                qualify(probe, schema=self.mapping_schema, dialect=self.source_dialect)
            except SqlglotError as error:
                raise ConfigError(
                    f"Scope filter for {table!r} is not a valid predicate on that table: {error}.", field=where
                ) from error
            unknown = sorted({t.name for t in condition.find_all(exp.Table)} - set(self.schema))
            if unknown:
                raise ConfigError(
                    f"Scope filter for {table!r} reads {', '.join(unknown)}, which is not in the schema.", field=where
                )
            condition = normalize_identifiers(condition, dialect=self.source_dialect)
            parsed[table] = quote_identifiers(condition, dialect=self.source_dialect, identify=True)
        return MappingProxyType(parsed)

    def readable_columns(self, table: str) -> frozenset[str]:
        """The columns of ``table`` a query may read."""
        return self.allowed_columns.get(table, frozenset(self.schema[table]))
