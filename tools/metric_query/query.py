"""The structured metric query a model fills, and the factory that narrows its names to one question's.

The schema is deliberately flat and small: a 135M-parameter model fills it through vLLM's structured outputs.
Every field carries a description because descriptions go into the JSON schema the model sees.
:func:`metric_query_model` returns a subclass whose metric and dimension fields are enums of exactly the names
retrieved for the question, so constrained decoding cannot produce any other name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model, model_validator

from kubeai.errors import MetricQueryError

__all__ = [
    "CALCULATION_OPS",
    "COMPARISONS",
    "COMPARISON_OUTPUTS",
    "FILTER_OPS",
    "RELATIVE_PERIODS",
    "Calculation",
    "CalculationOp",
    "Comparison",
    "ComparisonOutput",
    "DateRange",
    "Filter",
    "FilterOp",
    "FilterValue",
    "MetricQuery",
    "OrderBy",
    "RelativePeriod",
    "TimeRange",
    "metric_query_model",
]

RelativePeriod = Literal[
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_year",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "last_12_months",
    "all_time",
]
RELATIVE_PERIODS: tuple[str, ...] = get_args(RelativePeriod)
FilterOp = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte"]
FILTER_OPS: tuple[str, ...] = get_args(FilterOp)
Comparison = Literal["none", "period_over_period", "year_over_year", "share_of_total", "share_within_group"]
COMPARISONS: tuple[str, ...] = get_args(Comparison)
ComparisonOutput = Literal["all", "change_only", "value_and_previous"]
COMPARISON_OUTPUTS: tuple[str, ...] = get_args(ComparisonOutput)
CalculationOp = Literal["ratio", "difference"]
CALCULATION_OPS: tuple[str, ...] = get_args(CalculationOp)
TimeGrain = Literal["day", "week", "month", "quarter", "year"]
FilterValue = Annotated[str, Field(min_length=1, max_length=100)] | int | float
"""One filter value; text is bounded, so a small model cannot run a value on to its token limit."""

_NAME = r"^[a-z][a-z0-9_]{0,62}$"
Name = Annotated[str, Field(pattern=_NAME)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateRange(_Model):
    """An explicit date range; both ends are included."""

    start: date = Field(description="First day of the range, ISO format YYYY-MM-DD.")
    end: date = Field(description="Last day of the range (included), ISO format YYYY-MM-DD.")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; swap them")
        return self


TimeRange = RelativePeriod | DateRange
"""A period name such as ``last_month``, resolved against the catalog's reference date, or explicit dates.

The base model takes the standard names; :func:`metric_query_model` with ``periods`` takes a catalog's own.
"""


class Calculation(_Model):
    """An ad-hoc ratio or difference of two catalog metrics, which may come from different tables."""

    op: CalculationOp = Field(
        description="ratio: left divided by right (column <left>_per_<right>); difference: left minus right "
        "(column <left>_minus_<right>)."
    )
    left: str = Field(pattern=_NAME, description="The metric on the left: the numerator, or what is subtracted from.")
    right: str = Field(pattern=_NAME, description="The metric on the right: the denominator, or what is subtracted.")

    @model_validator(mode="after")
    def _two_metrics(self) -> Calculation:
        if self.left == self.right:
            raise ValueError(f"a calculation needs two different metrics, got {self.left} twice")
        return self

    @property
    def name(self) -> str:
        """The output column: ``<left>_per_<right>`` or ``<left>_minus_<right>``."""
        return f"{self.left}_{'per' if self.op == 'ratio' else 'minus'}_{self.right}"


class Filter(_Model):
    """A condition on a dimension or attribute, applied to every metric before aggregating."""

    dimension: str = Field(pattern=_NAME, description="The dimension (or attribute) to filter on.")
    op: FilterOp = Field(
        default="eq",
        description="eq/ne: equal or not equal to the one value; in/not_in: one of the values or none of them; "
        "gt/gte/lt/lte: greater or less than the one value.",
    )
    values: tuple[FilterValue, ...] = Field(
        min_length=1,
        max_length=20,
        description="The values, as they appear in the data, e.g. 华东 or East China; one value unless op is in "
        "or not_in.",
    )


class OrderBy(_Model):
    """A sort key of the result."""

    target: str = Field(pattern=_NAME, description="A metric, calculation or dimension name of this query to sort by.")
    direction: Literal["asc", "desc"] = Field(default="desc", description="asc: smallest first; desc: largest first.")


class MetricQuery(_Model):
    """A question about metrics, as structured data: what to compute, grouped and filtered how, over which dates."""

    metrics: tuple[Name, ...] = Field(
        default=(),
        max_length=4,
        description="The metrics to show, by catalog name, 1 to 4 (may be empty when calculations has one).",
    )
    calculations: tuple[Calculation, ...] = Field(
        default=(),
        max_length=2,
        description="Ad-hoc ratios or differences of two metrics (0 to 2); their inputs are not shown unless also "
        "listed in metrics.",
    )
    dimensions: tuple[Name, ...] = Field(
        default=(),
        max_length=3,
        description="Dimensions to group by (0 to 3); a time dimension groups by period and needs time_grain.",
    )
    time_grain: TimeGrain | None = Field(
        default=None,
        description="Period length when grouping by a time dimension (day, week, month, quarter, year); "
        "null otherwise.",
    )
    time_range: TimeRange = Field(
        default="all_time",
        description="The dates the metrics cover: a period name such as last_month, all_time, or explicit start "
        "and end dates.",
    )
    filters: tuple[Filter, ...] = Field(
        default=(), max_length=5, description="Conditions on dimension values, e.g. region eq 华东."
    )
    comparison: Comparison = Field(
        default="none",
        description="Extra columns: period_over_period or year_over_year add the previous value and the growth; "
        "share_of_total adds each row's share of the total; share_within_group each row's share within its "
        "group of the first dimension (e.g. each channel's share within each region).",
    )
    comparison_output: ComparisonOutput = Field(
        default="all",
        description="Which columns a comparison shows: all (value, previous and growth; or value and share); "
        "change_only (only the growth, or only the share); value_and_previous (value and previous, no growth).",
    )
    order_by: tuple[OrderBy, ...] = Field(
        default=(),
        max_length=3,
        description="Sort keys; empty sorts time ascending, else the first metric (or calculation) descending.",
    )
    limit: int | None = Field(default=None, ge=1, le=1000, description="Maximum number of rows, e.g. 10 for a top 10.")

    @model_validator(mode="after")
    def _something_to_compute(self) -> MetricQuery:
        if not self.metrics and not self.calculations:
            raise ValueError("list at least one metric in metrics (or a calculation in calculations)")
        return self


def _names_type(names: Sequence[str], what: str) -> Any:
    """``Literal[...]`` of the names, as a runtime annotation."""
    cleaned = tuple(dict.fromkeys(names))
    if not cleaned:
        raise MetricQueryError(f"metric_query_model needs at least one {what} name.", field=what)
    for name in cleaned:
        if not isinstance(name, str) or not name:
            raise MetricQueryError(f"{what.capitalize()} name {name!r} is not a non-empty string.", field=what)
    # An explicit enum, also for one name (pydantic would write `const`, which some grammar engines lack).
    return Annotated[Literal.__getitem__(cleaned), WithJsonSchema({"type": "string", "enum": list(cleaned)})]


def _tuple_of(item: Any) -> Any:
    """``tuple[item, ...]`` as a runtime annotation."""
    return tuple.__class_getitem__((item, ...))


def metric_query_model(
    metrics: Sequence[str], dimensions: Sequence[str], *, periods: Sequence[str] | None = None
) -> type[MetricQuery]:
    """A :class:`MetricQuery` subclass whose names can only be the given ones.

    The returned class's JSON schema lists ``metrics`` and ``dimensions`` (and the dimension of a filter, the
    target of a sort key, the metrics of a calculation, and with ``periods`` the period names) as enums, so vLLM's
    structured outputs can only produce those names. Instances are still :class:`MetricQuery` instances, so
    :func:`tools.metric_query.compile_metric_query` accepts them.

    Args:
        metrics: The metric names retrieved for the question (at least one).
        dimensions: The dimension and attribute names retrieved for the question (may be empty: then the query
            cannot group or filter).
        periods: The catalog's period names (``[p.name for p in catalog.periods()]``); ``time_range`` then takes
            one of them, ``all_time`` or explicit dates. ``None`` keeps the standard names.

    Returns:
        The narrowed model class.

    Raises:
        MetricQueryError: If ``metrics`` is empty or a name is not a non-empty string.
    """
    metric_type = _names_type(metrics, "metric")
    distinct_metrics = len(set(metrics))
    order_model = create_model(
        "OrderBy",
        __base__=OrderBy,
        __doc__=OrderBy.__doc__,
        target=(
            _names_type([*metrics, *dimensions], "metric"),
            Field(description="A metric or dimension name of this query to sort by."),
        ),
    )
    calculation_model = create_model(
        "Calculation",
        __base__=Calculation,
        __doc__=Calculation.__doc__,
        left=(metric_type, Field(description=_description("left", Calculation))),
        right=(metric_type, Field(description=_description("right", Calculation))),
    )
    calculations_field: Any = Field(
        default=(),
        max_length=2 if distinct_metrics > 1 else 0,
        description=_description("calculations")
        if distinct_metrics > 1
        else "A calculation needs two metrics and only one fits this question: leave empty.",
    )
    filter_model: type[Filter] = Filter
    dims_annotation: Any = _tuple_of(Name)
    dims_field: Any = Field(default=(), max_length=0, description="No dimension fits this question: leave empty.")
    filters_field: Any = Field(default=(), max_length=0, description="No dimension fits this question: leave empty.")
    if dimensions:
        dimension_type = _names_type(dimensions, "dimension")
        filter_model = create_model(
            "Filter",
            __base__=Filter,
            __doc__=Filter.__doc__,
            dimension=(dimension_type, Field(description="The dimension to filter on.")),
        )
        dims_annotation = _tuple_of(dimension_type)
        dims_field = Field(default=(), max_length=min(3, len(set(dimensions))), description=_description("dimensions"))
        filters_field = Field(default=(), max_length=5, description=_description("filters"))
    fields: dict[str, Any] = {
        "metrics": (
            _tuple_of(metric_type),
            # Required, and at least one: a 135M model offered an empty list took it and then rambled in the
            # other fields. The agent drops metrics that only feed a calculation (see graphs/metrics/nodes.py).
            Field(min_length=1, max_length=min(4, distinct_metrics), description=_description("metrics")),
        ),
        "calculations": (_tuple_of(calculation_model), calculations_field),
        "dimensions": (dims_annotation, dims_field),
        "filters": (_tuple_of(filter_model), filters_field),
        "order_by": (_tuple_of(order_model), Field(default=(), max_length=3, description=_description("order_by"))),
    }
    if periods is not None:
        period_type = _names_type([*periods, "all_time"], "period")
        fields["time_range"] = (
            period_type | DateRange,
            Field(default="all_time", description=_description("time_range")),
        )
    model: type[MetricQuery] = create_model("MetricQuery", __base__=MetricQuery, __doc__=MetricQuery.__doc__, **fields)
    return model


def _description(field: str, model: type[BaseModel] = MetricQuery) -> str:
    description = model.model_fields[field].description
    assert description is not None
    return description
