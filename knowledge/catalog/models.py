"""The metric catalog's data model: the semantic layer between business questions and warehouse SQL.

A catalog names the warehouse (SQL dialect, connection, timezone, the reference date relative phrases resolve
against), its tables, columns and joins, the dimensions questions group and filter by, the metrics they ask
about (simple aggregations or formulas over other metrics), and question -> SQL examples. The YAML format is
described in ``docs/catalog.md``; :func:`knowledge.catalog.loader.load_catalog` reads and checks it.

These models check the shape of each entry on its own; the cross-references (SQL expressions against declared
columns, joins, derived metrics) are checked by the loader, which knows the file and line of every field.
"""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Iterator
from datetime import date
from functools import cached_property
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Catalog",
    "Column",
    "Dimension",
    "Example",
    "Join",
    "Localized",
    "Metric",
    "MetricFormat",
    "Synonyms",
    "Table",
    "TimeGrain",
    "WarehouseSpec",
    "catalog_json_schema",
    "packaged_json_schema",
]

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
COLUMN_REF_PATTERN = r"^[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}$"

Name = Annotated[str, Field(pattern=NAME_PATTERN, description="Lower-case identifier: letters, digits, _.")]
ColumnRef = Annotated[str, Field(pattern=COLUMN_REF_PATTERN, description="A column as `table.column`.")]
TimeGrain = Literal["day", "week", "month", "quarter", "year"]
Cardinality = Literal["one_to_one", "many_to_one", "one_to_many"]
MetricFormat = Literal["number", "integer", "currency", "percent"]
EnumValue = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Model):
    """A text in English and Chinese; both are required."""

    en: str = Field(min_length=1, description="English text.")
    zh: str = Field(min_length=1, description="Chinese text.")


class Synonyms(_Model):
    """Other words users say for a metric or dimension, per language."""

    en: tuple[str, ...] = Field(default=(), description="English synonyms.")
    zh: tuple[str, ...] = Field(default=(), description="Chinese synonyms.")


class WarehouseSpec(_Model):
    """The engine that runs the SQL."""

    dialect: str = Field(description="A sqlglot dialect name, e.g. duckdb, postgres, mysql, snowflake.")
    connection: str = Field(
        min_length=1,
        description="A DuckDB file path (relative to the catalog file) or a SQLAlchemy URL.",
    )
    timezone: str | None = Field(default=None, description="IANA timezone of the data, e.g. Asia/Shanghai.")
    reference_date: date = Field(
        description="The 'today' that relative phrases such as 'last month' or 上季度 resolve against."
    )

    @field_validator("dialect")
    @classmethod
    def _known_dialect(cls, value: str) -> str:
        from sqlglot.dialects.dialect import Dialects

        known = sorted(d.value for d in Dialects if d.value)
        if value not in known:
            raise ValueError(f"unknown SQL dialect {value!r}; use a sqlglot dialect name such as duckdb or postgres")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value


class Column(_Model):
    """A table column."""

    name: Name
    type: str = Field(min_length=1, description="SQL type in the catalog's dialect, e.g. BIGINT, DECIMAL(12,2).")
    description: str = ""
    values: tuple[EnumValue, ...] | None = Field(
        default=None, description="The complete list of values the column takes, when it is enumerable."
    )


class Table(_Model):
    """A warehouse table."""

    name: Name
    description: str = ""
    primary_key: tuple[Name, ...] = Field(default=(), description="Columns of the primary key.")
    columns: tuple[Column, ...] = Field(min_length=1)

    def column(self, name: str) -> Column | None:
        """The column called ``name``, or ``None``."""
        return next((c for c in self.columns if c.name == name), None)


class Join(_Model):
    """An equi-join between two tables; ``cardinality`` reads from ``left`` to ``right``."""

    left: ColumnRef
    right: ColumnRef
    cardinality: Cardinality = Field(
        description="many_to_one: each left row matches at most one right row; one_to_many the reverse."
    )

    @property
    def left_table(self) -> str:
        """Table of the left column."""
        return self.left.split(".", 1)[0]

    @property
    def right_table(self) -> str:
        """Table of the right column."""
        return self.right.split(".", 1)[0]


class Dimension(_Model):
    """Something questions group or filter by: a column expression of one table."""

    name: Name
    label: Localized
    synonyms: Synonyms = Synonyms()
    description: str = ""
    table: Name
    sql: str = Field(min_length=1, description="SQL expression over columns of `table`, not aggregated.")
    type: Literal["categorical", "time"] = "categorical"
    time_grains: tuple[TimeGrain, ...] = Field(
        default=(), description="For time dimensions: the grains questions may group by."
    )

    @model_validator(mode="after")
    def _grains(self) -> Dimension:
        if self.type == "time" and not self.time_grains:
            raise ValueError("a time dimension needs time_grains, e.g. [day, week, month, quarter, year]")
        if self.type != "time" and self.time_grains:
            raise ValueError("time_grains are only allowed on dimensions with type: time")
        if len(set(self.time_grains)) != len(self.time_grains):
            raise ValueError("time_grains lists a grain twice")
        return self


class Metric(_Model):
    """A number questions ask for: an aggregation over a table, or a formula over other metrics.

    A simple metric has ``table`` and ``sql`` (an aggregate expression), optionally ``filter`` (a row
    condition) and ``time_column`` (the column date ranges apply to). A derived metric has ``formula``, an
    arithmetic expression over other metrics' names, e.g. ``refund_amount / gmv``.
    """

    name: Name
    label: Localized
    synonyms: Synonyms = Synonyms()
    description: str = Field(min_length=1)
    table: Name | None = Field(default=None, description="Base table of a simple metric.")
    sql: str | None = Field(default=None, description="Aggregate SQL expression, e.g. SUM(orders.paid_amount).")
    filter: str | None = Field(default=None, description="Row condition applied before aggregating.")
    time_column: str | None = Field(
        default=None, description="Column that date ranges apply to: `column` of the base table or `table.column`."
    )
    formula: str | None = Field(default=None, description="Derived metric: arithmetic over metric names.")
    dimensions: tuple[Name, ...] = Field(
        default=(),
        description="Dimensions the metric may be grouped or filtered by; a derived metric defaults to the "
        "dimensions all its inputs allow.",
    )
    unit: str | None = Field(default=None, description="Unit of the value, e.g. CNY, orders, users.")
    format: MetricFormat = "number"

    @model_validator(mode="after")
    def _simple_or_derived(self) -> Metric:
        if self.formula is not None:
            extra = [f for f in ("table", "sql", "filter", "time_column") if getattr(self, f) is not None]
            if extra:
                raise ValueError(f"a derived metric (with formula) cannot also have {', '.join(extra)}")
        elif self.sql is None or self.table is None:
            raise ValueError("a metric needs either table and sql, or a formula over other metrics")
        return self

    @property
    def is_derived(self) -> bool:
        """Whether the metric is a formula over other metrics."""
        return self.formula is not None


class Example(_Model):
    """A question and the SQL that answers it, shown to the model as a demonstration."""

    question: str = Field(min_length=1)
    language: Literal["en", "zh"]
    sql: str = Field(min_length=1, description="A SELECT in the catalog's dialect.")
    metrics: tuple[Name, ...] = ()
    dimensions: tuple[Name, ...] = ()


class Catalog(_Model):
    """A whole metric catalog."""

    version: Literal[1] = 1
    name: Name
    description: str = ""
    warehouse: WarehouseSpec
    tables: tuple[Table, ...] = Field(min_length=1)
    joins: tuple[Join, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    metrics: tuple[Metric, ...] = ()
    examples: tuple[Example, ...] = ()

    def table(self, name: str) -> Table | None:
        """The table called ``name``, or ``None``."""
        return self._tables.get(name)

    def metric(self, name: str) -> Metric | None:
        """The metric called ``name``, or ``None``."""
        return self._metrics.get(name)

    def dimension(self, name: str) -> Dimension | None:
        """The dimension called ``name``, or ``None``."""
        return self._dimensions.get(name)

    def metric_inputs(self, name: str) -> tuple[str, ...]:
        """Names of the metrics a derived metric's formula uses (empty for a simple metric)."""
        metric = self._metrics[name]
        if metric.formula is None:
            return ()
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(metric.formula, read=self.warehouse.dialect)
        return tuple(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))

    def allowed_dimensions(self, name: str) -> tuple[str, ...]:
        """Dimensions a metric may use: its own list, or for a derived metric without one, the common ones."""
        metric = self._metrics[name]
        if metric.dimensions or not metric.is_derived:
            return metric.dimensions
        common: list[str] | None = None
        for part in self.metric_inputs(name):
            if part not in self._metrics:
                return ()
            allowed = self.allowed_dimensions(part)
            common = list(allowed) if common is None else [d for d in common if d in allowed]
        return tuple(common or ())

    def schema_mapping(self) -> dict[str, dict[str, str]]:
        """Tables and column types as a sqlglot schema mapping."""
        return {t.name: {c.name: c.type for c in t.columns} for t in self.tables}

    def iter_names(self) -> Iterator[tuple[str, str]]:
        """``(kind, name)`` of every table, dimension and metric."""
        for table in self.tables:
            yield "table", table.name
        for dimension in self.dimensions:
            yield "dimension", dimension.name
        for metric in self.metrics:
            yield "metric", metric.name

    @cached_property
    def _tables(self) -> dict[str, Table]:
        return {t.name: t for t in self.tables}

    @cached_property
    def _metrics(self) -> dict[str, Metric]:
        return {m.name: m for m in self.metrics}

    @cached_property
    def _dimensions(self) -> dict[str, Dimension]:
        return {d.name: d for d in self.dimensions}


def catalog_json_schema() -> dict[str, Any]:
    """The JSON Schema of the catalog format, generated from :class:`Catalog`."""
    schema = Catalog.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://kubeai-agents.dev/schemas/catalog.schema.json"
    schema["title"] = "KubeAI metric catalog"
    return schema


def packaged_json_schema() -> dict[str, Any]:
    """The JSON Schema shipped as ``knowledge/catalog/catalog.schema.json``."""
    text = resources.files("knowledge.catalog").joinpath("catalog.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
