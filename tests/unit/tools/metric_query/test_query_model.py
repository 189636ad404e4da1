"""The JSON schema a model fills: names narrowed to enums, every field described, validation as documented."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from kubeai.errors import MetricQueryError
from tools.metric_query import DateRange, MetricQuery, metric_query_model
from tools.metric_query.query import COMPARISONS, FILTER_OPS, RELATIVE_PERIODS

METRICS = ["gmv", "refund_rate", "order_count"]
DIMENSIONS = ["region", "order_date"]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    resolved: dict[str, Any] = schema["$defs"][ref.rsplit("/", 1)[1]]
    return resolved


def _items(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    return _resolve(schema, prop["items"])


@pytest.fixture
def schema() -> dict[str, Any]:
    return metric_query_model(METRICS, DIMENSIONS).model_json_schema()


def test_metric_and_dimension_names_are_enums(schema: dict[str, Any]) -> None:
    props = schema["properties"]
    assert _items(schema, props["metrics"])["enum"] == METRICS
    assert _items(schema, props["dimensions"])["enum"] == DIMENSIONS
    filter_schema = _items(schema, props["filters"])
    assert filter_schema["properties"]["dimension"]["enum"] == DIMENSIONS
    assert filter_schema["properties"]["op"]["enum"] == list(FILTER_OPS)
    order_schema = _items(schema, props["order_by"])
    assert order_schema["properties"]["target"]["enum"] == METRICS + DIMENSIONS
    assert props["comparison"]["enum"] == list(COMPARISONS)
    periods = [b for b in props["time_range"]["anyOf"] if "enum" in b]
    assert periods[0]["enum"] == list(RELATIVE_PERIODS)
    assert props["metrics"]["maxItems"] == 3
    assert props["dimensions"]["maxItems"] == 2
    assert props["limit"]["anyOf"][0] == {"maximum": 1000, "minimum": 1, "type": "integer"}


def test_every_field_is_described(schema: dict[str, Any]) -> None:
    objects = [schema, *schema["$defs"].values()]
    for obj in objects:
        assert obj.get("description"), obj.get("title")
        for name, prop in obj["properties"].items():
            assert prop.get("description"), f"{obj.get('title')}.{name} has no description"
        assert obj.get("additionalProperties") is False


def test_the_json_schema_itself_admits_only_the_given_names(schema: dict[str, Any]) -> None:
    good = {
        "metrics": ["gmv"],
        "dimensions": ["region"],
        "time_range": {"start": "2025-01-01", "end": "2025-03-31"},
        "filters": [{"dimension": "region", "op": "in", "values": ["华东", "East China"]}],
        "order_by": [{"target": "gmv", "direction": "desc"}],
        "limit": 10,
    }
    jsonschema.validate(good, schema)
    for bad in (
        {"metrics": ["sales"]},
        {"metrics": ["gmv"], "dimensions": ["category"]},
        {"metrics": ["gmv"], "filters": [{"dimension": "city", "values": ["上海"]}]},
        {"metrics": ["gmv"], "order_by": [{"target": "city"}]},
        {"metrics": ["gmv"], "time_range": "next_month"},
        {"metrics": ["gmv"], "sql": "DROP TABLE orders"},
        {"metrics": ["gmv"], "calculations": [{"op": "ratio", "left": "gmv", "right": "sales"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_narrowed_model_validates_into_a_metric_query() -> None:
    model = metric_query_model(METRICS, DIMENSIONS)
    query = model.model_validate_json(
        '{"metrics": ["gmv"], "dimensions": ["order_date"], "time_grain": "month", "time_range": "last_12_months",'
        ' "filters": [{"dimension": "region", "values": ["华东"]}]}'
    )
    assert isinstance(query, MetricQuery)
    assert query.filters[0].op == "eq"
    assert query.comparison == "none"
    assert query.order_by == ()
    with pytest.raises(ValidationError):
        model.model_validate({"metrics": ["sales"]})
    with pytest.raises(ValidationError):
        model.model_validate({"metrics": ["gmv"], "filters": [{"dimension": "city", "values": ["上海"]}]})
    with pytest.raises(ValidationError):
        model.model_validate({"metrics": ["gmv"], "limit": 0})
    with pytest.raises(ValidationError, match="at least 1 item"):
        model.model_validate({"metrics": []})  # the narrowed schema makes the model name a metric
    with pytest.raises(ValidationError):
        model.model_validate({"metrics": ["gmv"], "filters": [{"dimension": "region", "values": []}]})
    with pytest.raises(ValidationError):
        query.model_copy().__setattr__("limit", 5)  # frozen


def test_base_model_keeps_names_free_but_well_formed() -> None:
    query = MetricQuery(
        metrics=("gmv",), time_range=DateRange.model_validate({"start": "2025-01-01", "end": "2025-01-31"})
    )
    assert query.dimensions == ()
    with pytest.raises(ValidationError):
        MetricQuery.model_validate({"metrics": ["GMV; DROP TABLE orders"]})
    with pytest.raises(ValidationError):
        MetricQuery.model_validate({"metrics": ["gmv"], "time_range": {"start": "2025-02-01", "end": "2025-01-01"}})


def test_without_dimensions_the_query_cannot_group_or_filter() -> None:
    model = metric_query_model(["gmv"], [])
    schema = model.model_json_schema()
    assert schema["properties"]["dimensions"]["maxItems"] == 0
    assert schema["properties"]["filters"]["maxItems"] == 0
    assert _items(schema, schema["properties"]["order_by"])["properties"]["target"]["enum"] == ["gmv"]
    with pytest.raises(ValidationError):
        model.model_validate({"metrics": ["gmv"], "dimensions": ["region"]})


def test_repeated_names_are_listed_once() -> None:
    schema = metric_query_model(["gmv", "gmv"], ["region", "region"]).model_json_schema()
    assert _items(schema, schema["properties"]["metrics"])["enum"] == ["gmv"]
    assert schema["properties"]["metrics"]["maxItems"] == 1


def test_factory_needs_a_metric() -> None:
    with pytest.raises(MetricQueryError, match="at least one metric") as info:
        metric_query_model([], ["region"])
    assert info.value.field == "metric"
