from __future__ import annotations

import pandas as pd
import pytest

from kubeai.errors import ChartError
from tools.charts import ChartSpec, choose_chart
from tools.charts.spec import MAX_BAR_CATEGORIES, MAX_SERIES, display_width

MONTHS = pd.date_range("2024-01-01", periods=12, freq="MS")


def test_single_value_is_a_card() -> None:
    spec = choose_chart(pd.DataFrame({"gmv": [1234.5]}), title="上月GMV", unit="元")
    assert spec == ChartSpec(kind="card", title="上月GMV", y=("gmv",), unit="元")


def test_single_period_value_is_still_a_card() -> None:
    frame = pd.DataFrame({"month": MONTHS[:1], "orders": [42]})
    assert choose_chart(frame).kind == "card"


def test_null_single_value_is_a_table() -> None:
    assert choose_chart(pd.DataFrame({"gmv": [None]}, dtype="float64")).kind == "table"


def test_time_series_is_a_line() -> None:
    frame = pd.DataFrame({"month": MONTHS, "gmv": range(12), "orders": range(12)})
    spec = choose_chart(frame, title="Monthly GMV")
    assert (spec.kind, spec.x, spec.y, spec.series) == ("line", "month", ("gmv", "orders"), None)


def test_time_series_split_by_one_dimension() -> None:
    frame = pd.DataFrame({"month": list(MONTHS) * 2, "channel": ["App"] * 12 + ["小程序"] * 12, "orders": range(24)})
    spec = choose_chart(frame)
    assert (spec.kind, spec.x, spec.y, spec.series) == ("line", "month", ("orders",), "channel")


def test_declared_time_column_may_be_text() -> None:
    frame = pd.DataFrame({"ym": ["2024-01", "2024-02", "2024-03"], "gmv": [1.0, 2.0, 3.0]})
    assert choose_chart(frame).kind == "bar"  # inferred: text is a dimension
    spec = choose_chart(frame, time_columns=["ym"])
    assert (spec.kind, spec.x) == ("line", "ym")


def test_declared_numeric_dimension_is_not_a_metric() -> None:
    frame = pd.DataFrame({"birth_year": [1990, 1995, 2000], "users": [10, 20, 30]})
    spec = choose_chart(frame, dimension_columns=["birth_year"], metric_columns=["users"])
    assert (spec.kind, spec.x, spec.y) == ("bar", "birth_year", ("users",))


def test_too_many_series_is_a_table() -> None:
    n = MAX_SERIES + 1
    frame = pd.DataFrame({"month": list(MONTHS[:2]) * n, "city": [f"c{i}" for i in range(n) for _ in range(2)]})
    frame["orders"] = range(len(frame))
    assert choose_chart(frame).kind == "table"


def test_time_series_with_two_dimensions_is_a_table() -> None:
    frame = pd.DataFrame({"month": MONTHS[:2], "a": ["x", "y"], "b": ["u", "v"], "orders": [1, 2]})
    assert choose_chart(frame).kind == "table"


def test_categories_are_a_vertical_bar() -> None:
    frame = pd.DataFrame({"region": ["华东", "华北", "华南"], "gmv": [3.0, 2.0, 1.0]})
    spec = choose_chart(frame, unit="元")
    assert (spec.kind, spec.x, spec.y, spec.horizontal, spec.unit) == ("bar", "region", ("gmv",), False, "元")


def test_many_categories_make_the_bar_horizontal() -> None:
    frame = pd.DataFrame({"city": [f"city{i}" for i in range(20)], "orders": range(20)})
    assert choose_chart(frame).horizontal


def test_long_chinese_labels_make_the_bar_horizontal() -> None:
    # Seven Chinese characters are 14 display columns, wider than the 12-column limit.
    frame = pd.DataFrame({"category": ["家用电器与厨具", "手机"], "gmv": [1.0, 2.0]})
    assert display_width("家用电器与厨具") == 14
    assert choose_chart(frame).horizontal
    frame = pd.DataFrame({"category": ["Phones", "Laptops"], "gmv": [1.0, 2.0]})
    assert not choose_chart(frame).horizontal


def test_too_many_categories_is_a_table() -> None:
    n = MAX_BAR_CATEGORIES + 1
    frame = pd.DataFrame({"product": [f"p{i}" for i in range(n)], "gmv": range(n)})
    assert choose_chart(frame).kind == "table"


def test_two_dimensions_one_metric_is_a_grouped_bar() -> None:
    frame = pd.DataFrame({"region": ["华东", "华东", "华北"], "channel": ["App", "Web", "App"], "gmv": [1, 2, 3]})
    spec = choose_chart(frame)
    assert (spec.kind, spec.x, spec.series, spec.y) == ("bar", "region", "channel", ("gmv",))


def test_three_dimensions_is_a_table() -> None:
    frame = pd.DataFrame({"a": ["x"] * 2, "b": ["y"] * 2, "c": ["z", "w"], "gmv": [1, 2]})
    spec = choose_chart(frame)
    assert spec.kind == "table"
    assert spec.columns == ("a", "b", "c", "gmv")


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"region": pd.Series([], dtype="str"), "gmv": pd.Series([], dtype="float64")}),
        pd.DataFrame({"region": ["a", "b"], "note": ["x", "y"]}),
        pd.DataFrame({"gmv": [1.0, 2.0], "orders": [1, 2]}),
        pd.DataFrame({"gmv": [1.0], "orders": [1]}),
    ],
    ids=["no-rows", "no-metric", "metrics-only", "one-row-two-metrics"],
)
def test_shapes_without_a_chart_are_tables(frame: pd.DataFrame) -> None:
    assert choose_chart(frame).kind == "table"


def test_spec_validation() -> None:
    with pytest.raises(ChartError, match="unknown"):
        ChartSpec(kind="pie")  # type: ignore[arg-type]
    with pytest.raises(ChartError, match="needs an x column"):
        ChartSpec(kind="line", y=("gmv",))
    with pytest.raises(ChartError, match="exactly one metric"):
        ChartSpec(kind="card", y=("a", "b"))
    with pytest.raises(ChartError, match="no series"):
        ChartSpec(kind="table", series="x")
    with pytest.raises(ChartError, match="exactly one metric"):
        ChartSpec(kind="bar", x="r", y=("a", "b"), series="c")


def test_spec_round_trips_through_plain_data() -> None:
    spec = ChartSpec(
        kind="bar",
        title="各区域",
        x="region",
        y=("gmv",),
        series="channel",
        unit="元",
        horizontal=True,
        labels={"region": "地区", "gmv": "成交额（CNY）"},
    )
    data = spec.as_dict()
    assert data["y"] == ["gmv"]
    assert data["labels"] == {"region": "地区", "gmv": "成交额（CNY）"}
    assert ChartSpec.from_dict(data) == spec


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "bar", "x": "r", "y": "gmv"},
        {"kind": "bar", "x": "r", "y": ["gmv"], "onclick": "alert(1)"},
        {"kind": "card", "y": ["gmv"], "unit": 3},
        {"kind": "card", "y": ["gmv"], "horizontal": "yes"},
        {"kind": "script", "y": ["gmv"]},
        {"kind": "card", "y": ["gmv"], "labels": ["GMV"]},
        {"kind": "card", "y": ["gmv"], "labels": {"gmv": {"text": "<script>"}}},
    ],
)
def test_spec_from_untrusted_data_is_validated(data: dict[str, object]) -> None:
    with pytest.raises(ChartError):
        ChartSpec.from_dict(data)


def test_plain_columns_are_read_like_a_dataframe() -> None:
    frame = pd.DataFrame({"month": MONTHS, "channel": ["App", "网页"] * 6, "orders": range(12)})
    columns = {name: frame[name].tolist() for name in frame.columns}
    assert choose_chart(columns) == choose_chart(frame)
    regions = {"region": ["华东", "华北", None], "gmv": [3.0, None, 1.0]}
    spec = choose_chart(regions, labels={"region": "地区"})
    assert (spec.kind, spec.x, spec.y, spec.labels) == ("bar", "region", ("gmv",), {"region": "地区"})


def test_declared_roles_win_over_values() -> None:
    # A year bucket holds integers; declared a time column, it is the x axis, not a second measure.
    columns = {"region": ["华东", "华北"] * 2, "order_date_year": [2024, 2024, 2025, 2025], "gmv": [1.0, 2.0, 3.0, 4.0]}
    inferred = choose_chart(columns)
    assert inferred.y == ("order_date_year", "gmv")
    declared = choose_chart(
        columns, time_columns=["order_date_year"], dimension_columns=["region"], metric_columns=["gmv"]
    )
    assert (declared.kind, declared.x, declared.y, declared.series) == ("line", "order_date_year", ("gmv",), "region")


def test_columns_of_different_lengths_are_a_chart_error() -> None:
    with pytest.raises(ChartError, match="different lengths"):
        choose_chart({"region": ["a", "b"], "gmv": [1.0]})
