"""Every invalid query is a MetricQueryError naming the field and saying, in one sentence, what to use instead."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from sqlglot import exp

from knowledge.catalog import Catalog
from kubeai.errors import KubeAIError, MetricQueryError
from tools.metric_query import MetricQuery, compile_metric_query
from tools.sql_gate import GateContext, check_sql


def _compile(catalog: Catalog, **query: Any) -> None:
    compile_metric_query(MetricQuery.model_validate(query), catalog)


def _error(catalog: Catalog, **query: Any) -> MetricQueryError:
    with pytest.raises(MetricQueryError) as info:
        _compile(catalog, **query)
    message = str(info.value)
    assert message.endswith((".", "?")), message
    assert "\n" not in message
    assert isinstance(info.value, KubeAIError)
    return info.value


def _variant(
    catalog: Catalog,
    *,
    metrics: dict[str, dict[str, Any]] | None = None,
    dimensions: dict[str, dict[str, Any]] | None = None,
) -> Catalog:
    """The demo catalog with some metric or dimension fields replaced."""
    data = catalog.model_dump()
    for key, changes in (("metrics", metrics or {}), ("dimensions", dimensions or {})):
        for item in data[key]:
            item.update(changes.get(item["name"], {}))
    return Catalog.model_validate(data)


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown_metric", {"metrics": ["gmvv"]}, "metrics[0]", "Unknown metric `gmvv`: did you mean `gmv`"),
    ("unknown_dimension", {"metrics": ["gmv"], "dimensions": ["regoin"]}, "dimensions[0]", "did you mean `region`"),
    (
        "dimension_that_fans_out",
        {"metrics": ["gmv"], "dimensions": ["category"]},
        "dimensions[0]",
        "Metric `gmv` cannot be grouped by `category`: table `categories` can only be reached from `orders` through "
        "joins that would count rows several times",
    ),
    (
        "dimension_unreachable_for_derived_metric",
        {"metrics": ["refund_rate"], "dimensions": ["brand"]},
        "dimensions[0]",
        "Metric `refund_rate` cannot be grouped by `brand`",
    ),
    (
        "dimension_of_another_table_family",
        {"metrics": ["new_users"], "dimensions": ["region"]},
        "dimensions[0]",
        "table `regions` can only be reached from `users`",
    ),
    (
        "filter_dimension_not_allowed",
        {"metrics": ["gmv"], "filters": [{"dimension": "refund_reason", "values": ["wrong_size"]}]},
        "filters[0].dimension",
        "Metric `gmv` cannot be filtered by `refund_reason`",
    ),
    (
        "time_dimension_without_grain",
        {"metrics": ["gmv"], "dimensions": ["order_date"]},
        "time_grain",
        "needs a time_grain; set it to one of: day, week, month, quarter, year",
    ),
    (
        "grain_without_time_dimension",
        {"metrics": ["gmv"], "dimensions": ["region"], "time_grain": "month"},
        "time_grain",
        "no time dimension is in dimensions",
    ),
    ("repeated_metric", {"metrics": ["gmv", "gmv"]}, "metrics", "`gmv` appears twice in metrics"),
    ("repeated_dimension", {"metrics": ["gmv"], "dimensions": ["region", "region"]}, "dimensions", "appears twice"),
    (
        "unknown_enumerated_value",
        {"metrics": ["gmv"], "filters": [{"dimension": "region", "values": ["华东区"]}]},
        "filters[0].values",
        "Filter value '华东区' is not a value of dimension `region` (its values are: "
        "华东, 华北, 华南, 华中, 西南, 西北, 东北); did you mean 华东?",
    ),
    (
        "unknown_english_value",
        {"metrics": ["gmv"], "filters": [{"dimension": "region", "op": "in", "values": ["East", "Mars"]}]},
        "filters[0].values",
        "did you mean",
    ),
    (
        "eq_with_two_values",
        {"metrics": ["gmv"], "filters": [{"dimension": "region", "op": "eq", "values": ["华东", "华北"]}]},
        "filters[0].values",
        "takes exactly one value, got 2; use op in for several values",
    ),
    (
        "time_filter_value_not_a_date",
        {"metrics": ["gmv"], "filters": [{"dimension": "order_date", "op": "gte", "values": ["last month"]}]},
        "filters[0].values",
        "is not an ISO date",
    ),
    (
        "order_by_outside_the_query",
        {"metrics": ["gmv"], "dimensions": ["region"], "order_by": [{"target": "order_count"}]},
        "order_by[0].target",
        "use one of: gmv, region",
    ),
    (
        "comparison_without_a_period",
        {"metrics": ["gmv"], "comparison": "period_over_period"},
        "time_range",
        "needs a time_range other than all_time",
    ),
    (
        "share_without_dimension",
        {"metrics": ["gmv"], "comparison": "share_of_total"},
        "comparison",
        "at least one dimension",
    ),
    (
        "share_of_a_ratio",
        {"metrics": ["gmv", "refund_rate"], "dimensions": ["channel"], "comparison": "share_of_total"},
        "comparison",
        "Metric `refund_rate` is a ratio or average",
    ),
    (
        "share_of_an_average",
        {"metrics": ["avg_discount"], "dimensions": ["channel"], "comparison": "share_of_total"},
        "comparison",
        "`avg_discount` is a ratio or average",
    ),
]


@pytest.mark.parametrize(("query", "field", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_query_is_rejected_with_a_specific_sentence(
    catalog: Catalog, query: dict[str, Any], field: str, fragment: str
) -> None:
    error = _error(catalog, **query)
    assert error.field == field
    assert fragment in str(error)


def test_allowed_dimensions_are_listed_for_repair(catalog: Catalog) -> None:
    error = _error(catalog, metrics=["gmv"], dimensions=["category"])
    assert "its dimensions are: region, city, city_tier, channel" in str(error)


def test_unsupported_grain(catalog: Catalog) -> None:
    weekly_only = _variant(catalog, dimensions={"order_date": {"time_grains": ("month", "year")}})
    error = _error(weekly_only, metrics=["gmv"], dimensions=["order_date"], time_grain="week")
    assert error.field == "time_grain"
    assert "cannot be grouped by week; set time_grain to one of: month, year" in str(error)


def test_metric_without_time_column_cannot_take_a_range(catalog: Catalog) -> None:
    timeless = _variant(catalog, metrics={"gmv": {"time_column": None}})
    error = _error(timeless, metrics=["gmv"], time_range="last_month")
    assert error.field == "time_range"
    assert "Metric `gmv` has no time column" in str(error)
    _compile(timeless, metrics=["gmv"])  # all time is fine


def test_two_time_dimensions_cannot_be_compared(catalog: Catalog) -> None:
    dims = ("region", "order_date", "registration_date")
    both = _variant(catalog, metrics={"gmv": {"dimensions": dims}})
    query = {"metrics": ["gmv"], "dimensions": ["order_date", "registration_date"], "time_grain": "month"}
    _compile(both, **query)  # a cohort-style table is fine without a comparison
    error = _error(both, **query, comparison="year_over_year")
    assert error.field == "comparison"
    assert "year_over_year works with at most one time dimension" in str(error)


def test_output_name_collision(catalog: Catalog) -> None:
    clash = _variant(catalog, dimensions={"channel": {"name": "gmv_share"}})
    clash = _variant(clash, metrics={"gmv": {"dimensions": ("region", "gmv_share")}})
    error = _error(clash, metrics=["gmv"], dimensions=["gmv_share"], comparison="share_of_total")
    assert error.field == "dimensions"
    assert "Two output columns would both be called `gmv_share`" in str(error)


def test_case_and_spacing_of_enumerated_values_are_forgiven(catalog: Catalog) -> None:
    compiled = compile_metric_query(
        MetricQuery.model_validate(
            {
                "metrics": ["gmv"],
                "filters": [{"dimension": "city_tier", "op": "in", "values": [" tier 1", "NEW TIER 1"]}],
            }
        ),
        catalog,
    )
    literals = {lit.this for lit in compiled.expression.find_all(exp.Literal) if lit.is_string}
    assert {"Tier 1", "New Tier 1"} <= literals


def test_hostile_filter_value_stays_a_literal(catalog: Catalog, warehouse: duckdb.DuckDBPyConnection) -> None:
    hostile = "上海' OR '1'='1"
    compiled = compile_metric_query(
        MetricQuery.model_validate(
            {"metrics": ["order_count"], "filters": [{"dimension": "city", "values": [hostile]}]}
        ),
        catalog,
    )
    literals = [lit.this for lit in compiled.expression.find_all(exp.Literal) if lit.is_string]
    assert hostile in literals
    gated = check_sql(compiled.sql, GateContext(schema=catalog.schema_mapping()))
    assert warehouse.execute(gated.sql).fetchall() == [(0,)]
    drop = "x'); DROP TABLE orders; --"
    compiled = compile_metric_query(
        MetricQuery.model_validate({"metrics": ["order_count"], "filters": [{"dimension": "city", "values": [drop]}]}),
        catalog,
    )
    check_sql(compiled.sql, GateContext(schema=catalog.schema_mapping()))
