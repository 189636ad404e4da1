"""The metric catalog's data model: the semantic layer between business questions and warehouse SQL.

A catalog names the warehouse (SQL dialect, connection, timezone, the reference date relative phrases resolve
against), its tables, columns and joins, the dimensions questions group and filter by, the metrics they ask
about (simple aggregations or formulas over other metrics), and question -> SQL examples. The YAML format is
described in ``docs/catalog.md``; :func:`knowledge.catalog.loader.load_catalog` reads and checks it.

Version 2 adds ``conventions`` (the reference date, the relative periods the business uses, its fiscal year,
how rates, growth and time buckets are formatted, rules stated once), ``attributes`` (fields questions filter by
but never group by), a generic time dimension over each metric's own time column (``metric_time``), join types,
snapshot metrics, labels in any language, and examples written as structured queries. A version 1 file still
loads; a version 1 file that uses a version 2 field is told to say ``version: 2``.

These models check the shape of each entry on its own; the cross-references (SQL expressions against declared
columns, joins, derived metrics) are checked by the loader, which knows the file and line of every field.
"""

from __future__ import annotations

import calendar
import functools
import json
import re
import zoneinfo
from collections.abc import Iterator
from datetime import date
from functools import cached_property
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from kubeai.values import json_value

__all__ = [
    "GRAIN_FORMATS",
    "PERIOD_UNITS",
    "Catalog",
    "Column",
    "Conventions",
    "Dimension",
    "Example",
    "Join",
    "Localized",
    "Metric",
    "MetricFormat",
    "Occasion",
    "PeriodDefinition",
    "RankingCues",
    "Synonyms",
    "Table",
    "TimeGrain",
    "Vocabulary",
    "WarehouseSpec",
    "catalog_json_schema",
    "packaged_json_schema",
    "standard_vocabulary",
]

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
COLUMN_REF_PATTERN = r"^[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}$"

Name = Annotated[str, Field(pattern=NAME_PATTERN, description="Lower-case identifier: letters, digits, _.")]
ColumnRef = Annotated[str, Field(pattern=COLUMN_REF_PATTERN, description="A column as `table.column`.")]
TimeGrain = Literal["day", "week", "month", "quarter", "year"]
Cardinality = Literal["one_to_one", "many_to_one", "one_to_many"]
MetricFormat = Literal["number", "integer", "currency", "percent"]
EnumValue = str | int | float | bool
PeriodUnit = Literal["day", "week", "month", "quarter", "half", "year"]
PERIOD_UNITS: tuple[str, ...] = ("day", "week", "month", "quarter", "half", "year")
GrainFormat = Literal["date", "YYYY-MM", "YYYY-Qn", "YYYY"]
GRAIN_FORMATS: tuple[str, ...] = ("date", "YYYY-MM", "YYYY-Qn", "YYYY")
NumberFormat = Literal["fraction", "percent"]
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Model):
    """A text in English and Chinese, and optionally in more languages (keys are language codes, e.g. ``ja``).

    Metrics, dimensions and periods may omit ``zh`` (or ``en``) when the business has only synonyms in that
    language: the entry fills it from its first synonym in the language, else from the other label.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    en: str = Field(min_length=1, description="English text.")
    zh: str = Field(min_length=1, description="Chinese text.")

    @model_validator(mode="after")
    def _languages(self) -> Localized:
        for key, value in (self.model_extra or {}).items():
            if not _LANGUAGE.match(key):
                raise ValueError(f"`{key}` is not a language code such as ja or pt-BR")
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"the `{key}` text must be a non-empty string")
        return self

    def get(self, language: str) -> str:
        """The text in ``language``, falling back to English."""
        if language == "zh":
            return self.zh
        extra = (self.model_extra or {}).get(language)
        return str(extra) if extra else self.en


class Synonyms(_Model):
    """Other words users say for a metric or dimension, per language (more languages by language code)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    en: tuple[str, ...] = Field(default=(), description="English synonyms.")
    zh: tuple[str, ...] = Field(default=(), description="Chinese synonyms.")

    @model_validator(mode="after")
    def _languages(self) -> Synonyms:
        for key, value in (self.model_extra or {}).items():
            if not _LANGUAGE.match(key):
                raise ValueError(f"`{key}` is not a language code such as ja or pt-BR")
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"the `{key}` synonyms must be a list of strings")
        return self

    def all(self) -> tuple[str, ...]:
        """Every synonym in every language."""
        extra = [str(v) for values in (self.model_extra or {}).values() for v in values]
        return (*self.en, *self.zh, *extra)


def _fill_label(data: Any, synonyms_key: str = "synonyms") -> Any:
    """Before validation: a label missing ``en`` or ``zh`` takes the first synonym in that language, else the other."""
    if not isinstance(data, dict) or not isinstance(data.get("label"), dict):
        return data
    label = dict(data["label"])
    found = data.get(synonyms_key)
    synonyms: dict[str, Any] = found if isinstance(found, dict) else {}
    for language, other in (("zh", "en"), ("en", "zh")):
        if not label.get(language):
            words = synonyms.get(language) or ()
            first = words[0] if isinstance(words, list | tuple) and words and isinstance(words[0], str) else None
            if first or label.get(other):
                label[language] = first or label[other]
    return {**data, "label": label}


class WarehouseSpec(_Model):
    """The engine that runs the SQL."""

    dialect: str = Field(description="A sqlglot dialect name, e.g. duckdb, postgres, mysql, snowflake.")
    connection: str = Field(
        min_length=1,
        description="A DuckDB file path (relative to the catalog file) or a SQLAlchemy URL.",
    )
    timezone: str | None = Field(default=None, description="IANA timezone of the data, e.g. Asia/Shanghai.")
    reference_date: date | None = Field(
        default=None,
        description="The 'today' that relative phrases such as 'last month' or 上季度 resolve against (version 2: "
        "`conventions.reference_date`).",
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
    value_names: dict[str, Synonyms] = Field(
        default_factory=dict,
        description="What people call some values, per language, when no column holds those names: "
        "{Tier 1: {zh: [一线]}, wechat_pay: {zh: [微信支付]}}. The agent reads them in questions as the value.",
    )

    @model_validator(mode="after")
    def _named_values(self) -> Column:
        if self.values is not None and self.value_names:
            listed = {str(v) for v in self.values}
            unknown = [name for name in self.value_names if name not in listed]
            if unknown:
                raise ValueError(f"value_names names {', '.join(map(repr, unknown))}, which `values` does not list")
        return self


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
    type: Literal["left", "inner"] = Field(
        default="left",
        description="left: a row without a match still counts (a breakdown sums to the total); inner: a row "
        "without a match is left out, e.g. shipments without a courier when grouping by the courier's team.",
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
    """Something questions group or filter by: a column expression of one table.

    A time dimension with ``metric_time: true`` has no table or SQL of its own: it stands for each metric's own
    time column (orders by order date, refunds by refund date), so one "period" dimension serves every metric.
    An attribute (the catalog's ``attributes`` section) has ``filter_only`` set: questions filter by it but
    never group by it.
    """

    name: Name
    label: Localized
    synonyms: Synonyms = Synonyms()
    description: str = ""
    table: Name | None = Field(default=None, description="Table of the expression (not for metric_time).")
    sql: str | None = Field(
        default=None, min_length=1, description="SQL expression over columns of `table`, not aggregated."
    )
    type: Literal["categorical", "time", "number"] = "categorical"
    time_grains: tuple[TimeGrain, ...] = Field(
        default=(), description="For time dimensions: the grains questions may group by."
    )
    metric_time: bool = Field(
        default=False, description="A time dimension over each metric's own time column (no table or sql)."
    )
    filter_only: bool = Field(default=False, description="An attribute: filtered by, never grouped by.")

    @model_validator(mode="before")
    @classmethod
    def _labels(cls, data: Any) -> Any:
        return _fill_label(data)

    @model_validator(mode="after")
    def _grains(self) -> Dimension:
        if self.metric_time:
            if self.type != "time":
                raise ValueError("metric_time needs type: time")
            if self.table is not None or self.sql is not None:
                raise ValueError("a metric_time dimension uses each metric's time column: drop table and sql")
        elif self.table is None or self.sql is None:
            raise ValueError("a dimension needs table and sql (or type: time with metric_time: true)")
        if self.type == "time" and not self.time_grains and not self.filter_only:
            raise ValueError("a time dimension needs time_grains, e.g. [day, week, month, quarter, year]")
        if self.type != "time" and self.time_grains:
            raise ValueError("time_grains are only allowed on dimensions with type: time")
        if len(set(self.time_grains)) != len(self.time_grains):
            raise ValueError("time_grains lists a grain twice")
        return self

    @property
    def source_table(self) -> str:
        """The table of a dimension with its own expression (not for ``metric_time``)."""
        assert self.table is not None, "metric_time dimensions have no table"
        return self.table

    @property
    def expression(self) -> str:
        """The SQL of a dimension with its own expression (not for ``metric_time``)."""
        assert self.sql is not None, "metric_time dimensions have no sql"
        return self.sql


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
    snapshot: bool = Field(
        default=False,
        description="A snapshot (semi-additive) metric, e.g. headcount or stock on hand: over a period it takes "
        "the rows of the latest snapshot date inside it instead of adding every day up.",
    )

    @model_validator(mode="before")
    @classmethod
    def _labels(cls, data: Any) -> Any:
        return _fill_label(data)

    @model_validator(mode="after")
    def _simple_or_derived(self) -> Metric:
        if self.formula is not None:
            extra = [f for f in ("table", "sql", "filter", "time_column") if getattr(self, f) is not None]
            if extra:
                raise ValueError(f"a derived metric (with formula) cannot also have {', '.join(extra)}")
        elif self.sql is None or self.table is None:
            raise ValueError("a metric needs either table and sql, or a formula over other metrics")
        if self.snapshot and (self.formula is not None or self.time_column is None):
            raise ValueError("a snapshot metric needs table, sql and the time_column its snapshots are dated by")
        return self

    @property
    def is_derived(self) -> bool:
        """Whether the metric is a formula over other metrics."""
        return self.formula is not None


class Example(_Model):
    """A question and how it is answered, shown to the model as a demonstration.

    ``query`` is the structured metric query (version 2), shown on the structured path; ``sql`` is a SELECT in
    the catalog's dialect, shown on the free-SQL path. An example needs at least one of them.
    """

    question: str = Field(min_length=1)
    language: Literal["en", "zh"]
    sql: str | None = Field(default=None, min_length=1, description="A SELECT in the catalog's dialect.")
    query: dict[str, Any] | None = Field(
        default=None, description="The structured metric query that answers the question (MetricQuery fields)."
    )
    metrics: tuple[Name, ...] = ()
    dimensions: tuple[Name, ...] = ()

    @field_validator("query", mode="before")
    @classmethod
    def _plain_json(cls, value: Any) -> Any:
        # YAML reads an unquoted 2025-01-01 as a date; the query is JSON data, so dates become ISO text.
        if isinstance(value, dict):
            return json.loads(json.dumps(value, default=json_value))
        return value

    @model_validator(mode="after")
    def _answered(self) -> Example:
        if self.sql is None and self.query is None:
            raise ValueError("an example needs sql, query or both")
        return self


class PeriodDefinition(_Model):
    """A relative period the business names, e.g. last month, H1, the last 6 months, this year so far.

    A window of ``count`` units ends with the unit ``offset`` units from the one holding the reference date
    (``offset: 0`` is the current unit, to date: it ends on the reference date, inclusive; ``-1`` the previous
    whole unit). ``index`` instead names the n-th unit of the reference date's (fiscal) year: ``half`` 1 is H1,
    ``quarter`` 2 is Q2 (to date when it holds the reference date). Years, halves and quarters follow the
    fiscal year start; weeks start on the conventions' week start.
    """

    name: Name
    label: Localized
    phrases: Synonyms = Field(default=Synonyms(), description="Words that name the period, per language.")
    unit: PeriodUnit
    count: int = Field(default=1, ge=1, le=1000, description="Window length in units.")
    offset: int = Field(default=0, le=0, ge=-1000, description="0: ends with the current unit; -1: the previous.")
    index: int | None = Field(default=None, ge=1, le=366, description="The n-th unit of the reference year.")

    @model_validator(mode="before")
    @classmethod
    def _labels(cls, data: Any) -> Any:
        return _fill_label(data, "phrases")

    @model_validator(mode="after")
    def _window(self) -> PeriodDefinition:
        if self.index is not None:
            if self.count != 1 or self.offset != 0:
                raise ValueError("a period with index names one unit of the year: drop count and offset")
            per_year = {"half": 2, "quarter": 4, "month": 12, "week": 53, "day": 366}.get(self.unit)
            if per_year is None:
                raise ValueError("index needs a unit inside a year: half, quarter, month, week or day")
            if self.index > per_year:
                raise ValueError(f"a year has at most {per_year} {self.unit}s, not {self.index}")
        return self


def _period_kind(value: Any) -> str:
    return "name" if isinstance(value, str) else "definition"


PeriodItem = Annotated[
    Annotated[str, Tag("name")] | Annotated[PeriodDefinition, Tag("definition")],
    Discriminator(_period_kind),
]
"""A standard period's name, or a definition of the business's own."""


_MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


class Occasion(_Model):
    """A day or span of days the business names every year (双十一 is 11-11, 618 runs 06-01 to 06-18).

    A question naming the occasion means those days in the year it names, else the reference date's year (the
    year before when that would lie after the reference date).
    """

    name: Name
    label: Localized
    phrases: Synonyms = Field(default=Synonyms(), description="Words that name the occasion, per language.")
    start: str = Field(pattern=_MONTH_DAY, description="First day, MM-DD.")
    end: str | None = Field(default=None, pattern=_MONTH_DAY, description="Last day, MM-DD (default: the start).")

    @model_validator(mode="before")
    @classmethod
    def _labels(cls, data: Any) -> Any:
        return _fill_label(data, "phrases")

    @model_validator(mode="after")
    def _days(self) -> Occasion:
        for day in (self.start, self.end or self.start):
            month, number = (int(part) for part in day.split("-"))
            if number > calendar.monthrange(2024, month)[1]:  # 2024: a leap year, so 02-29 is allowed
                raise ValueError(f"{day} is not a day of the year")
        if (self.end or self.start) < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; an occasion stays inside one year")
        return self

    def days(self, year: int) -> tuple[date, date]:
        """The occasion's first and last day in ``year`` (02-29 falls back to 02-28 outside leap years)."""
        return _month_day(year, self.start), _month_day(year, self.end or self.start)


def _month_day(year: int, text: str) -> date:
    month, day = (int(part) for part in text.split("-"))
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


class Conventions(_Model):
    """What a business states once: its 'today', the periods it names, its fiscal year, formats and rules."""

    reference_date: date | None = Field(
        default=None, description="The warehouse's 'today' that relative periods resolve against."
    )
    week_start: Literal["monday", "sunday"] = "monday"
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12, description="Month the (fiscal) year starts in.")
    periods: tuple[PeriodItem, ...] | None = Field(
        default=None,
        description="The relative periods questions may use: names from the standard vocabulary "
        "(knowledge/catalog/vocabulary.yaml) and definitions of the business's own; default: the whole standard.",
    )
    rate_format: NumberFormat = Field(
        default="fraction", description="How ratios come out: fraction (0.125) or percent (12.5)."
    )
    growth_format: NumberFormat = Field(
        default="fraction", description="How growth against an earlier period comes out: fraction or percent."
    )
    grain_formats: dict[TimeGrain, GrainFormat] = Field(
        default_factory=dict,
        description="Per time grain, how buckets come out: date (the first day), YYYY-MM, YYYY-Qn or YYYY.",
    )
    grain_phrases: dict[TimeGrain, Synonyms] | None = Field(
        default=None, description="Words that ask for a time series per grain (default: the standard vocabulary)."
    )
    breakdown_cues: Synonyms | None = Field(
        default=None, description="Words before a dimension that ask for a breakdown (default: the standard)."
    )
    occasions: tuple[Occasion, ...] = Field(
        default=(), description="Days the business names every year (双十一, 618) and the dates they cover."
    )
    notes: tuple[str, ...] = Field(default=(), description="Business rules stated once; they reach the prompt.")

    def grain_format(self, grain: str) -> str:
        """How buckets of ``grain`` come out (``date`` unless the catalog says otherwise)."""
        return str(self.grain_formats.get(grain, "date"))  # type: ignore[call-overload]


_V2_FIELDS = ("conventions", "attributes")


class Catalog(_Model):
    """A whole metric catalog."""

    version: Literal[1, 2] = 1
    name: Name
    description: str = ""
    warehouse: WarehouseSpec
    conventions: Conventions = Conventions()
    tables: tuple[Table, ...] = Field(min_length=1)
    joins: tuple[Join, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    attributes: tuple[Dimension, ...] = Field(
        default=(), description="Fields questions filter by but do not group by (version 2)."
    )
    metrics: tuple[Metric, ...] = ()
    examples: tuple[Example, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _versioned(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("version", 1) == 1:
            used = [key for key in _V2_FIELDS if key in data]
            if used:
                raise ValueError(f"`{used[0]}` is a catalog version 2 field; set `version: 2` at the top of the file")
            # Version 1 behaviour: growth in percent (<metric>_change_pct).
            data = {**data, "conventions": {"growth_format": "percent"}}
        attributes = data.get("attributes")
        if isinstance(attributes, list):
            data = {
                **data,
                "attributes": [{**a, "filter_only": True} if isinstance(a, dict) else a for a in attributes],
            }
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        if self.conventions.reference_date is None and self.warehouse.reference_date is None:
            raise ValueError(
                "set conventions.reference_date (version 2) or warehouse.reference_date: the 'today' "
                "relative periods resolve against"
            )
        grouped = [d.name for d in self.dimensions if d.filter_only]
        if grouped:
            raise ValueError(f"dimension `{grouped[0]}` is filter_only: declare it under attributes instead")
        known = {p.name for p in standard_vocabulary().periods}
        for item in self.conventions.periods or ():
            if isinstance(item, str) and item not in known:
                raise ValueError(
                    f"conventions.periods names `{item}`, which is not in the standard vocabulary "
                    f"({', '.join(sorted(known))}); define it with unit, count and offset"
                )
        return self

    @property
    def reference_date(self) -> date:
        """The warehouse's 'today': ``conventions.reference_date``, else ``warehouse.reference_date``."""
        found = self.conventions.reference_date or self.warehouse.reference_date
        assert found is not None, "the model validator requires one of them"
        return found

    @property
    def all_dimensions(self) -> tuple[Dimension, ...]:
        """Dimensions, then attributes."""
        return (*self.dimensions, *self.attributes)

    def periods(self) -> tuple[PeriodDefinition, ...]:
        """The relative periods of this catalog, in its order (standard names expanded)."""
        return tuple(self._periods.values())

    def period(self, name: str) -> PeriodDefinition | None:
        """The relative period called ``name``, or ``None``."""
        return self._periods.get(name)

    def grain_phrases(self) -> dict[str, Synonyms]:
        """Words that ask for a time series, per grain (the catalog's, else the standard vocabulary's)."""
        phrases = self.conventions.grain_phrases or standard_vocabulary().grain_phrases
        return {str(grain): words for grain, words in phrases.items()}

    def breakdown_cues(self) -> Synonyms:
        """Words before a dimension that ask for a breakdown (the catalog's, else the standard vocabulary's)."""
        return self.conventions.breakdown_cues or standard_vocabulary().breakdown_cues

    def table(self, name: str) -> Table | None:
        """The table called ``name``, or ``None``."""
        return self._tables.get(name)

    def metric(self, name: str) -> Metric | None:
        """The metric called ``name``, or ``None``."""
        return self._metrics.get(name)

    def dimension(self, name: str) -> Dimension | None:
        """The dimension or attribute called ``name``, or ``None``."""
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
        """Dimensions and attributes a metric may use.

        Its own list (for a derived metric without one, those all its inputs allow), plus every ``metric_time``
        dimension when the metric (each of its inputs) has a time column.
        """
        metric = self._metrics[name]
        if metric.dimensions or not metric.is_derived:
            listed = metric.dimensions
        else:
            common: list[str] | None = None
            for part in self.metric_inputs(name):
                if part not in self._metrics:
                    return ()
                allowed = self.allowed_dimensions(part)
                common = list(allowed) if common is None else [d for d in common if d in allowed]
            listed = tuple(common or ())
        timed = [d.name for d in self.dimensions if d.metric_time and self._has_time(name)]
        return tuple(dict.fromkeys([*listed, *timed]))

    def _has_time(self, name: str) -> bool:
        metric = self._metrics.get(name)
        if metric is None:
            return False
        if not metric.is_derived:
            return metric.time_column is not None
        parts = self.metric_inputs(name)
        return bool(parts) and all(self._has_time(p) for p in parts)

    def schema_mapping(self) -> dict[str, dict[str, str]]:
        """Tables and column types as a sqlglot schema mapping."""
        return {t.name: {c.name: c.type for c in t.columns} for t in self.tables}

    def iter_names(self) -> Iterator[tuple[str, str]]:
        """``(kind, name)`` of every table, dimension, attribute and metric."""
        for table in self.tables:
            yield "table", table.name
        for dimension in self.dimensions:
            yield "dimension", dimension.name
        for attribute in self.attributes:
            yield "attribute", attribute.name
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
        return {d.name: d for d in self.all_dimensions}

    @cached_property
    def _periods(self) -> dict[str, PeriodDefinition]:
        standard = {p.name: p for p in standard_vocabulary().periods}
        chosen = self.conventions.periods
        if chosen is None:
            return standard
        found: dict[str, PeriodDefinition] = {}
        for item in chosen:
            definition = standard[item] if isinstance(item, str) else item
            found[definition.name] = definition
        return found


class RankingCues(_Model):
    """Words that ask for a ranking: superlatives per sort direction, singular question words, "sort" words."""

    desc: Synonyms
    asc: Synonyms
    which: Synonyms
    sort: Synonyms
    first: Synonyms


class Vocabulary(_Model):
    """The standard vocabulary a catalog picks from (``knowledge/catalog/vocabulary.yaml``).

    Periods, grain phrases, the cues for breakdowns, rankings, shares and questions about the future, and the
    phrases that open a count.
    """

    periods: tuple[PeriodDefinition, ...]
    grain_phrases: dict[TimeGrain, Synonyms]
    breakdown_cues: Synonyms
    ranking_cues: RankingCues
    share_cues: Synonyms
    within_cues: Synonyms
    with_value_cues: Synonyms
    future_cues: Synonyms
    count_openers: Synonyms


@functools.cache
def standard_vocabulary() -> Vocabulary:
    """The packaged standard vocabulary (``knowledge/catalog/vocabulary.yaml``), read once."""
    import yaml

    text = resources.files("knowledge.catalog").joinpath("vocabulary.yaml").read_text(encoding="utf-8")
    return Vocabulary.model_validate(yaml.safe_load(text))


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
