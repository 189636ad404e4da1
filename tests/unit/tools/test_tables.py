from __future__ import annotations

import inspect
import math
from typing import Any

import pandas as pd
import pytest

from kubeai.errors import ToolError
from tools.calculator import calculator_tool
from tools.registry import TaskInputs, TaskOutput, ToolRegistry
from tools.tables import MAX_PIVOT_COLUMNS, MAX_ROWS, render_table, resolve_column, table_tools

TABLE_TOOLS = ("table_join", "table_filter", "table_top", "table_pivot", "table_compare")


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(table_tools())


def by_region(gmv: list[float | None], regions: tuple[str, ...] = ("East", "West", "North", "South")) -> pd.DataFrame:
    return pd.DataFrame({"region": list(regions), "gmv": gmv})


def inputs_with(**tables: pd.DataFrame) -> TaskInputs:
    results = {ref: TaskOutput(text=f"table {ref}", table=table) for ref, table in tables.items()}
    return TaskInputs(task_id="t9", results=results)


async def run(registry: ToolRegistry, name: str, args: dict[str, Any], **tables: pd.DataFrame) -> TaskOutput:
    return await registry.run(name, args, inputs_with(**tables))


# --- resolve_column and render_table ---------------------------------------------------------------------------

RESOLVE = pd.DataFrame(columns=["region", "gmv", "GMV_target", "order_count", "refund_amount", "refund_rate"])


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("gmv", "gmv"),  # exact wins over the case-insensitive and substring matches
        ("REGION", "region"),
        (" Order_Count ", "order_count"),
        ("count", "order_count"),
        ("target", "GMV_target"),
        ("rate", "refund_rate"),
    ],
)
def test_resolve_column_is_tolerant(name: str, column: str) -> None:
    assert resolve_column(RESOLVE, name) == column


def test_resolve_column_lists_the_columns_when_nothing_matches() -> None:
    with pytest.raises(ToolError) as caught:
        resolve_column(RESOLVE, "channel", tool="table_top", source="table t1")
    assert str(caught.value) == (
        "table t1 has no column 'channel'; its columns are: region, gmv, GMV_target, order_count, refund_amount, "
        "refund_rate"
    )
    assert caught.value.tool == "table_top"


def test_resolve_column_refuses_an_ambiguous_name() -> None:
    with pytest.raises(ToolError, match="'refund' is ambiguous in the table: it matches refund_amount, refund_rate"):
        resolve_column(RESOLVE, "refund")


def test_resolve_column_refuses_an_empty_name() -> None:
    with pytest.raises(ToolError, match="the table has no column '  '; its columns are: region"):
        resolve_column(RESOLVE, "  ")


def test_render_table_shows_the_first_rows_and_the_total() -> None:
    frame = pd.DataFrame({"n": range(25), "share": [i / 3 for i in range(25)]})
    text = render_table(frame)
    lines = text.splitlines()
    assert lines[0].split() == ["n", "share"]
    assert lines[1].split() == ["0", "0"]
    assert lines[2].split() == ["1", "0.3333"]
    assert len(lines) == 1 + 10 + 1
    assert lines[-1] == "(first 10 of 25 rows)"


def test_render_table_small_and_empty_tables() -> None:
    assert render_table(pd.DataFrame({"gmv": [1234567.5]})).splitlines() == ["      gmv", "1234567.5", "(1 row)"]
    assert render_table(by_region([1.0, None, 3.0, 4.0])).splitlines()[2].split() == ["West", "null"]
    assert render_table(pd.DataFrame(columns=["a", "b"])) == "(no rows; columns: a, b)"


# --- registration ----------------------------------------------------------------------------------------------


def test_all_tools_register_with_their_metadata() -> None:
    registry = ToolRegistry([*table_tools(), calculator_tool()])
    assert registry.names() == (*TABLE_TOOLS, "calculate")
    for name in TABLE_TOOLS:
        assert registry.task_type(name) == "table"
        assert not registry.needs_model(name)
        assert "inputs" not in registry.args_model(name).model_json_schema()["properties"]
    references = {tool.name: (tool.metadata or {})["references"] for tool in registry}
    assert references == {
        "table_join": ("left", "right"),
        "table_filter": ("table",),
        "table_top": ("table",),
        "table_pivot": ("table",),
        "table_compare": ("left", "right"),
        "calculate": (),
    }


def test_coroutines_take_exactly_the_schema_fields() -> None:
    for tool in [*table_tools(), calculator_tool()]:
        assert tool.coroutine is not None and tool.args_schema is not None
        parameters = inspect.signature(tool.coroutine).parameters
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
        assert set(parameters) == set(tool.args_schema.model_fields), tool.name  # type: ignore[union-attr]


def test_model_facing_schema_of_table_top(registry: ToolRegistry) -> None:
    properties = registry.args_model("table_top").model_json_schema()["properties"]
    assert list(properties) == ["table", "column", "n", "order"]
    assert properties["table"]["pattern"] == r"^t[0-9]{1,2}$"
    assert (properties["n"]["minimum"], properties["n"]["maximum"], properties["n"]["default"]) == (1, 100, 3)


@pytest.mark.parametrize(
    ("name", "args", "problem"),
    [
        ("table_top", {"table": "T1"}, "argument `table` of table_top: String should match pattern"),
        ("table_top", {"table": "t100"}, "String should match pattern"),
        ("table_top", {"table": "t1", "n": 0}, "argument `n` of table_top: Input should be greater than or equal to 1"),
        ("table_top", {"table": "t1", "n": 101}, "less than or equal to 100"),
        ("table_top", {"table": "t1", "order": "up"}, "argument `order` of table_top: Input should be 'desc' or 'asc'"),
        ("table_filter", {"table": "t1", "column": "gmv", "op": "=~", "value": "1"}, "argument `op` of table_filter"),
        (
            "table_filter",
            {"table": "t1", "column": "gmv", "op": ">"},
            "argument `value` of table_filter: Field required",
        ),
        ("table_join", {"left": "t1", "right": "<resource>-t2"}, "argument `right` of table_join"),
        ("table_join", {"left": "t1", "right": "t2", "on": list("abcde")}, "argument `on` of table_join"),
        ("table_join", {"left": "t1", "right": "t2", "how": "cross"}, "argument `how` of table_join"),
        ("table_pivot", {"table": "t1", "index": "region", "columns": "", "values": "gmv"}, "argument `columns`"),
        ("table_pivot", {"table": "t1", "index": "a", "columns": "b", "values": "c", "agg": "median"}, "`agg`"),
        ("table_compare", {"left": "t1"}, "argument `right` of table_compare: Field required"),
    ],
)
async def test_invalid_arguments_are_refused_before_running(
    registry: ToolRegistry, name: str, args: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem.replace("(", r"\(")) as caught:
        await run(registry, name, args, t1=by_region([1.0, 2.0, 3.0, 4.0]))
    assert caught.value.tool == name


async def test_a_reference_outside_the_dependencies_names_the_tool(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="task t9 uses t2, which is not one of its finished dependencies") as caught:
        await run(registry, "table_top", {"table": "t2"}, t1=by_region([1.0, 2.0, 3.0, 4.0]))
    assert caught.value.tool == "table_top"


async def test_a_task_without_a_table_cannot_be_used(registry: ToolRegistry) -> None:
    inputs = TaskInputs(task_id="t2", results={"t1": TaskOutput(text="42", value=42.0)})
    with pytest.raises(ToolError, match="task t1 produced no table for task t2 to use"):
        await registry.run("table_filter", {"table": "t1", "column": "x", "op": "==", "value": "1"}, inputs)


# --- table_join ------------------------------------------------------------------------------------------------

ORDERS = pd.DataFrame({"Region": ["East", "West", "Central"], "order_count": [10, 20, 5]})


async def test_join_on_named_columns_resolved_in_both_tables(registry: ToolRegistry) -> None:
    gmv = by_region([100.0, 250.0, 30.0, 80.0])
    output = await run(registry, "table_join", {"left": "t1", "right": "t2", "on": ["REGION"]}, t1=gmv, t2=ORDERS)
    assert output.table is not None
    assert output.table.to_dict("list") == {"region": ["East", "West"], "gmv": [100.0, 250.0], "order_count": [10, 20]}
    assert output.text.splitlines()[0] == "t1 joined with t2 on region (inner join):"
    assert output.text.splitlines()[-1] == "(2 rows)"
    assert output.details["on"] == ["region"]


@pytest.mark.parametrize(("how", "regions"), [("left", 4), ("outer", 5)])
async def test_join_keeps_unmatched_rows_when_asked(registry: ToolRegistry, how: str, regions: int) -> None:
    args = {"left": "t1", "right": "t2", "on": ["region"], "how": how}
    output = await run(registry, "table_join", args, t1=by_region([1.0, 2.0, 3.0, 4.0]), t2=ORDERS)
    assert output.table is not None
    assert len(output.table) == regions
    assert output.table["order_count"].isna().sum() == 2


async def test_join_defaults_to_the_shared_label_columns(registry: ToolRegistry) -> None:
    this_year = by_region([100.0, 250.0, 30.0, 80.0])
    last_year = by_region([90.0, 200.0, 30.0, 100.0], regions=("South", "North", "West", "East"))
    output = await run(registry, "table_join", {"left": "t1", "right": "t2"}, t1=this_year, t2=last_year)
    assert output.table is not None
    assert list(output.table.columns) == ["region", "gmv_left", "gmv_right"]
    assert output.table.set_index("region")["gmv_right"].to_dict() == {
        "East": 100.0,
        "West": 30.0,
        "North": 200.0,
        "South": 90.0,
    }


async def test_join_falls_back_to_shared_integer_columns(registry: ToolRegistry) -> None:
    gmv = pd.DataFrame({"year": [2023, 2024], "gmv": [1.0, 2.0]})
    orders = pd.DataFrame({"year": [2024, 2023], "order_count": [20, 10]})
    output = await run(registry, "table_join", {"left": "t1", "right": "t2"}, t1=gmv, t2=orders)
    assert output.table is not None
    assert output.table.to_dict("list") == {"year": [2023, 2024], "gmv": [1.0, 2.0], "order_count": [10, 20]}


async def test_join_refuses_to_match_on_measures_alone(registry: ToolRegistry) -> None:
    left, right = pd.DataFrame({"gmv": [1.0]}), pd.DataFrame({"gmv": [1.0], "aov": [2.0]})
    with pytest.raises(ToolError, match=r"share only measure columns \(gmv\); name the columns to join on in `on`"):
        await run(registry, "table_join", {"left": "t1", "right": "t2"}, t1=left, t2=right)


async def test_join_without_shared_columns_lists_both_tables(registry: ToolRegistry) -> None:
    left, right = by_region([1.0, 2.0, 3.0, 4.0]), pd.DataFrame({"channel": ["app"], "aov": [2.0]})
    with pytest.raises(ToolError) as caught:
        await run(registry, "table_join", {"left": "t1", "right": "t2"}, t1=left, t2=right)
    assert str(caught.value) == (
        "tables t1 and t2 share no column to join on (t1: region, gmv; t2: channel, aov); name the columns in `on`"
    )
    assert caught.value.tool == "table_join"


async def test_join_that_would_explode_is_refused(registry: ToolRegistry) -> None:
    many = pd.DataFrame({"channel": ["app"] * 101, "gmv": range(101)})
    with pytest.raises(ToolError, match=f"about 10201 rows, more than {MAX_ROWS}"):
        await run(registry, "table_join", {"left": "t1", "right": "t2", "on": ["channel"]}, t1=many, t2=many)


async def test_join_on_incompatible_key_types_is_a_tool_error(registry: ToolRegistry) -> None:
    left = pd.DataFrame({"month": ["2024-01"], "gmv": [1.0]})
    right = pd.DataFrame({"month": [1], "aov": [2.0]})
    with pytest.raises(
        ToolError, match="could not match rows of t1 and t2 on month: the key columns hold different kinds"
    ):
        await run(registry, "table_join", {"left": "t1", "right": "t2", "on": ["month"]}, t1=left, t2=right)


async def test_join_refuses_a_key_named_twice(registry: ToolRegistry) -> None:
    args = {"left": "t1", "right": "t2", "on": ["region", "REGION"]}
    with pytest.raises(ToolError, match="names the same column twice"):
        await run(registry, "table_join", args, t1=by_region([1.0, 2.0, 3.0, 4.0]), t2=ORDERS)


# --- table_filter ----------------------------------------------------------------------------------------------

GMV = by_region([100.0, 250.5, None, 80.0])


@pytest.mark.parametrize(
    ("op", "value", "regions"),
    [
        (">", "90", ["East", "West"]),
        (">=", "100", ["East", "West"]),
        ("<", "100", ["South"]),
        ("<=", " 80 ", ["South"]),
        ("==", "250.5", ["West"]),
        ("!=", "100", ["West", "South"]),  # the empty cell never matches
        ("contains", "0.5", ["West"]),
    ],
)
async def test_filter_compares_numeric_columns_as_numbers(
    registry: ToolRegistry, op: str, value: str, regions: list[str]
) -> None:
    output = await run(registry, "table_filter", {"table": "t1", "column": "GMV", "op": op, "value": value}, t1=GMV)
    assert output.table is not None
    assert output.table["region"].tolist() == regions
    assert output.table.index.tolist() == list(range(len(regions)))


@pytest.mark.parametrize(
    ("op", "value", "regions"),
    [
        ("==", "east", ["East"]),
        ("!=", "EAST", ["West", "North", "South"]),
        ("contains", "TH", ["North", "South"]),
        (">", "n", ["West", "North", "South"]),
    ],
)
async def test_filter_compares_text_case_insensitively(
    registry: ToolRegistry, op: str, value: str, regions: list[str]
) -> None:
    args = {"table": "t1", "column": "reg", "op": op, "value": value}
    output = await run(registry, "table_filter", args, t1=GMV)
    assert output.table is not None
    assert output.table["region"].tolist() == regions


async def test_filter_compares_date_columns_as_dates(registry: ToolRegistry) -> None:
    months = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=4, freq="MS"), "gmv": [1.0, 2.0, 3.0, 4.0]})
    args = {"table": "t1", "column": "month", "op": ">=", "value": "2024-03"}
    output = await run(registry, "table_filter", args, t1=months)
    assert output.table is not None
    assert output.table["gmv"].tolist() == [3.0, 4.0]
    assert output.table["month"].dtype == months["month"].dtype  # dates are left as they are
    with pytest.raises(ToolError, match="column month holds dates, so the value must be a date such as 2024-03-01"):
        await run(registry, "table_filter", {**args, "value": "March"}, t1=months)


async def test_filter_text_and_headline(registry: ToolRegistry) -> None:
    args = {"table": "t1", "column": "gmv", "op": ">", "value": "90"}
    output = await run(registry, "table_filter", args, t1=GMV)
    assert output.text.splitlines()[0] == "rows of t1 where gmv > 90: 2 of 4"
    assert output.details["rows"] == 2


async def test_filter_with_no_matching_rows_is_an_empty_table(registry: ToolRegistry) -> None:
    args = {"table": "t1", "column": "gmv", "op": ">", "value": "1e9"}
    output = await run(registry, "table_filter", args, t1=GMV)
    assert output.table is not None and output.table.empty
    assert list(output.table.columns) == ["region", "gmv"]
    assert "(no rows; columns: region, gmv)" in output.text


@pytest.mark.parametrize("value", ["lots", "nan", "inf", "1,000"])
async def test_filter_needs_a_number_for_a_numeric_column(registry: ToolRegistry, value: str) -> None:
    args = {"table": "t1", "column": "gmv", "op": ">", "value": value}
    with pytest.raises(ToolError, match=r"column gmv is numeric, so the value must be a number such as 100 or 0\.25"):
        await run(registry, "table_filter", args, t1=GMV)


async def test_filter_on_a_missing_column_lists_the_columns(registry: ToolRegistry) -> None:
    args = {"table": "t1", "column": "channel", "op": "==", "value": "app"}
    with pytest.raises(ToolError, match="table t1 has no column 'channel'; its columns are: region, gmv") as caught:
        await run(registry, "table_filter", args, t1=GMV)
    assert caught.value.tool == "table_filter"


# --- table_top -------------------------------------------------------------------------------------------------


async def test_top_defaults_to_the_last_numeric_column_descending(registry: ToolRegistry) -> None:
    frame = GMV.assign(order_count=[10, 40, 30, 20])
    output = await run(registry, "table_top", {"table": "t1"}, t1=frame)
    assert output.table is not None
    assert output.table["region"].tolist() == ["West", "North", "South"]
    assert output.text.splitlines()[0] == "top 3 rows of t1 by order_count (highest first):"
    assert output.details["column"] == "order_count"


async def test_top_by_a_named_column_in_either_order(registry: ToolRegistry) -> None:
    output = await run(registry, "table_top", {"table": "t1", "column": "Gmv", "n": 4, "order": "asc"}, t1=GMV)
    assert output.table is not None
    assert output.table["region"].tolist() == ["South", "East", "West", "North"]  # empty cells rank last
    output = await run(registry, "table_top", {"table": "t1", "column": "gmv", "n": 100}, t1=GMV)
    assert output.table is not None
    assert output.table["region"].tolist() == ["West", "East", "South", "North"]


async def test_top_needs_a_numeric_column_when_none_is_named(registry: ToolRegistry) -> None:
    frame = pd.DataFrame({"region": ["East"], "channel": ["app"]})
    with pytest.raises(ToolError, match="table t1 has no numeric column to rank by; name a column"):
        await run(registry, "table_top", {"table": "t1"}, t1=frame)


async def test_top_accepts_string_coerced_n(registry: ToolRegistry) -> None:
    output = await run(registry, "table_top", {"table": "t1", "column": "gmv", "n": "1"}, t1=GMV)
    assert output.table is not None
    assert output.table["region"].tolist() == ["West"]


# --- table_pivot -----------------------------------------------------------------------------------------------

SALES = pd.DataFrame(
    {
        "month": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01", "2024-02-01"]),
        "channel": ["app", "web", "app", "web", "web"],
        "year": [2024] * 5,
        "gmv": [1.0, 2.0, 3.0, 4.0, 5.0],
    }
)


async def test_pivot_sums_values_with_string_column_names(registry: ToolRegistry) -> None:
    args = {"table": "t1", "index": "channel", "columns": "month", "values": "gmv"}
    output = await run(registry, "table_pivot", args, t1=SALES)
    assert output.table is not None
    assert list(output.table.columns) == ["channel", "2024-01-01", "2024-02-01"]
    assert output.table.to_dict("list") == {
        "channel": ["app", "web"],
        "2024-01-01": [1.0, 2.0],
        "2024-02-01": [3.0, 9.0],
    }
    assert output.text.splitlines()[0] == "t1 pivoted: sum of gmv by channel (rows) and month (columns):"


@pytest.mark.parametrize(("agg", "web_february"), [("mean", 4.5), ("min", 4.0), ("max", 5.0), ("count", 2)])
async def test_pivot_aggregates(registry: ToolRegistry, agg: str, web_february: float) -> None:
    args = {"table": "t1", "index": "channel", "columns": "month", "values": "gmv", "agg": agg}
    output = await run(registry, "table_pivot", args, t1=SALES)
    assert output.table is not None
    assert output.table.set_index("channel").loc["web", "2024-02-01"] == web_february


async def test_pivot_count_fills_missing_combinations_with_zero(registry: ToolRegistry) -> None:
    frame = SALES.iloc[1:]
    args = {"table": "t1", "index": "channel", "columns": "month", "values": "channel", "agg": "count"}
    with pytest.raises(ToolError, match="three different columns"):
        await run(registry, "table_pivot", args, t1=frame)
    args = {"table": "t1", "index": "channel", "columns": "month", "values": "gmv", "agg": "count"}
    output = await run(registry, "table_pivot", args, t1=frame)
    assert output.table is not None
    assert output.table.set_index("channel").loc["app", "2024-01-01"] == 0


async def test_pivot_integer_column_values_become_string_names(registry: ToolRegistry) -> None:
    args = {"table": "t1", "index": "channel", "columns": "year", "values": "gmv"}
    output = await run(registry, "table_pivot", args, t1=SALES)
    assert output.table is not None
    assert list(output.table.columns) == ["channel", "2024"]
    assert all(isinstance(c, str) for c in output.table.columns)


async def test_pivot_needs_numeric_values_unless_counting(registry: ToolRegistry) -> None:
    frame = SALES.assign(note=["a"] * 5)
    args = {"table": "t1", "index": "channel", "columns": "month", "values": "note"}
    with pytest.raises(
        ToolError, match="column note is not numeric, so it cannot be aggregated with sum; use agg count"
    ):
        await run(registry, "table_pivot", args, t1=frame)
    output = await run(registry, "table_pivot", {**args, "agg": "count"}, t1=frame)
    assert output.table is not None
    assert output.table["2024-02-01"].tolist() == [1, 2]


async def test_pivot_with_too_many_columns_is_refused(registry: ToolRegistry) -> None:
    count = MAX_PIVOT_COLUMNS + 1
    frame = pd.DataFrame({"region": ["East"] * count, "store": [f"s{i}" for i in range(count)], "gmv": [1.0] * count})
    args = {"table": "t1", "index": "region", "columns": "store", "values": "gmv"}
    with pytest.raises(ToolError, match=f"column store has {count} distinct values, too many to become columns"):
        await run(registry, "table_pivot", args, t1=frame)


# --- table_compare ---------------------------------------------------------------------------------------------


async def test_compare_matches_rows_and_computes_changes(registry: ToolRegistry) -> None:
    this_year = by_region([120.0, 0.0, None, 50.0], regions=("East", "West", "North", "Central")).assign(aov=1.0)
    last_year = by_region([100.0, 40.0, 10.0, 0.0]).assign(aov=2.0)
    output = await run(registry, "table_compare", {"left": "t1", "right": "t2"}, t1=this_year, t2=last_year)
    table = output.table
    assert table is not None
    assert list(table.columns) == [
        "region",
        *("gmv_left", "gmv_right", "gmv_diff", "gmv_pct_change"),
        *("aov_left", "aov_right", "aov_diff", "aov_pct_change"),
    ]
    rows = table.set_index("region").to_dict("index")
    assert [rows["East"][f"gmv_{part}"] for part in ("left", "right", "diff", "pct_change")] == [120, 100, 20, 0.2]
    assert rows["West"]["gmv_pct_change"] == -1.0
    assert math.isnan(rows["North"]["gmv_diff"])  # a null on the left
    assert math.isnan(rows["South"]["gmv_pct_change"])  # 0 on the right: no relative change
    assert math.isnan(rows["Central"]["gmv_right"])  # a row only the left has
    assert rows["East"]["aov_pct_change"] == -0.5
    assert output.text.splitlines()[0] == "t1 (left) compared with t2 (right) on region: gmv, aov"
    assert output.details["metrics"] == ["gmv", "aov"]


async def test_compare_on_named_columns_in_either_spelling(registry: ToolRegistry) -> None:
    left = pd.DataFrame({"Region": ["East"], "gmv": [3.0]})
    right = pd.DataFrame({"region": ["East"], "gmv": [2.0]})
    args = {"left": "t1", "right": "t2", "on": ["region"]}
    output = await run(registry, "table_compare", args, t1=left, t2=right)
    assert output.table is not None
    assert output.table.to_dict("records") == [
        {"Region": "East", "gmv_left": 3.0, "gmv_right": 2.0, "gmv_diff": 1.0, "gmv_pct_change": 0.5}
    ]


async def test_compare_two_single_totals(registry: ToolRegistry) -> None:
    output = await run(
        registry,
        "table_compare",
        {"left": "t1", "right": "t2"},
        t1=pd.DataFrame({"gmv": [-50.0]}),
        t2=pd.DataFrame({"gmv": [-100.0]}),
    )
    assert output.table is not None
    assert output.table.to_dict("records") == [
        {"gmv_left": -50.0, "gmv_right": -100.0, "gmv_diff": 50.0, "gmv_pct_change": 0.5}
    ]
    assert output.text.splitlines()[0] == "t1 (left) compared with t2 (right): gmv"


async def test_compare_needs_a_shared_numeric_column(registry: ToolRegistry) -> None:
    left, right = by_region([1.0, 2.0, 3.0, 4.0]), ORDERS.rename(columns={"Region": "region"})
    with pytest.raises(ToolError, match=r"share no numeric column to compare \(t1: gmv; t2: order_count\)"):
        await run(registry, "table_compare", {"left": "t1", "right": "t2"}, t1=left, t2=right)


async def test_compare_needs_keys_for_several_rows(registry: ToolRegistry) -> None:
    left = pd.DataFrame({"year": [2023, 2024], "gmv": [1.0, 2.0]})
    with pytest.raises(ToolError, match="share no text column to match rows on; name the columns in `on`"):
        await run(registry, "table_compare", {"left": "t1", "right": "t2"}, t1=left, t2=left)
    output = await run(registry, "table_compare", {"left": "t1", "right": "t2", "on": ["year"]}, t1=left, t2=left)
    assert output.table is not None
    assert output.table["gmv_diff"].tolist() == [0.0, 0.0]


async def test_compare_that_would_explode_is_refused(registry: ToolRegistry) -> None:
    many = pd.DataFrame({"channel": ["app"] * 101, "gmv": range(101)})
    with pytest.raises(ToolError, match=f"more than {MAX_ROWS}") as caught:
        await run(registry, "table_compare", {"left": "t1", "right": "t2"}, t1=many, t2=many)
    assert caught.value.tool == "table_compare"


# --- chaining --------------------------------------------------------------------------------------------------


async def test_outputs_chain_into_later_tasks() -> None:
    registry = ToolRegistry([*table_tools(), calculator_tool()])
    results: dict[str, TaskOutput] = {"t1": TaskOutput(text="gmv by region", table=GMV)}
    results["t2"] = await registry.run("table_top", {"table": "t1", "n": 1}, TaskInputs(task_id="t2", results=results))
    results["t3"] = await registry.run(
        "calculate", {"expression": "<resource>-t2 / 2"}, TaskInputs(task_id="t3", results=results)
    )
    assert results["t3"].value == pytest.approx(125.25)
