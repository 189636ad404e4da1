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
from tools.metric_query.query import MetricQuery
from tools.metric_query.time_range import resolve_time_range

__all__ = ["GroupColumn", "Plan", "close_matches", "is_additive", "plan_query"]

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
class Plan:
    """A query checked against the catalog.

    Attributes:
        metrics: The requested metrics, in query order.
        simple_metrics: Every simple metric to aggregate (requested ones and the inputs of derived ones).
        groups: The dimensions grouped by, in query order.
        filter_dimensions: The dimension of each filter, in query order.
        time_range: The resolved ``[start, end_exclusive)``, or ``None`` for all time.
    """

    metrics: tuple[Metric, ...]
    simple_metrics: tuple[Metric, ...]
    groups: tuple[GroupColumn, ...]
    filter_dimensions: tuple[Dimension, ...]
    time_range: tuple[date, date] | None

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


def _metrics(query: MetricQuery, catalog: Catalog) -> tuple[Metric, ...]:
    _check_unique(query.metrics, "metrics")
    known = [m.name for m in catalog.metrics]
    found: list[Metric] = []
    for index, name in enumerate(query.metrics):
        metric = catalog.metric(name)
        if metric is None:
            raise MetricQueryError(
                f"Unknown metric `{name}`: {_suggest(name, known, 'metrics')}", field=f"metrics[{index}]"
            )
        found.append(metric)
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
        known = [d.name for d in catalog.dimensions]
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
        for part in _simple_inputs(catalog, [metric]):
            assert part.table is not None
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
        if join_path(catalog, part.table, dimension.table) is None:
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
    if query.comparison == "share_of_total":
        if not plan.groups:
            raise MetricQueryError(
                "share_of_total needs at least one dimension to split the total by; add a dimension or set "
                "comparison to none.",
                field="comparison",
            )
        for metric in plan.metrics:
            if not is_additive(catalog, metric):
                raise MetricQueryError(
                    f"Metric `{metric.name}` is a ratio or average, so it has no share of a total; set comparison "
                    "to none or ask for an amount or count metric.",
                    field="comparison",
                )
    elif query.comparison in ("period_over_period", "year_over_year"):
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


def _check_time_columns(query: MetricQuery, plan: Plan) -> None:
    needs_time = plan.time_range is not None or query.comparison in ("period_over_period", "year_over_year")
    if not needs_time:
        return
    for metric in plan.simple_metrics:
        if metric.time_column is None:
            raise MetricQueryError(
                f"Metric `{metric.name}` has no time column, so it cannot be limited to dates or compared with an "
                "earlier period; set time_range to all_time and comparison to none.",
                field="time_range",
            )


def _check_output_names(query: MetricQuery, plan: Plan) -> None:
    names = [g.name for g in plan.groups]
    for metric in plan.metrics:
        names.append(metric.name)
        if query.comparison in ("period_over_period", "year_over_year"):
            names += [f"{metric.name}_previous", f"{metric.name}_change_pct"]
        elif query.comparison == "share_of_total":
            names.append(f"{metric.name}_share")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise MetricQueryError(
                f"Two output columns would both be called `{name}`; drop the dimension or metric that repeats it.",
                field="dimensions",
            )
        seen.add(name)


def _check_order_by(query: MetricQuery, plan: Plan) -> None:
    targets = [m.name for m in plan.metrics] + [g.dimension.name for g in plan.groups]
    for index, key in enumerate(query.order_by):
        if key.target not in targets:
            raise MetricQueryError(
                f"order_by target `{key.target}` is not one of this query's metrics or dimensions; use one of: "
                f"{', '.join(targets)}.",
                field=f"order_by[{index}].target",
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
    simple = _simple_inputs(catalog, metrics)
    groups = _groups(query, catalog, metrics, simple)
    filter_dimensions = _filters(query, catalog, metrics, simple)
    plan = Plan(
        metrics=metrics,
        simple_metrics=simple,
        groups=tuple(groups),
        filter_dimensions=tuple(filter_dimensions),
        time_range=resolve_time_range(query.time_range, catalog.warehouse.reference_date),
    )
    _check_comparison(query, catalog, plan)
    _check_time_columns(query, plan)
    _check_output_names(query, plan)
    _check_order_by(query, plan)
    return plan
