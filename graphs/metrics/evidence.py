"""Correcting what a small model filled with what the question says outright, in the catalog's own words.

The metrics graph's ``generate`` node asks a model (the catalog's adapter, or the base model) to fill a
:class:`~tools.metric_query.MetricQuery`; :func:`corrected` then settles every field the question states in so
many words: the period, written-out days and the catalog's occasions, named years, grains and breakdowns, the
dimension values it names (as filters), breakdowns it never asks for (dropped), a ranking, a share. The words
come from the catalog and the standard vocabulary (``knowledge/catalog/vocabulary.yaml``), never from code about
one business, and nothing is forced that the catalog does not allow. Each step is a small function of the query
and the question, tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from graphs.metrics.date_spans import mentioned_dates
from graphs.metrics.linking import (
    asks_share,
    breakdown_dimensions,
    mentioned_dimensions,
    mentioned_grain,
    mentioned_occasion,
    mentioned_period,
    mentioned_ranking,
    mentioned_values,
    named_years,
    open_breakdown_cue,
    share_with_value,
    shared_within,
)
from knowledge.catalog import Catalog
from knowledge.catalog.documents import dimension_values
from tools.metric_query import DateRange, Filter, MetricQuery, OrderBy, is_additive, resolve_time_range
from tools.metric_query.values import DimensionValues

__all__ = [
    "apply_evidence",
    "asked_breakdowns",
    "asked_filters",
    "corrected",
    "focus",
    "named_values",
    "ranked",
    "shared",
    "years_compared",
]


def corrected(
    query: MetricQuery,
    question: str,
    catalog: Catalog,
    values: DimensionValues | None,
    *,
    ranked_metrics: Sequence[str],
    named: int,
) -> MetricQuery:
    """The filled query tidied, then corrected step by step with what the question says.

    Args:
        query: What the model filled.
        question: The standalone question.
        catalog: The catalog.
        values: The warehouse's dimension values (``None``: named values are not linked).
        ranked_metrics: The metrics retrieval found, best first.
        named: How many metrics the question names outright.
    """
    query = focus(query, ranked=ranked_metrics, named=named)
    query = apply_evidence(query, question, catalog)
    query = asked_filters(query, question, catalog, values)
    if values is not None:
        query = named_values(query, question, catalog, values)
        query = asked_breakdowns(query, question, catalog, values)
    query = years_compared(query, question, catalog)
    query = shared(query, question, catalog)
    return ranked(query, question)


def focus(query: MetricQuery, *, ranked: Sequence[str], named: int) -> MetricQuery:
    """Tidy what a small model filled: drop repeated names and sort keys, keep one metric unless several were named.

    Metrics that are all inputs of the query's calculations are dropped: the narrowed schema requires a metric,
    so a model asked for a ratio of two metrics names one of them there too.
    A 135M model tends to tick every metric it is offered. When the question names at most one metric, the
    model's choices are narrowed to the one retrieval ranked highest; sort keys on dropped metrics go too.
    """
    metrics = tuple(dict.fromkeys(query.metrics))
    inputs = {name for c in query.calculations for name in (c.left, c.right)}
    if inputs and set(metrics) <= inputs:
        # The schema makes the model name a metric; one that only feeds the calculation is not asked for.
        return query.model_copy(update={"metrics": (), "order_by": ()})
    if named < 2 and len(metrics) > 1:
        order = {name: i for i, name in enumerate(ranked)}
        metrics = (min(metrics, key=lambda name: order.get(name, len(order))),)
    dimensions = tuple(dict.fromkeys(query.dimensions))
    keep = {*metrics, *dimensions}
    order_by = tuple({o.target: o for o in reversed(query.order_by) if o.target in keep}.values())[::-1]
    return query.model_copy(update={"metrics": metrics, "dimensions": dimensions, "order_by": order_by})


def apply_evidence(query: MetricQuery, question: str, catalog: Catalog) -> MetricQuery:
    """Correct the filled query with what the question says outright, in the catalog's own words.

    A period the catalog defines, named in words (上个月, last quarter, H1), or days named outright ("June 1-18,
    2025", 12月前7天; :func:`~graphs.metrics.date_spans.mentioned_dates`) set the time range; a breakdown
    named in words (各地区, by channel) adds that dimension when every chosen metric allows it; a grain named in
    words (按月, monthly) sets the grain and groups by a time dimension every chosen metric allows at that grain.
    The vocabulary is the catalog's (its periods, grain phrases and breakdown cues), and nothing is forced that
    the catalog does not allow: a grain no allowed time dimension offers leaves the query as the model filled it.
    """
    updates: dict[str, Any] = {}
    period = mentioned_period(question, catalog)
    span = _named_span(question, query, catalog) if period is None else None
    occasion = _named_occasion(question, catalog) if period is None and span is None else None
    if period is not None:
        updates["time_range"] = period
    elif span is not None:
        updates["time_range"] = span
    elif occasion is not None:
        updates["time_range"] = occasion
    else:
        year = _named_year(question, query, catalog)
        if year is not None:
            updates["time_range"] = year
    allowed = _allowed(query, catalog)
    dimensions = list(query.dimensions)
    for name in breakdown_dimensions(question, catalog):
        if name in allowed and name not in dimensions:
            dimensions.append(name)
    grain = mentioned_grain(question, catalog)
    if grain is not None:
        time_dimensions = [
            d.name
            for name in allowed
            if (d := catalog.dimension(name)) is not None and d.type == "time" and not d.filter_only
        ]
        chosen = [d for d in dimensions if d in time_dimensions]
        offering = [d for d in time_dimensions if grain in _grains(catalog, d)]
        if chosen and grain in _grains(catalog, chosen[0]):
            updates["time_grain"] = grain
        elif not chosen and offering:
            metric_time = [d for d in offering if (dim := catalog.dimension(d)) is not None and dim.metric_time]
            dimensions.insert(0, (metric_time or offering)[0])
            updates["time_grain"] = grain
    updates["dimensions"] = tuple(dimensions[:3])
    return query.model_copy(update=updates)


def _named_span(question: str, query: MetricQuery, catalog: Catalog) -> DateRange | None:
    """The days a question names outright ("June 1-18, 2025", 12月前7天, December 2025), if any.

    A whole month named ("the first week of December 2025") keeps dates the model filled inside it: the words
    around the month may narrow it in ways no rule reads. Named days are exact.
    """
    span = mentioned_dates(question, catalog.reference_date)
    if span is None:
        return None
    start, end = span
    after = end + timedelta(days=1)
    if start.day == 1 and after.day == 1 and start.month == end.month:
        filled = _filled_dates(query, catalog)
        if filled is not None and start <= filled[0] and filled[1] <= after:
            return None
    return DateRange(start=start, end=end)


def _named_occasion(question: str, catalog: Catalog) -> DateRange | None:
    """The days of a catalog occasion the question names (2024年双十一), in the year it names.

    No year named: the reference date's year, or the year before when the occasion would still be ahead.
    Several years named (a comparison) are left to the model.
    """
    occasion = mentioned_occasion(question, catalog)
    years = named_years(question)
    if occasion is None or len(years) > 1:
        return None
    reference = catalog.reference_date
    start, end = occasion.days(min(years) if years else reference.year)
    if not years and start > reference:
        start, end = occasion.days(reference.year - 1)
    return DateRange(start=start, end=end)


def _filled_dates(query: MetricQuery, catalog: Catalog) -> tuple[date, date] | None:
    """The [start, end) dates of the model's time range, or ``None`` when it has none or it does not resolve."""
    conventions = catalog.conventions
    try:
        return resolve_time_range(
            query.time_range,
            catalog.reference_date,
            periods={p.name: p for p in catalog.periods()},
            week_start=conventions.week_start,
            fiscal_year_start_month=conventions.fiscal_year_start_month,
        )
    except ValueError:
        return None


def _named_year(question: str, query: MetricQuery, catalog: Catalog) -> DateRange | None:
    """The whole year a question names ("in 2025", 2025年), when the filled dates do not lie inside it.

    Only a question naming exactly one year counts; dates the model filled inside that year (the first week of
    December 2025) are kept, so this corrects "all time" and wrong years, never a narrower range.
    """
    years = named_years(question)
    if len(years) != 1:
        return None
    year = years.pop()
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    filled = _filled_dates(query, catalog)
    if filled is not None and start <= filled[0] and filled[1] <= end:
        return None
    return DateRange(start=start, end=end - timedelta(days=1))


def asked_filters(
    query: MetricQuery, question: str, catalog: Catalog, values: DimensionValues | None = None
) -> MetricQuery:
    """Drop filters on categorical values the question never names, and move a period written as a filter.

    A small model copies filters from its examples (华东 in "monthly GMV over the last 12 months") or invents a
    value ("新墨" as a city). A filter on a categorical dimension stays when one of its values, or any value the
    catalog enumerates or the warehouse holds for that dimension (with their names in both languages), appears in
    the question; filters on dates, numbers and dimensions with no known values are the model's to judge.
    """
    text = question.casefold()

    def named(value: object) -> bool:
        word = str(value).replace("_", " ").strip().casefold()
        return bool(word) and word in text

    kept = []
    period: str | None = None
    for item in query.filters:
        dimension = catalog.dimension(item.dimension)
        if dimension is not None and dimension.type == "time":
            named_period = [str(v) for v in item.values if catalog.period(str(v)) is not None]
            if named_period:
                # A period name written as a date filter (order_date eq this_year) is the query's time range.
                period = period or named_period[0]
                continue
        if dimension is None or dimension.type != "categorical":
            kept.append(item)
            continue
        known = [*dimension_values(catalog, dimension), *_held_names(values, dimension.name)]
        if not known or any(named(v) for v in item.values) or any(named(v) for v in known):
            kept.append(item)
    if len(kept) == len(query.filters):
        return query
    update: dict[str, Any] = {"filters": tuple(kept)}
    if period is not None and query.time_range == "all_time":
        update["time_range"] = period
    return query.model_copy(update=update)


def _held_names(values: DimensionValues | None, dimension: str) -> list[str]:
    """Every name of every value the warehouse holds for a dimension (code, English, Chinese, catalog aliases)."""
    if values is None:
        return []
    return [name for item in values.values.get(dimension, ()) for name in item.names]


def _allowed(query: MetricQuery, catalog: Catalog) -> list[str]:
    """The dimensions every metric of the query (shown or a calculation's input) allows, in the first's order."""
    metrics = [*query.metrics, *(name for c in query.calculations for name in (c.left, c.right))]
    allowed_sets = [catalog.allowed_dimensions(m) for m in dict.fromkeys(metrics) if catalog.metric(m) is not None]
    return [d for d in allowed_sets[0] if all(d in other for other in allowed_sets[1:])] if allowed_sets else []


def named_values(query: MetricQuery, question: str, catalog: Catalog, values: DimensionValues) -> MetricQuery:
    """Filter on the dimension values the question names (直播, East China), as the warehouse holds them.

    A 135M model often leaves out a filter the question states, or invents its value ("新墨" for a city). A value
    the question names (:func:`~graphs.metrics.linking.mentioned_values`) becomes an ``eq`` filter on its
    dimension, replacing the model's filter there, when every metric of the query allows that dimension and the
    value is not one the chosen metrics' own definitions speak of: "orders placed, cancelled ones included"
    describes the metric, it does not ask for cancelled orders. One value of a dimension the query groups by is
    left alone. Two or more values of one dimension ("全职和外包", "fresh-food against electronics shippers") are
    compared: the query groups by the dimension and keeps only those values (all of them: no filter at all).
    """
    allowed = _allowed(query, catalog)
    definitions = " ".join(_definition_text(catalog, name) for name in _query_metrics(query)).casefold()
    filters = {f.dimension: f for f in query.filters}
    dimensions = list(query.dimensions)
    for dimension, held in mentioned_values(question, catalog, values, among=allowed).items():
        named = [v for v in held if not _spoken_of(v, definitions)]
        if not named or (len(named) == 1 and dimension in dimensions):
            continue
        if len(named) == 1:
            filters[dimension] = Filter(dimension=dimension, op="eq", values=(named[0],))
            continue
        if dimension not in dimensions and len(dimensions) < 3:
            dimensions.append(dimension)
        every = {v.value for v in values.values.get(dimension, ())}
        if values.complete.get(dimension) and set(named) == every:
            filters.pop(dimension, None)
        else:
            filters[dimension] = Filter(dimension=dimension, op="in", values=tuple(named))
    if list(filters.values()) == list(query.filters) and dimensions == list(query.dimensions):
        return query
    return query.model_copy(update={"filters": tuple(filters.values())[:5], "dimensions": tuple(dimensions)})


def asked_breakdowns(query: MetricQuery, question: str, catalog: Catalog, values: DimensionValues) -> MetricQuery:
    """Drop a breakdown the question never asks for: 今年一线城市的成交额 is one number, not one per city.

    A small model adds a dimension it was not asked for, often one near a word the question does use (城市 in
    一线城市, which names a city tier). A non-time dimension the query groups by goes when the question names
    neither it (its terms, a value it holds) nor a ranking, and has no breakdown cue before words the catalog does
    not know ("by reason", 各类客户, 分别; :func:`~graphs.metrics.linking.open_breakdown_cue`): those may ask for a
    breakdown in words of their own. Sort keys on a dropped dimension go with it.
    """
    named = {
        *mentioned_dimensions(question, catalog),
        *breakdown_dimensions(question, catalog),
        *mentioned_values(question, catalog, values),
    }
    unasked = {
        name
        for name in query.dimensions
        if name not in named and (d := catalog.dimension(name)) is not None and d.type != "time"
    }
    if not unasked or mentioned_ranking(question) is not None or open_breakdown_cue(question, catalog):
        return query
    data = query.model_dump(mode="json")
    data["dimensions"] = [d for d in query.dimensions if d not in unasked]
    data["order_by"] = [o for o in data["order_by"] if o["target"] not in unasked]
    try:
        return type(query).model_validate(data)
    except ValidationError:
        return query  # what is left is no query of its own (a share within groups needs its groups)


def _query_metrics(query: MetricQuery) -> list[str]:
    return list(dict.fromkeys([*query.metrics, *(name for c in query.calculations for name in (c.left, c.right))]))


def _definition_text(catalog: Catalog, name: str) -> str:
    """A metric's own words: label, synonyms, description and SQL (where a value it counts would be written)."""
    metric = catalog.metric(name)
    if metric is None:
        return ""
    return " ".join([metric.label.en, metric.label.zh, *metric.synonyms.all(), metric.description, metric.sql or ""])


def _spoken_of(value: object, text: str) -> bool:
    """Whether a value's code, as a word, appears in a metric's definition text."""
    word = str(value).replace("_", " ").casefold()
    return bool(re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text.replace("_", " ")))


def years_compared(query: MetricQuery, question: str, catalog: Catalog) -> MetricQuery:
    """Two or more years named ("GMV in 2024 against 2025", 2024年和2025年) ask for the metric by year over them.

    Only when no finer grain is asked ("monthly ... compared with the same month of 2024" is a year-over-year
    series the model fills) and no days are named; the metric-time dimension (or another time dimension every
    metric allows at year grain) is grouped by year, replacing a period comparison the model may have chosen.
    """
    years = named_years(question)
    if len(years) < 2 or mentioned_grain(question, catalog) not in (None, "year"):
        return query
    if mentioned_dates(question, catalog.reference_date) is not None:
        return query
    time_dimensions = [
        d.name
        for name in _allowed(query, catalog)
        if (d := catalog.dimension(name)) is not None and d.type == "time" and not d.filter_only
        and "year" in d.time_grains
    ]  # fmt: skip
    if not time_dimensions:
        return query
    chosen = [d for d in query.dimensions if d in time_dimensions]
    dimensions = list(query.dimensions)
    if not chosen:
        metric_time = [d for d in time_dimensions if (dim := catalog.dimension(d)) is not None and dim.metric_time]
        dimensions.insert(0, (metric_time or time_dimensions)[0])
    span = DateRange(start=date(min(years), 1, 1), end=date(max(years), 12, 31))
    return query.model_copy(
        update={
            "dimensions": tuple(dimensions[:3]),
            "time_grain": "year",
            "time_range": span,
            "comparison": "none" if query.comparison in ("period_over_period", "year_over_year") else query.comparison,
        }
    )


def shared(query: MetricQuery, question: str, catalog: Catalog) -> MetricQuery:
    """Each row's share of the total, when the question asks for it (占比, "what share of") of a grouped sum.

    A share needs a breakdown and metrics that add up (a rate has no share of a total), and no calculation. Two
    breakdowns and "within" (各大区内部) ask for the share within each group of the first. The share is shown
    alone unless the question asks for the value beside it ("with each one's share", 及其占比).
    """
    if not asks_share(question) or not query.dimensions or query.calculations or not query.metrics:
        return query
    if query.comparison in ("period_over_period", "year_over_year"):
        return query
    metrics = [catalog.metric(name) for name in query.metrics]
    if any(m is None or not is_additive(catalog, m) for m in metrics):
        return query
    within = len(query.dimensions) >= 2 and shared_within(question)
    return query.model_copy(
        update={
            "comparison": "share_within_group" if within else "share_of_total",
            "comparison_output": "all" if share_with_value(question) else "change_only",
        }
    )


def ranked(query: MetricQuery, question: str) -> MetricQuery:
    """Sort and cut the rows as the question's ranking words ask ("top 5", the most, 最少的三个).

    Only a query that groups rows can be ranked, and not by growth: a period comparison is left as filled. The
    rows are sorted by the first metric (or calculation) in the question's direction; the limit is the count
    the question names, one for "which ... the most", none when it asks for every row in order.
    """
    ranking = mentioned_ranking(question)
    if ranking is None or not query.dimensions or query.comparison in ("period_over_period", "year_over_year"):
        return query
    target = query.metrics[0] if query.metrics else query.calculations[0].name
    order = (OrderBy(target=target, direction=ranking.direction),)
    return query.model_copy(update={"order_by": order, "limit": ranking.limit})


def _grains(catalog: Catalog, name: str) -> tuple[str, ...]:
    dimension = catalog.dimension(name)
    return tuple(dimension.time_grains) if dimension is not None else ()
