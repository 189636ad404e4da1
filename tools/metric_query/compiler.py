"""Compile a :class:`MetricQuery` into SQL with sqlglot's builder, from the catalog's own definitions.

The SQL has this shape (see ``docs/metric-query.md``)::

    WITH m_<metric> AS (            -- one per base table + row filter + time column: the simple metrics
      SELECT <dimension exprs>, <aggregates> FROM <base> LEFT JOIN <many_to_one path> ...
      WHERE <metric filter> AND <query filters> AND <time column in range> GROUP BY <dimension exprs>),
    p_<metric> AS (...),            -- the same over the previous period, for period/year comparisons
    spine AS (SELECT dims FROM m_a UNION SELECT dims FROM m_b),   -- when metrics come from several CTEs
    result AS (SELECT spine.dims, <metric values, derived formulas, calculations> FROM spine LEFT JOIN m_a ...)
    SELECT <dims>, <metrics>, <calculations>, <comparison columns> FROM result ORDER BY ... LIMIT n

Why a spine and LEFT JOINs rather than FULL OUTER JOINs between the metric CTEs: the spine holds every
dimension combination any metric has, each metric joins to it at most once (its CTE is grouped by exactly those
columns), so nothing is double counted and no combination is lost; NULL-safe equality keeps a NULL group (an
order without a city) joined, and the spine makes the join symmetric for any number of metrics, where chained
full outer joins would need COALESCE-d keys at every step.

Joins inside a metric CTE follow ``many_to_one`` paths only, so they never multiply the base rows. They are LEFT
JOINs unless the catalog declares the join ``type: inner``: a LEFT JOIN never drops rows whose foreign key is
missing, so a metric grouped by a dimension sums to its total.

A snapshot metric's CTE keeps only the rows on the latest snapshot date of its range (or of each time bucket); a
``metric_time`` dimension is each CTE's own time column; time buckets take the catalog's grain formats after any
comparison shift, so all CTEs meet on the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlglot
from sqlglot import exp

from knowledge.catalog.joins import JoinStep, join_path
from knowledge.catalog.models import Catalog, Dimension, Metric
from kubeai.errors import MetricQueryError
from tools.metric_query._columns import (
    OutputColumn,
    calculation_in_percent,
    group_column,
    growth_column,
    in_percent,
    previous_column,
    share_column,
    value_columns,
)
from tools.metric_query._expressions import catalog_expression, column_ref, date_literal, filter_condition
from tools.metric_query._validate import (
    GROWTH_COMPARISONS,
    SHARE_COMPARISONS,
    GroupColumn,
    Plan,
    PlannedCalculation,
    is_additive,
    plan_query,
)
from tools.metric_query.query import MetricQuery
from tools.metric_query.time_range import add_months, previous_range

__all__ = ["CompiledQuery", "OutputColumn", "compile_metric_query"]

_TRUNC_UNITS = {"day": "DAY", "week": "WEEK", "month": "MONTH", "quarter": "QUARTER", "year": "YEAR"}

# Shifts use only days and months: PostgreSQL intervals have no QUARTER unit.
_PERIOD_SHIFT = {
    "day": (1, "DAY"),
    "week": (7, "DAY"),
    "month": (1, "MONTH"),
    "quarter": (3, "MONTH"),
    "year": (12, "MONTH"),
}


@dataclass(frozen=True, kw_only=True)
class CompiledQuery:
    """A metric query compiled to SQL, with what it used, for showing to the user.

    Attributes:
        sql: The query in the catalog's dialect; pass it through :func:`tools.sql_gate.check_sql` before running.
        dialect: The catalog's sqlglot dialect.
        expression: The sqlglot tree; :meth:`to_sql` renders it in another dialect.
        columns: The result's column names, in order.
        column_info: What each result column holds.
        metrics: The definitions of the requested metrics, then of the simple metrics they are computed from.
        dimensions: The definitions of the dimensions grouped and filtered by.
        time_range: The dates covered, ``(start, end_exclusive)``, or ``None`` for all time.
        previous_time_range: For ``period_over_period`` and ``year_over_year``: the dates the previous values
            cover (for a time series, the whole shifted range), else ``None``.
        query: The query compiled.
    """

    sql: str
    dialect: str
    expression: exp.Query
    columns: tuple[str, ...]
    column_info: tuple[OutputColumn, ...]
    metrics: tuple[Metric, ...]
    dimensions: tuple[Dimension, ...]
    time_range: tuple[date, date] | None
    previous_time_range: tuple[date, date] | None
    query: MetricQuery

    def to_sql(self, dialect: str | None = None, *, pretty: bool = False) -> str:
        """The query rendered in ``dialect`` (default: the catalog's)."""
        return self.expression.sql(dialect=dialect or self.dialect, pretty=pretty)


@dataclass(frozen=True, kw_only=True)
class _Source:
    """Simple metrics aggregated together: same base table, row filter and time column."""

    table: str
    metrics: tuple[Metric, ...]


@dataclass(frozen=True, kw_only=True)
class _Window:
    """The rows one CTE aggregates: a date range and how far to move time buckets forward."""

    dates: tuple[date, date] | None
    shift: tuple[int, str] | None = None


class _Names:
    """CTE names that collide with no table and no other CTE."""

    def __init__(self, taken: Sequence[str]) -> None:
        self._taken = set(taken)

    def new(self, base: str) -> str:
        name, index = base, 2
        while name in self._taken:
            name, index = f"{base}_{index}", index + 1
        self._taken.add(name)
        return name


def _sources(catalog: Catalog, metrics: Sequence[Metric]) -> list[_Source]:
    grouped: dict[tuple[str, str, str, bool], list[Metric]] = {}
    for metric in metrics:
        assert metric.table is not None
        time = column_ref(metric.time_column, metric.table).sql() if metric.time_column else ""
        row_filter = catalog_expression(catalog, metric.filter, metric.table).sql() if metric.filter else ""
        grouped.setdefault((metric.table, row_filter, time, metric.snapshot), []).append(metric)
    return [_Source(table=key[0], metrics=tuple(found)) for key, found in grouped.items()]


def _truncate(catalog: Catalog, tree: exp.Expr, table: str, grain: str) -> exp.Expr:
    """``DATE_TRUNC`` as sqlglot's date or timestamp node, by the column's declared type, cast to DATE."""
    spec = catalog.table((tree.table if isinstance(tree, exp.Column) else "") or table)
    column = spec.column(tree.name) if spec is not None and isinstance(tree, exp.Column) else None
    kind = exp.DataType.build(column.type, dialect=catalog.warehouse.dialect).this if column else None
    node: Any = exp.DateTrunc if kind == exp.DataType.Type.DATE else exp.TimestampTrunc
    if grain == "week" and catalog.conventions.week_start == "sunday":
        # DATE_TRUNC weeks start on Monday in DuckDB and PostgreSQL: a day later, truncated, then a day earlier.
        later = exp.DateAdd(this=tree, expression=exp.Literal.number(1), unit=exp.var("DAY"))
        monday = exp.cast(exp.TimestampTrunc(this=later, unit=exp.Literal.string("WEEK")), exp.DataType.build("DATE"))
        sunday = exp.DateSub(this=monday, expression=exp.Literal.number(1), unit=exp.var("DAY"))
        return exp.cast(sunday, exp.DataType.build("DATE"))
    truncated: exp.Expr = node(this=tree, unit=exp.Literal.string(_TRUNC_UNITS[grain]))
    return exp.cast(truncated, exp.DataType.build("DATE"))


def _time_column(metric: Metric) -> exp.Column:
    assert metric.table is not None, "only simple metrics have a time column"
    assert metric.time_column is not None, "plan_query checks that ranged and timed metrics have a time column"
    return column_ref(metric.time_column, metric.table)


def _group_expression(catalog: Catalog, group: GroupColumn, metric: Metric) -> tuple[exp.Expr, str]:
    """The group's expression and its table: a ``metric_time`` dimension is the metric's own time column."""
    if group.dimension.metric_time:
        column = _time_column(metric)
        return column, column.table
    dimension = group.dimension
    return catalog_expression(catalog, dimension.expression, dimension.source_table), dimension.source_table


def _year(day: exp.Expr) -> exp.Expr:
    return exp.cast(exp.Extract(this=exp.var("YEAR"), expression=day), exp.DataType.build("INT"))


def _formatted(bucket: exp.Expr, time_format: str) -> exp.Expr:
    """A DATE bucket in the catalog's grain format: DATE, ``YYYY-MM`` text, ``YYYY-Qn`` text or ``YYYY`` integer."""
    if time_format == "YYYY-MM":
        return exp.TimeToStr(this=bucket, format=exp.Literal.string("%Y-%m"))
    if time_format == "YYYY":
        return _year(bucket)
    if time_format == "YYYY-Qn":
        text = exp.DataType.build("TEXT")
        quarter = exp.cast(exp.Extract(this=exp.var("QUARTER"), expression=bucket.copy()), exp.DataType.build("INT"))
        year_dash_q = exp.DPipe(this=exp.cast(_year(bucket), text), expression=exp.Literal.string("-Q"))
        return exp.DPipe(this=year_dash_q, expression=exp.cast(quarter, text.copy()))
    if time_format == "date":
        return bucket
    raise MetricQueryError(
        f"The catalog's grain format {time_format!r} is not one of date, YYYY-MM, YYYY-Qn, YYYY; fix "
        "conventions.grain_formats.",
        field="time_grain",
    )


def _bucket(
    catalog: Catalog, group: GroupColumn, shift: tuple[int, str] | None, metric: Metric, *, formatted: bool
) -> exp.Expr:
    tree, table = _group_expression(catalog, group, metric)
    if group.grain is None:
        return tree
    bucket = _truncate(catalog, tree, table, group.grain)
    if shift is not None:
        amount, unit = shift
        moved = exp.DateAdd(this=bucket, expression=exp.Literal.number(amount), unit=exp.var(unit))
        bucket = exp.cast(moved, exp.DataType.build("DATE"))
    if formatted:
        return _formatted(bucket, catalog.conventions.grain_format(group.grain))
    return bucket


def _joins(catalog: Catalog, base: str, tables: Sequence[str], metric: Metric) -> list[JoinStep]:
    steps: dict[str, JoinStep] = {}
    for table in tables:
        path = join_path(catalog, base, table)
        if path is None:
            raise MetricQueryError(
                f"Metric `{metric.name}` cannot use table `{table}`: it can only be reached from `{base}` through "
                "joins that would count rows several times.",
                field="dimensions",
            )
        for step in path:
            steps.setdefault(step.table, step)
    return list(steps.values())


def _aggregate_sql(metric: Metric) -> str:
    assert metric.sql is not None, "only simple metrics are aggregated"
    return metric.sql


def _snapshot_dates(
    catalog: Catalog, metric: Metric, plan: Plan, conditions: Sequence[exp.Expr], window: _Window
) -> exp.Expr:
    """``time column IN (latest snapshot date of the range, or of each time bucket)``.

    The latest date is the table's, whatever the other filters (a department without rows on it has none), but
    conditions on the time column itself (a filter on a ``metric_time`` dimension) narrow the dates it is taken
    from, as the time range does.
    """
    column = _time_column(metric)
    table = column.table
    inner = exp.column(column.name, table=table)
    where: list[exp.Expr] = [
        exp.paren(c.copy())
        for c in conditions
        if all(col.table == table and col.name == column.name for col in c.find_all(exp.Column))
    ]
    if window.dates is not None:
        where += [exp.GTE(this=inner.copy(), expression=date_literal(window.dates[0]))]
        where += [exp.LT(this=inner.copy(), expression=date_literal(window.dates[1]))]
    latest = exp.select(exp.Max(this=inner.copy())).from_(exp.table_(table))
    if where:
        latest = latest.where(exp.and_(*where))
    grains = [g.grain for g in plan.time_groups if g.grain is not None]
    if grains:
        latest = latest.group_by(_truncate(catalog, inner.copy(), table, grains[0]))
    return exp.In(this=column, query=exp.Subquery(this=latest))


def _aggregate(
    catalog: Catalog,
    source: _Source,
    plan: Plan,
    conditions: Sequence[exp.Expr],
    window: _Window,
) -> exp.Select:
    first = source.metrics[0]
    base = source.table
    buckets = [_bucket(catalog, g, None, first, formatted=False) for g in plan.groups]
    outputs = [exp.alias_(_bucket(catalog, g, window.shift, first, formatted=True), g.name) for g in plan.groups]
    where: list[exp.Expr] = []
    if first.filter:
        where.append(exp.paren(catalog_expression(catalog, first.filter, base)))
    where += [exp.paren(c.copy()) for c in conditions]
    if window.dates is not None:
        time = _time_column(first)
        where += [exp.GTE(this=time, expression=date_literal(window.dates[0]))]
        where += [exp.LT(this=time.copy(), expression=date_literal(window.dates[1]))]
    if first.snapshot:
        where.append(_snapshot_dates(catalog, first, plan, conditions, window))
    aggregates = [exp.alias_(catalog_expression(catalog, _aggregate_sql(m), base), m.name) for m in source.metrics]
    used: dict[str, None] = {}
    for node in [*buckets, *where, *aggregates]:
        for column in node.find_all(exp.Column):
            if column.find_ancestor(exp.Subquery) is None:
                used.setdefault(column.table, None)
    select = exp.select(*outputs, *aggregates).from_(exp.table_(base))
    for step in _joins(catalog, base, [t for t in used if t != base], first):
        on = exp.EQ(this=column_ref(step.from_column, base), expression=column_ref(step.to_column, base))
        select = select.join(exp.table_(step.table), on=on, join_type=step.join_type)
    if where:
        select = select.where(exp.and_(*where))
    if buckets:
        select = select.group_by(*buckets)
    return select


def _double(value: exp.Expr) -> exp.Expr:
    return exp.cast(value, exp.DataType.build("DOUBLE"))


def _nullif_zero(value: exp.Expr) -> exp.Expr:
    return exp.Nullif(this=value, expression=exp.Literal.number(0))


def _safe_divisions(tree: exp.Expr) -> exp.Expr:
    """Every ``a / b`` as ``CAST(a AS DOUBLE) / NULLIF(b, 0)``: no integer division, no division by zero."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Div):
            return exp.Div(this=_double(node.this), expression=_nullif_zero(node.expression))
        return node

    return tree.transform(rewrite)


class _Values:
    """Expressions for metric and calculation values inside the ``result`` CTE."""

    def __init__(self, catalog: Catalog, tables: dict[str, str], *, coalesce_simple: bool) -> None:
        self._catalog = catalog
        self._tables = tables
        self._coalesce_simple = coalesce_simple

    def value(self, metric: Metric, *, as_input: bool = False) -> exp.Expr:
        if metric.formula is None:
            column: exp.Expr = exp.column(metric.name, table=self._tables[metric.name])
            if (as_input or self._coalesce_simple) and is_additive(self._catalog, metric):
                column = exp.Coalesce(this=column, expressions=[exp.Literal.number(0)])
            return column
        tree = sqlglot.parse_one(metric.formula, read=self._catalog.warehouse.dialect)

        def substitute(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Column):
                part = self._catalog.metric(node.name)
                assert part is not None, "the catalog loader checks formula inputs"
                return exp.paren(self.value(part, as_input=True))
            return node

        return _safe_divisions(tree.transform(substitute))

    def shown(self, metric: Metric) -> exp.Expr:
        """A requested metric's value, in percent when the catalog wants rates in percent."""
        value = self.value(metric)
        return _percent(value) if in_percent(self._catalog, metric) else value

    def calculation(self, item: PlannedCalculation) -> exp.Expr:
        """An ad-hoc ratio (``CAST(a AS DOUBLE) / NULLIF(b, 0)``) or difference of two metrics' values."""
        left = exp.paren(self.value(item.left, as_input=True))
        right = exp.paren(self.value(item.right, as_input=True))
        if item.calculation.op == "difference":
            value: exp.Expr = exp.Sub(this=left, expression=right)
        else:
            value = exp.Div(this=_double(left), expression=_nullif_zero(right))
        return _percent(value) if calculation_in_percent(self._catalog, item) else value


def _percent(value: exp.Expr) -> exp.Expr:
    return exp.Mul(this=exp.Literal.number(100), expression=exp.paren(value))


def _null_safe_join(select: exp.Select, table: str, source: str, groups: Sequence[GroupColumn]) -> exp.Select:
    if not groups:
        return select.join(exp.table_(table), join_type="cross")
    on = exp.and_(
        *[
            exp.NullSafeEQ(this=exp.column(g.name, table=source), expression=exp.column(g.name, table=table))
            for g in groups
        ]
    )
    return select.join(exp.table_(table), on=on, join_type="left")


def _previous_window(query: MetricQuery, plan: Plan) -> _Window | None:
    if query.comparison not in ("period_over_period", "year_over_year"):
        return None
    dates = plan.time_range
    if not plan.time_groups:
        assert dates is not None, "plan_query checks a comparison without a time series has a range"
        return _Window(dates=previous_range(dates[0], dates[1], query.comparison))
    grain = plan.time_groups[0].grain
    assert grain is not None
    if query.comparison == "period_over_period":
        shift = _PERIOD_SHIFT[grain]
    else:
        shift = (364, "DAY") if grain == "week" else (12, "MONTH")  # 52 weeks keep week buckets on Mondays
    amount, unit = shift

    def back(day: date) -> date:
        return add_months(day, -amount) if unit == "MONTH" else day - timedelta(days=amount)

    return _Window(dates=(back(dates[0]), back(dates[1])) if dates else None, shift=shift)


def _order(query: MetricQuery, plan: Plan, column: Callable[[str], exp.Column]) -> list[exp.Ordered]:
    group_names = {g.dimension.name: g.name for g in plan.groups}
    keys: list[tuple[str, bool]] = [
        (group_names.get(k.target, k.target), k.direction == "desc") for k in query.order_by
    ]
    if not keys:
        first_time = [(g.name, False) for g in plan.time_groups[:1]]
        if not first_time and query.comparison == "share_within_group":
            first_time = [(plan.groups[0].name, False), (plan.value_names[0], True)]  # each group, largest first
        keys = first_time or [(plan.value_names[0], True)]
    names = [name for name, _ in keys]
    keys += [(g.name, False) for g in plan.groups if g.name not in names]  # tie-breakers: a stable order
    return [exp.Ordered(this=column(name), desc=desc, nulls_first=False) for name, desc in keys]


def _growth(current: exp.Expr, previous: exp.Expr, percent: bool) -> exp.Expr:
    """``(current - previous) / previous``, safe for integers and zeros, times 100 in percent."""
    change = exp.Div(
        this=exp.paren(exp.Sub(this=_double(current), expression=previous)),
        expression=_nullif_zero(previous.copy()),
    )
    return exp.Mul(this=exp.Literal.number(100), expression=change) if percent else change


def _final_columns(
    query: MetricQuery, catalog: Catalog, plan: Plan, result: str
) -> list[tuple[exp.Expr, OutputColumn]]:
    def col(name: str) -> exp.Column:
        return exp.column(name, table=result)

    columns: list[tuple[exp.Expr, OutputColumn]] = [(col(g.name), group_column(catalog, g)) for g in plan.groups]
    time_names = [g.name for g in plan.time_groups]
    if query.comparison == "share_within_group":
        partition_names = list(dict.fromkeys([plan.groups[0].name, *time_names]))
    else:
        partition_names = time_names if len(time_names) < len(plan.groups) else []
    show_value = query.comparison == "none" or query.comparison_output != "change_only"
    for shown in value_columns(catalog, plan):
        value = col(shown.name)
        if show_value:
            columns.append((value, shown))
        if query.comparison in GROWTH_COMPARISONS:
            previous = col(f"{shown.name}_previous")
            if query.comparison_output != "change_only":
                columns.append((previous, previous_column(shown, year_back=query.comparison == "year_over_year")))
            if query.comparison_output != "value_and_previous":
                growth = growth_column(catalog, shown)
                columns.append((_growth(value.copy(), previous.copy(), growth.kind == "change_pct"), growth))
        elif query.comparison in SHARE_COMPARISONS:
            partition = [col(n) for n in partition_names] or None
            total = exp.Window(this=exp.Sum(this=value.copy()), partition_by=partition)
            share = exp.Div(this=_double(value.copy()), expression=_nullif_zero(total))
            columns.append((share, share_column(shown)))
    return columns


def _conditions(query: MetricQuery, catalog: Catalog, plan: Plan, metric: Metric) -> list[exp.Expr]:
    """The query's filters as row conditions for one metric CTE (a ``metric_time`` filter uses its time column)."""
    return [
        filter_condition(
            catalog,
            dimension,
            item,
            f"filters[{index}]",
            target=_time_column(metric) if dimension.metric_time else None,
        )
        for index, (dimension, item) in enumerate(zip(plan.filter_dimensions, query.filters, strict=True))
    ]


def compile_metric_query(query: MetricQuery, catalog: Catalog) -> CompiledQuery:
    """Compile a structured metric query into SQL in the catalog's dialect.

    Args:
        query: The query (usually an instance of a :func:`tools.metric_query.metric_query_model` class).
        catalog: The catalog whose metric, dimension and join definitions the SQL is built from.

    Returns:
        The SQL, its sqlglot tree, the result's columns and the definitions and dates it used.

    Raises:
        MetricQueryError: If the query names something the catalog lacks, groups or filters a metric by a
            dimension it does not allow, omits a needed time grain, or asks for an impossible comparison;
            ``field`` names the query field and the message says what to use instead.
    """
    plan = plan_query(query, catalog)
    names = _Names([t.name for t in catalog.tables])
    ctes: list[tuple[str, exp.Select]] = []
    current: dict[str, str] = {}
    previous: dict[str, str] = {}
    previous_window = _previous_window(query, plan)
    for source in _sources(catalog, plan.simple_metrics):
        conditions = _conditions(query, catalog, plan, source.metrics[0])
        name = names.new(f"m_{source.metrics[0].name}")
        ctes.append((name, _aggregate(catalog, source, plan, conditions, _Window(dates=plan.time_range))))
        current.update(dict.fromkeys((m.name for m in source.metrics), name))
        if previous_window is not None:
            name = names.new(f"p_{source.metrics[0].name}")
            ctes.append((name, _aggregate(catalog, source, plan, conditions, previous_window)))
            previous.update(dict.fromkeys((m.name for m in source.metrics), name))

    current_ctes = list(dict.fromkeys(current.values()))
    spine = len(current_ctes) > 1 and bool(plan.groups)
    if spine:
        source_name = names.new("spine")
        parts = [exp.select(*[exp.column(g.name, table=c) for g in plan.groups]).from_(c) for c in current_ctes]
        ctes.append((source_name, exp.union(*parts, distinct=True)))  # type: ignore[arg-type]
        joined = current_ctes
    else:
        source_name = current_ctes[0]
        joined = current_ctes[1:]
    values = _Values(catalog, current, coalesce_simple=spine)
    prior = _Values(catalog, previous, coalesce_simple=False)
    selections: list[exp.Expr] = [exp.alias_(exp.column(g.name, table=source_name), g.name) for g in plan.groups]
    for metric in plan.metrics:
        selections.append(exp.alias_(values.shown(metric), metric.name))
        if previous_window is not None:
            selections.append(exp.alias_(prior.shown(metric), f"{metric.name}_previous"))
    for item in plan.calculations:
        selections.append(exp.alias_(values.calculation(item), item.name))
        if previous_window is not None:
            selections.append(exp.alias_(prior.calculation(item), f"{item.name}_previous"))
    result_select = exp.select(*selections).from_(exp.table_(source_name))
    for table in [*joined, *dict.fromkeys(previous.values())]:
        result_select = _null_safe_join(result_select, table, source_name, plan.groups)
    result = names.new("result")
    ctes.append((result, result_select))

    final_columns = _final_columns(query, catalog, plan, result)
    tree = exp.select(*[exp.alias_(e, c.name) for e, c in final_columns]).from_(exp.table_(result))
    for cte_name, body in ctes:
        tree = tree.with_(cte_name, as_=body)
    tree = tree.order_by(*_order(query, plan, lambda n: exp.column(n, table=result)))
    if query.limit is not None:
        tree = tree.limit(query.limit)
    dimensions = {g.dimension.name: g.dimension for g in plan.groups}
    dimensions.update({d.name: d for d in plan.filter_dimensions})
    used_metrics = {m.name: m for m in [*plan.computed_metrics, *plan.simple_metrics]}
    return CompiledQuery(
        sql=tree.sql(dialect=catalog.warehouse.dialect),
        dialect=catalog.warehouse.dialect,
        expression=tree,
        columns=tuple(c.name for _, c in final_columns),
        column_info=tuple(c for _, c in final_columns),
        metrics=tuple(used_metrics.values()),
        dimensions=tuple(dimensions.values()),
        time_range=plan.time_range,
        previous_time_range=previous_window.dates if previous_window is not None else None,
        query=query,
    )
