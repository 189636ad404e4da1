"""Check a :class:`MetricQuery` against a catalog and turn it into a plan the compiler can build from.

Every problem is a :class:`kubeai.errors.MetricQueryError` with ``field`` set and a one-sentence message that
names the offending value and what to use instead: it goes back to the model that filled the query.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import sqlglot
from sqlglot import exp

from knowledge.catalog.joins import join_path, reachable_tables
from knowledge.catalog.models import Catalog, Dimension, Metric
from kubeai.errors import MetricQueryError
from tools.metric_query.query import Calculation, MetricQuery
from tools.metric_query.time_range import resolve_time_range

__all__ = [
    "GROWTH_COMPARISONS",
    "SHARE_COMPARISONS",
    "GroupColumn",
    "Plan",
    "PlannedCalculation",
    "calculation_is_additive",
    "close_matches",
    "growth_name",
    "is_additive",
    "plan_query",
    "resolve_catalog_range",
]

GROWTH_COMPARISONS = ("period_over_period", "year_over_year")
SHARE_COMPARISONS = ("share_of_total", "share_within_group")

_SINGLE_VALUE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")


@dataclass(frozen=True, kw_only=True)
class GroupColumn:
    """A dimension the result is grouped by.

    Attributes:
        dimension: The catalog dimension.
        grain: The time grain for a time dimension, else ``None``.
        name: The output column name: the dimension name, or ``<dimension>_<grain>`` for a time dimension.
    """

    dimension: Dimension
    grain: str | None
    name: str


@dataclass(frozen=True, kw_only=True)
class PlannedCalculation:
    """An ad-hoc calculation with its two metrics looked up.

    Attributes:
        calculation: The calculation as the query states it.
        left: The left metric (numerator, or minuend).
        right: The right metric (denominator, or subtrahend).
        name: The output column name.
    """

    calculation: Calculation
    left: Metric
    right: Metric
    name: str


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A query checked against the catalog.

    Attributes:
        metrics: The requested (shown) metrics, in query order.
        calculations: The ad-hoc calculations, in query order.
        computed_metrics: Every metric whose value the result needs: the shown ones, then calculation inputs.
        simple_metrics: Every simple metric to aggregate (those computed and the inputs of derived ones).
        groups: The dimensions grouped by, in query order.
        filter_dimensions: The dimension of each filter, in query order.
        time_range: The resolved ``[start, end_exclusive)``, or ``None`` for all time.
    """

    metrics: tuple[Metric, ...]
    calculations: tuple[PlannedCalculation, ...]
    computed_metrics: tuple[Metric, ...]
    simple_metrics: tuple[Metric, ...]
    groups: tuple[GroupColumn, ...]
    filter_dimensions: tuple[Dimension, ...]
    time_range: tuple[date, date] | None

    @property
    def value_names(self) -> tuple[str, ...]:
        """The value columns asked for: the shown metrics, then the calculations."""
        return (*(m.name for m in self.metrics), *(c.name for c in self.calculations))

    @property
    def time_groups(self) -> tuple[GroupColumn, ...]:
        """The groups on time dimensions."""
        return tuple(g for g in self.groups if g.grain is not None)


def close_matches(word: str, candidates: Iterable[str]) -> list[str]:
    """Up to three candidates that look like ``word`` (case-insensitive)."""
    pool = list(dict.fromkeys(candidates))
    lowered = {c.lower(): c for c in pool}
    return [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=3, cutoff=0.5)]


def _suggest(word: str, candidates: Sequence[str], what: str) -> str:
    matches = close_matches(word, candidates)
    if matches:
        return f"did you mean {' or '.join(f'`{m}`' for m in matches)}?"
    shown = ", ".join(candidates[:20]) + (", ..." if len(candidates) > 20 else "")
    return f"use one of the catalog's {what}: {shown}."


def is_additive(catalog: Catalog, metric: Metric) -> bool:
    """Whether a metric's values add up across groups: a SUM or COUNT, or + and - of such metrics."""
    dialect = catalog.warehouse.dialect
    if metric.formula is None:
        assert metric.sql is not None
        tree = sqlglot.parse_one(metric.sql, read=dialect)
        return isinstance(tree, exp.Sum | exp.Count)
    tree = sqlglot.parse_one(metric.formula, read=dialect)
    if any(isinstance(node, exp.Mul | exp.Div) for node in tree.walk()):
        return False
    inputs = (catalog.metric(name) for name in catalog.metric_inputs(metric.name))
    return all(part is not None and is_additive(catalog, part) for part in inputs)


def _check_unique(names: Sequence[str], field: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise MetricQueryError(f"`{name}` appears twice in {field}; list each name once.", field=field)
        seen.add(name)


def _metric(catalog: Catalog, name: str, field: str) -> Metric:
    metric = catalog.metric(name)
    if metric is None:
        known = [m.name for m in catalog.metrics]
        raise MetricQueryError(f"Unknown metric `{name}`: {_suggest(name, known, 'metrics')}", field=field)
    return metric


def _metrics(query: MetricQuery, catalog: Catalog) -> tuple[Metric, ...]:
    _check_unique(query.metrics, "metrics")
    return tuple(_metric(catalog, name, f"metrics[{index}]") for index, name in enumerate(query.metrics))


def _calculations(query: MetricQuery, catalog: Catalog) -> tuple[PlannedCalculation, ...]:
    found: list[PlannedCalculation] = []
    for index, item in enumerate(query.calculations):
        field = f"calculations[{index}]"
        found.append(
            PlannedCalculation(
                calculation=item,
                left=_metric(catalog, item.left, f"{field}.left"),
                right=_metric(catalog, item.right, f"{field}.right"),
                name=item.name,
            )
        )
    _check_unique([c.name for c in found], "calculations")
    return tuple(found)


def _simple_inputs(catalog: Catalog, metrics: Sequence[Metric]) -> tuple[Metric, ...]:
    ordered: dict[str, Metric] = {}

    def visit(metric: Metric) -> None:
        if metric.formula is None:
            ordered.setdefault(metric.name, metric)
            return
        for name in catalog.metric_inputs(metric.name):
            part = catalog.metric(name)
            assert part is not None, "the catalog loader checks formula inputs"
            visit(part)

    for metric in metrics:
        visit(metric)
    return tuple(ordered.values())


def _dimension(catalog: Catalog, name: str, field: str) -> Dimension:
    dimension = catalog.dimension(name)
    if dimension is None:
        known = [d.name for d in catalog.all_dimensions]
        raise MetricQueryError(f"Unknown dimension `{name}`: {_suggest(name, known, 'dimensions')}", field=field)
    return dimension


def _check_allowed(
    catalog: Catalog,
    metrics: Sequence[Metric],
    simple: Sequence[Metric],
    dimension: Dimension,
    *,
    field: str,
    verb: str,
) -> None:
    for metric in metrics:
        allowed = catalog.allowed_dimensions(metric.name)
        if dimension.name in allowed:
            continue
        reason = "the catalog does not list it among the metric's dimensions"
        if dimension.metric_time:
            reason = "it stands for a metric's own time column, and this metric has none"
        for part in _simple_inputs(catalog, [metric]):
            assert part.table is not None
            if dimension.metric_time:
                break
            if dimension.table not in reachable_tables(catalog, part.table):
                reason = (
                    f"table `{dimension.table}` can only be reached from `{part.table}` through joins that would "
                    "count rows several times"
                )
                break
        options = ", ".join(allowed) if allowed else "none"
        raise MetricQueryError(
            f"Metric `{metric.name}` cannot be {verb} by `{dimension.name}`: {reason}; its dimensions are: {options}.",
            field=field,
        )
    for part in simple:
        assert part.table is not None
        if dimension.metric_time:
            if part.time_column is None:
                raise MetricQueryError(
                    f"Metric `{part.name}` has no time column, so it cannot be {verb} by `{dimension.name}`.",
                    field=field,
                )
            continue
        if join_path(catalog, part.table, dimension.source_table) is None:
            raise MetricQueryError(
                f"Metric `{part.name}` cannot be {verb} by `{dimension.name}`: table `{dimension.table}` can only "
                f"be reached from `{part.table}` through joins that would count rows several times.",
                field=field,
            )


def _groups(
    query: MetricQuery, catalog: Catalog, metrics: Sequence[Metric], simple: Sequence[Metric]
) -> list[GroupColumn]:
    _check_unique(query.dimensions, "dimensions")
    groups: list[GroupColumn] = []
    for index, name in enumerate(query.dimensions):
        field = f"dimensions[{index}]"
        dimension = _dimension(catalog, name, field)
        if dimension.filter_only:
            raise MetricQueryError(
                f"`{name}` is an attribute: results can be filtered by it but not grouped by it; move it to filters "
                "or group by a dimension.",
                field=field,
            )
        _check_allowed(catalog, metrics, simple, dimension, field=field, verb="grouped")
        if dimension.type != "time":
            groups.append(GroupColumn(dimension=dimension, grain=None, name=dimension.name))
            continue
        grain = query.time_grain
        grains = ", ".join(dimension.time_grains)
        if grain is None:
            raise MetricQueryError(
                f"Grouping by time dimension `{name}` needs a time_grain; set it to one of: {grains}.",
                field="time_grain",
            )
        if grain not in dimension.time_grains:
            raise MetricQueryError(
                f"Time dimension `{name}` cannot be grouped by {grain}; set time_grain to one of: {grains}.",
                field="time_grain",
            )
        groups.append(GroupColumn(dimension=dimension, grain=grain, name=f"{dimension.name}_{grain}"))
    if query.time_grain is not None and not any(g.grain for g in groups):
        raise MetricQueryError(
            f"time_grain is {query.time_grain} but no time dimension is in dimensions; add one (e.g. a date "
            "dimension) to get a time series, or set time_grain to null.",
            field="time_grain",
        )
    return groups


def _filters(
    query: MetricQuery, catalog: Catalog, metrics: Sequence[Metric], simple: Sequence[Metric]
) -> list[Dimension]:
    found: list[Dimension] = []
    for index, item in enumerate(query.filters):
        field = f"filters[{index}]"
        dimension = _dimension(catalog, item.dimension, f"{field}.dimension")
        _check_allowed(catalog, metrics, simple, dimension, field=f"{field}.dimension", verb="filtered")
        if item.op in _SINGLE_VALUE_OPS and len(item.values) != 1:
            hint = "; use op in for several values" if item.op == "eq" else ""
            hint = "; use op not_in for several values" if item.op == "ne" else hint
            raise MetricQueryError(
                f"Filter on `{item.dimension}` with op {item.op} takes exactly one value, got {len(item.values)}"
                f"{hint}.",
                field=f"{field}.values",
            )
        found.append(dimension)
    return found


def _check_comparison(query: MetricQuery, catalog: Catalog, plan: Plan) -> None:
    if query.comparison in SHARE_COMPARISONS:
        if query.comparison == "share_of_total" and not plan.groups:
            raise MetricQueryError(
                "share_of_total needs at least one dimension to split the total by; add a dimension or set "
                "comparison to none.",
                field="comparison",
            )
        if query.comparison == "share_within_group" and len(plan.groups) < 2:
            raise MetricQueryError(
                "share_within_group needs two dimensions: the groups first, then what is shared within each "
                "(e.g. region, channel); add one or use share_of_total.",
                field="comparison",
            )
        if query.comparison_output == "value_and_previous":
            raise MetricQueryError(
                f"comparison_output value_and_previous needs period_over_period or year_over_year, not "
                f"{query.comparison}; use all or change_only.",
                field="comparison_output",
            )
        for metric in plan.metrics:
            if not is_additive(catalog, metric):
                raise MetricQueryError(
                    f"Metric `{metric.name}` is a ratio or average, so it has no share of a total; set comparison "
                    "to none or ask for an amount or count metric.",
                    field="comparison",
                )
        for item in plan.calculations:
            if not calculation_is_additive(catalog, item):
                raise MetricQueryError(
                    f"Calculation `{item.name}` is a ratio (or uses one), so it has no share of a total; set "
                    "comparison to none.",
                    field="comparison",
                )
    elif query.comparison in GROWTH_COMPARISONS:
        if len(plan.time_groups) > 1:
            raise MetricQueryError(
                f"{query.comparison} works with at most one time dimension in dimensions; keep one.",
                field="comparison",
            )
        if not plan.time_groups and plan.time_range is None:
            raise MetricQueryError(
                f"{query.comparison} needs a time_range other than all_time (or a time dimension to group by), "
                "so there is a previous period to compare with.",
                field="time_range",
            )


def calculation_is_additive(catalog: Catalog, item: PlannedCalculation) -> bool:
    """Whether a calculation's values add up across groups: a difference of additive metrics."""
    return item.calculation.op == "difference" and is_additive(catalog, item.left) and is_additive(catalog, item.right)


def growth_name(catalog: Catalog, name: str) -> str:
    """The growth column of a value: ``<name>_growth`` (a fraction) or ``<name>_change_pct`` (in percent)."""
    return f"{name}_change_pct" if catalog.conventions.growth_format == "percent" else f"{name}_growth"


def _check_time_columns(query: MetricQuery, plan: Plan) -> None:
    needs_time = plan.time_range is not None or query.comparison in GROWTH_COMPARISONS
    if not needs_time:
        return
    for metric in plan.simple_metrics:
        if metric.time_column is None:
            raise MetricQueryError(
                f"Metric `{metric.name}` has no time column, so it cannot be limited to dates or compared with an "
                "earlier period; set time_range to all_time and comparison to none.",
                field="time_range",
            )


def _check_output_names(query: MetricQuery, catalog: Catalog, plan: Plan) -> None:
    names = [g.name for g in plan.groups]
    for name in plan.value_names:
        names.append(name)
        if query.comparison in GROWTH_COMPARISONS:
            names += [f"{name}_previous", growth_name(catalog, name)]
        elif query.comparison in SHARE_COMPARISONS:
            names.append(f"{name}_share")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise MetricQueryError(
                f"Two output columns would both be called `{name}`; drop the dimension, metric or calculation that "
                "repeats it.",
                field="dimensions",
            )
        seen.add(name)


def _check_order_by(query: MetricQuery, plan: Plan) -> None:
    targets = [*plan.value_names, *(g.dimension.name for g in plan.groups)]
    for index, key in enumerate(query.order_by):
        if key.target not in targets:
            raise MetricQueryError(
                f"order_by target `{key.target}` is not one of this query's metrics, calculations or dimensions; "
                f"use one of: {', '.join(targets)}.",
                field=f"order_by[{index}].target",
            )


def resolve_catalog_range(catalog: Catalog, time_range: object) -> tuple[date, date] | None:
    """A query's time range as dates, with the catalog's periods, reference date, week start and fiscal year.

    Raises:
        MetricQueryError: If the range names a period the catalog does not have.
    """
    periods = {p.name: p for p in catalog.periods()}
    if isinstance(time_range, str) and time_range != "all_time" and time_range not in periods:
        known = [*periods, "all_time"]
        raise MetricQueryError(
            f"Unknown period `{time_range}`: {_suggest(time_range, known, 'periods')}", field="time_range"
        )
    conventions = catalog.conventions
    return resolve_time_range(
        time_range,  # type: ignore[arg-type]
        catalog.reference_date,
        periods=periods,
        week_start=conventions.week_start,
        fiscal_year_start_month=conventions.fiscal_year_start_month,
    )


def plan_query(query: MetricQuery, catalog: Catalog) -> Plan:
    """Check ``query`` against ``catalog``.

    Args:
        query: The structured query.
        catalog: The catalog it names metrics and dimensions of.

    Returns:
        The checked plan.

    Raises:
        MetricQueryError: For the first problem found.
    """
    metrics = _metrics(query, catalog)
    calculations = _calculations(query, catalog)
    computed = tuple(
        {m.name: m for m in [*metrics, *(part for c in calculations for part in (c.left, c.right))]}.values()
    )
    simple = _simple_inputs(catalog, computed)
    groups = _groups(query, catalog, computed, simple)
    filter_dimensions = _filters(query, catalog, computed, simple)
    plan = Plan(
        metrics=metrics,
        calculations=calculations,
        computed_metrics=computed,
        simple_metrics=simple,
        groups=tuple(groups),
        filter_dimensions=tuple(filter_dimensions),
        time_range=resolve_catalog_range(catalog, query.time_range),
    )
    _check_comparison(query, catalog, plan)
    _check_time_columns(query, plan)
    _check_output_names(query, catalog, plan)
    _check_order_by(query, plan)
    return plan
