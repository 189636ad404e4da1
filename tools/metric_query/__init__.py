"""Structured metric queries: a small JSON schema a model fills, and a deterministic compiler to SQL.

A model never writes SQL for metric questions. It fills :class:`MetricQuery` (through
:func:`metric_query_model`, whose schema only admits the metric and dimension names retrieved for the question),
and :func:`compile_metric_query` builds the SQL from the catalog's own definitions with sqlglot's expression
builder. :func:`resolve_time_range` turns a period name such as ``last_month`` into dates, and
:func:`resolve_period` a catalog's period definition. See ``docs/metric-query.md``.
"""

from __future__ import annotations

from tools.metric_query._columns import metric_column
from tools.metric_query._validate import is_additive
from tools.metric_query.compiler import CompiledQuery, OutputColumn, compile_metric_query
from tools.metric_query.query import (
    Calculation,
    Comparison,
    ComparisonOutput,
    DateRange,
    Filter,
    FilterOp,
    MetricQuery,
    OrderBy,
    RelativePeriod,
    TimeRange,
    metric_query_model,
)
from tools.metric_query.time_range import PeriodWindow, resolve_period, resolve_time_range

__all__ = [
    "Calculation",
    "Comparison",
    "ComparisonOutput",
    "CompiledQuery",
    "DateRange",
    "Filter",
    "FilterOp",
    "MetricQuery",
    "OrderBy",
    "OutputColumn",
    "PeriodWindow",
    "RelativePeriod",
    "TimeRange",
    "compile_metric_query",
    "is_additive",
    "metric_column",
    "metric_query_model",
    "resolve_period",
    "resolve_time_range",
]
