"""Table tools: join, filter, rank, pivot and compare the tables earlier tasks produced.

Each tool reads its input tables through typed references (a task id such as ``"t1"``) and returns a
:class:`~tools.registry.TaskOutput` whose ``table`` is the result and whose ``text`` is a short rendering of it
(:func:`render_table`) that downstream text tasks can quote. Column names written by a model are resolved
tolerantly by :func:`resolve_column`. Nothing here evaluates model-written code: filters are one comparison
chosen from a fixed set of operators.

Results are bounded: a join or comparison that would produce more than :data:`MAX_ROWS` rows, or a pivot with
more than :data:`MAX_PIVOT_COLUMNS` columns, is refused with a :class:`~kubeai.errors.ToolError`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Annotated, Any, Final, Literal

import pandas as pd
from langchain_core.tools import InjectedToolArg, StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from kubeai.errors import ToolError
from tools.registry import TableRef, TaskInputs, TaskOutput

__all__ = [
    "MAX_PIVOT_COLUMNS",
    "MAX_ROWS",
    "SHOWN_ROWS",
    "Ref",
    "render_table",
    "resolve_column",
    "table_compare_tool",
    "table_filter_tool",
    "table_join_tool",
    "table_pivot_tool",
    "table_tools",
    "table_top_tool",
]

MAX_ROWS: Final = 10_000
"""Most rows a join or comparison may produce."""

MAX_PIVOT_COLUMNS: Final = 200
"""Most distinct values a pivot may turn into columns."""

SHOWN_ROWS: Final = 10
"""Rows shown in a result's text rendering."""

Ref = TableRef
"""A typed reference to an earlier task's table."""

_Column = Annotated[str, Field(min_length=1, max_length=64)]

Operator = Literal["==", "!=", ">", ">=", "<", "<=", "contains"]
Aggregate = Literal["sum", "mean", "count", "min", "max"]

_OPERATORS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}

_TABLE_METADATA: Final = {"task_type": "table", "needs_model": False}


# --- shared helpers --------------------------------------------------------------------------------------------


def resolve_column(table: pd.DataFrame, name: str, *, tool: str | None = None, source: str = "the table") -> str:
    """The column of ``table`` that ``name`` means.

    Tried in order: the exact name, a case-insensitive match, then the only column whose name contains ``name``
    (case-insensitively).

    Args:
        table: The table to look in; its column labels are compared as strings.
        name: The column name a model wrote.
        tool: The tool asking, named in the error.
        source: How the error names the table, e.g. ``"table t1"``.

    Returns:
        The column's label as a string.

    Raises:
        ToolError: No column matches, or several do; the message lists the candidates.
    """
    columns = [str(c) for c in table.columns]
    wanted = name.strip()
    if wanted in columns:
        return wanted
    folded = wanted.casefold()
    same = [c for c in columns if c.casefold() == folded]
    if len(same) == 1:
        return same[0]
    containing = [c for c in columns if folded and folded in c.casefold()]
    if len(containing) == 1:
        return containing[0]
    if len(containing) > 1:
        raise ToolError(
            f"column {name!r} is ambiguous in {source}: it matches {', '.join(containing)}; name one exactly",
            tool=tool,
        )
    raise ToolError(f"{source} has no column {name!r}; its columns are: {', '.join(columns)}", tool=tool)


def render_table(table: pd.DataFrame, *, rows: int = SHOWN_ROWS) -> str:
    """A compact text rendering of ``table``: its first ``rows`` rows and how many there are in all.

    Args:
        table: The table to render.
        rows: How many rows to show.

    Returns:
        The rows as aligned text without the index, then a line such as ``(first 10 of 42 rows)``.
    """
    total = len(table)
    if total == 0:
        return f"(no rows; columns: {', '.join(str(c) for c in table.columns)})"
    shown = table.head(rows).to_string(index=False, float_format=_format_number, na_rep="null", max_colwidth=50)
    count = f"({total} {'row' if total == 1 else 'rows'})" if total <= rows else f"(first {rows} of {total} rows)"
    return f"{shown}\n{count}"


def _format_number(value: float) -> str:
    if math.isfinite(value) and abs(value) < 1e15:
        if value == int(value):
            return str(int(value))
        if abs(value) >= 1e-4:
            return f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{value:.6g}"


def _input_table(inputs: TaskInputs, ref: str, tool: str) -> pd.DataFrame:
    """Task ``ref``'s table with string column labels; the inputs' error reworded to name ``tool``."""
    try:
        table = inputs.table(ref)
    except ToolError as exc:
        raise ToolError(str(exc), tool=tool) from None
    if all(isinstance(c, str) for c in table.columns):
        return table
    return table.rename(columns=str)


def _is_numeric(series: pd.Series[Any]) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(series.dtype)


def _numeric_columns(table: pd.DataFrame) -> list[str]:
    return [str(c) for c in table.columns if _is_numeric(table[c])]


def _output(headline: str, table: pd.DataFrame, **details: Any) -> TaskOutput:
    return TaskOutput(
        text=f"{headline}\n{render_table(table)}",
        table=table,
        details={"rows": len(table), "columns": [str(c) for c in table.columns], **details},
    )


def _match_keys(
    left: pd.DataFrame, right: pd.DataFrame, on: Sequence[str], *, tool: str, names: tuple[str, str]
) -> tuple[list[str], pd.DataFrame]:
    """The key columns named by ``on`` (as ``left`` calls them) and ``right`` renamed to match."""
    keys: list[str] = []
    renames: dict[str, str] = {}
    for name in on:
        key = resolve_column(left, name, tool=tool, source=f"table {names[0]}")
        other = resolve_column(right, name, tool=tool, source=f"table {names[1]}")
        keys.append(key)
        if other != key:
            renames[other] = key
    if len(set(keys)) != len(keys):
        raise ToolError(f"`on` names the same column twice ({', '.join(on)}); name each key once", tool=tool)
    return keys, right.rename(columns=renames) if renames else right


def _shared_columns(left: pd.DataFrame, right: pd.DataFrame) -> list[str]:
    return [str(c) for c in left.columns if c in right.columns]


def _check_join_size(
    left: pd.DataFrame, right: pd.DataFrame, keys: list[str], how: str, *, tool: str, names: tuple[str, str]
) -> None:
    """Refuse a join whose result would exceed :data:`MAX_ROWS`, before building it."""
    counts = pd.concat(
        [
            left.groupby(keys, dropna=False, sort=False).size().rename("left"),
            right.groupby(keys, dropna=False, sort=False).size().rename("right"),
        ],
        axis=1,
    ).fillna(0)
    rows = int((counts["left"] * counts["right"]).sum())
    if how in ("left", "outer"):
        rows += int(counts["left"][counts["right"] == 0].sum())
    if how == "outer":
        rows += int(counts["right"][counts["left"] == 0].sum())
    if rows > MAX_ROWS:
        raise ToolError(
            f"joining {names[0]} and {names[1]} on {', '.join(keys)} would give about {rows} rows, more than "
            f"{MAX_ROWS}; join on more columns so that rows match one to one",
            tool=tool,
        )


def _merge(
    left: pd.DataFrame,
    right: pd.DataFrame,
    keys: list[str],
    how: Literal["inner", "left", "outer"],
    *,
    tool: str,
    names: tuple[str, str],
) -> pd.DataFrame:
    try:
        return left.merge(right, on=keys, how=how, suffixes=("_left", "_right"))
    except (ValueError, TypeError):  # keys of different kinds, e.g. text months against integer months
        raise ToolError(
            f"could not match rows of {names[0]} and {names[1]} on {', '.join(keys)}: the key columns hold "
            "different kinds of values (text, numbers, dates) in the two tables",
            tool=tool,
        ) from None


class _Args(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    inputs: Annotated[TaskInputs, InjectedToolArg] = Field(default_factory=TaskInputs)


# --- table_join ------------------------------------------------------------------------------------------------

_JOIN: Final = "table_join"


class _JoinArgs(_Args):
    left: Ref
    right: Ref
    on: list[_Column] = Field(
        default_factory=list, max_length=4, description="columns to match rows on; empty = the shared columns"
    )
    how: Literal["inner", "left", "outer"] = Field(
        default="inner", description="inner: rows in both; left: every left row; outer: every row"
    )


async def _join(
    *, left: str, right: str, on: list[str], how: Literal["inner", "left", "outer"], inputs: TaskInputs
) -> TaskOutput:
    names = (left, right)
    left_table, right_table = _input_table(inputs, left, _JOIN), _input_table(inputs, right, _JOIN)
    if on:
        keys, right_table = _match_keys(left_table, right_table, on, tool=_JOIN, names=names)
    else:
        shared = _shared_columns(left_table, right_table)
        if not shared:
            raise ToolError(
                f"tables {left} and {right} share no column to join on ({left}: {', '.join(map(str, left_table))}; "
                f"{right}: {', '.join(map(str, right_table))}); name the columns in `on`",
                tool=_JOIN,
            )
        keys = _default_keys(left_table, right_table, shared, names=names)
    _check_join_size(left_table, right_table, keys, how, tool=_JOIN, names=names)
    result = _merge(left_table, right_table, keys, how, tool=_JOIN, names=names)
    headline = f"{left} joined with {right} on {', '.join(keys)} ({how} join):"
    return _output(headline, result, on=keys, how=how)


def _default_keys(left: pd.DataFrame, right: pd.DataFrame, shared: list[str], *, names: tuple[str, str]) -> list[str]:
    """The shared columns to join on: label columns (text, dates), else integer ones (a year), never measures.

    Two results of the same metric share that metric's column; matching rows on it is never what is meant.
    """
    labels = [c for c in shared if not _is_numeric(left[c]) or not _is_numeric(right[c])]
    if labels:
        return labels
    integers = [
        c
        for c in shared
        if pd.api.types.is_integer_dtype(left[c].dtype) and pd.api.types.is_integer_dtype(right[c].dtype)
    ]
    if integers:
        return integers
    raise ToolError(
        f"tables {names[0]} and {names[1]} share only measure columns ({', '.join(shared)}); name the columns "
        "to join on in `on`",
        tool=_JOIN,
    )


def table_join_tool() -> StructuredTool:
    """The ``table_join`` tool: join two earlier tables on key columns.

    Returns:
        A tool whose output table has the matched rows; columns both tables have besides the keys get the
        suffixes ``_left`` and ``_right``.
    """
    return StructuredTool.from_function(
        coroutine=_join,
        name=_JOIN,
        description="Join two earlier tables, matching rows on shared columns such as region or month.",
        args_schema=_JoinArgs,
        metadata={**_TABLE_METADATA, "references": ("left", "right")},
    )


# --- table_filter ----------------------------------------------------------------------------------------------

_FILTER: Final = "table_filter"


class _FilterArgs(_Args):
    table: Ref
    column: _Column = Field(description="column to test")
    op: Operator = Field(description="comparison; contains matches part of the text")
    value: str = Field(min_length=1, max_length=100, description="number or text to compare with")


async def _filter(*, table: str, column: str, op: Operator, value: str, inputs: TaskInputs) -> TaskOutput:
    frame = _input_table(inputs, table, _FILTER)
    name = resolve_column(frame, column, tool=_FILTER, source=f"table {table}")
    mask = _mask(frame[name], op, value.strip(), column=name)
    result = frame[mask].reset_index(drop=True)
    headline = f"rows of {table} where {name} {op} {value.strip()}: {len(result)} of {len(frame)}"
    return _output(headline, result, column=name, op=op, value=value)


def _mask(series: pd.Series[Any], op: Operator, value: str, *, column: str) -> pd.Series[bool]:
    present = series.notna()
    if op == "contains":
        found = series.astype(str).str.contains(value, case=False, regex=False)
        return present & found.fillna(False).astype(bool)
    compare = _OPERATORS[op]
    if _is_numeric(series):
        matched = compare(series, _number(value, column=column))
    elif pd.api.types.is_datetime64_any_dtype(series.dtype):
        matched = compare(series, _timestamp(value, series, column=column))
    else:  # text (and anything else) compares as trimmed, case-folded text; ISO dates order correctly
        matched = compare(series.astype(str).str.strip().str.casefold(), value.casefold())
    return present & pd.Series(matched, index=series.index).fillna(False).astype(bool)


def _number(value: str, *, column: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ToolError(
            f"column {column} is numeric, so the value must be a number such as 100 or 0.25, not {value!r}",
            tool=_FILTER,
        )
    return number


def _timestamp(value: str, series: pd.Series[Any], *, column: str) -> pd.Timestamp:
    problem = ToolError(f"column {column} holds dates, so the value must be a date such as 2024-03-01", tool=_FILTER)
    try:
        stamp = pd.Timestamp(pd.to_datetime(value, format="ISO8601"))
    except ValueError:
        raise problem from None
    if pd.isna(stamp):
        raise problem
    zone = getattr(series.dt, "tz", None)
    if zone is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(zone)
    elif zone is None and stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp


def table_filter_tool() -> StructuredTool:
    """The ``table_filter`` tool: keep the rows of an earlier table where one column matches a condition.

    Numeric columns compare as numbers, date columns as dates, other columns as case-insensitive text;
    empty cells never match.

    Returns:
        A tool whose output table holds the matching rows.
    """
    return StructuredTool.from_function(
        coroutine=_filter,
        name=_FILTER,
        description="Keep the rows of an earlier table where a column compares to a value, e.g. gmv > 1000.",
        args_schema=_FilterArgs,
        metadata={**_TABLE_METADATA, "references": ("table",)},
    )


# --- table_top -------------------------------------------------------------------------------------------------

_TOP: Final = "table_top"


class _TopArgs(_Args):
    table: Ref
    column: str = Field(default="", max_length=64, description="column to rank by; empty = the last numeric column")
    n: int = Field(default=3, ge=1, le=100, description="how many rows")
    order: Literal["desc", "asc"] = Field(default="desc", description="desc: largest first; asc: smallest first")


async def _top(*, table: str, column: str, n: int, order: Literal["desc", "asc"], inputs: TaskInputs) -> TaskOutput:
    frame = _input_table(inputs, table, _TOP)
    if column.strip():
        name = resolve_column(frame, column, tool=_TOP, source=f"table {table}")
    else:
        numeric = _numeric_columns(frame)
        if not numeric:
            raise ToolError(
                f"table {table} has no numeric column to rank by; name a column (the columns are: "
                f"{', '.join(map(str, frame.columns))})",
                tool=_TOP,
            )
        name = numeric[-1]
    try:
        ranked = frame.sort_values(name, ascending=order == "asc", kind="stable", na_position="last")
    except TypeError:
        raise ToolError(f"column {name} of table {table} mixes values that cannot be ordered", tool=_TOP) from None
    result = ranked.head(n).reset_index(drop=True)
    which = "highest" if order == "desc" else "lowest"
    headline = f"top {len(result)} rows of {table} by {name} ({which} first):"
    return _output(headline, result, column=name, n=n, order=order)


def table_top_tool() -> StructuredTool:
    """The ``table_top`` tool: the first ``n`` rows of an earlier table ranked by a column.

    Returns:
        A tool whose output table holds those rows, best first; empty cells rank last.
    """
    return StructuredTool.from_function(
        coroutine=_top,
        name=_TOP,
        description="The top n rows of an earlier table ranked by a column, e.g. the 3 regions with the most gmv.",
        args_schema=_TopArgs,
        metadata={**_TABLE_METADATA, "references": ("table",)},
    )


# --- table_pivot -----------------------------------------------------------------------------------------------

_PIVOT: Final = "table_pivot"


class _PivotArgs(_Args):
    table: Ref
    index: _Column = Field(description="column whose values become the rows")
    columns: _Column = Field(description="column whose values become the columns")
    values: _Column = Field(description="numeric column to aggregate")
    agg: Aggregate = Field(default="sum", description="how to combine values")


async def _pivot(
    *, table: str, index: str, columns: str, values: str, agg: Aggregate, inputs: TaskInputs
) -> TaskOutput:
    frame = _input_table(inputs, table, _PIVOT)
    source = f"table {table}"
    rows, cols, vals = (resolve_column(frame, name, tool=_PIVOT, source=source) for name in (index, columns, values))
    if len({rows, cols, vals}) < 3:
        raise ToolError(
            f"index, columns and values must be three different columns, not {rows}, {cols}, {vals}", tool=_PIVOT
        )
    if agg != "count" and not _is_numeric(frame[vals]):
        raise ToolError(
            f"column {vals} is not numeric, so it cannot be aggregated with {agg}; use agg count or one of the "
            f"numeric columns: {', '.join(_numeric_columns(frame)) or 'none'}",
            tool=_PIVOT,
        )
    distinct = int(frame[cols].nunique())
    if distinct > MAX_PIVOT_COLUMNS:
        raise ToolError(
            f"column {cols} has {distinct} distinct values, too many to become columns (at most "
            f"{MAX_PIVOT_COLUMNS}); pivot on a column with fewer values",
            tool=_PIVOT,
        )
    pivot = frame.pivot_table(
        index=rows, columns=cols, values=vals, aggfunc=agg, observed=True, fill_value=0 if agg == "count" else None
    )
    labels = [_label(c) for c in pivot.columns]
    if rows in labels or len(set(labels)) != len(labels):
        raise ToolError(f"the values of column {cols} collide with each other or with {rows} as names", tool=_PIVOT)
    pivot.columns = pd.Index(labels)
    result = pivot.reset_index()
    headline = f"{table} pivoted: {agg} of {vals} by {rows} (rows) and {cols} (columns):"
    return _output(headline, result, index=rows, pivot_columns=cols, values=vals, agg=agg)


def _label(value: Hashable) -> str:
    """A pivoted value as a column name: dates without a midnight time, whole floats without ``.0``."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table_pivot_tool() -> StructuredTool:
    """The ``table_pivot`` tool: reshape an earlier table so one column's values become columns.

    Returns:
        A tool whose output table has one row per ``index`` value and one column per ``columns`` value
        (as a string), each cell the ``agg`` of ``values``.
    """
    return StructuredTool.from_function(
        coroutine=_pivot,
        name=_PIVOT,
        description="Pivot an earlier table: one column's values become rows, another's become columns.",
        args_schema=_PivotArgs,
        metadata={**_TABLE_METADATA, "references": ("table",)},
    )


# --- table_compare ---------------------------------------------------------------------------------------------

_COMPARE_TOOL: Final = "table_compare"


class _CompareArgs(_Args):
    left: Ref
    right: Ref
    on: list[_Column] = Field(
        default_factory=list, max_length=4, description="columns to match rows on; empty = the shared text columns"
    )


async def _compare(*, left: str, right: str, on: list[str], inputs: TaskInputs) -> TaskOutput:
    tool, names = _COMPARE_TOOL, (left, right)
    left_table, right_table = _input_table(inputs, left, tool), _input_table(inputs, right, tool)
    if on:
        keys, right_table = _match_keys(left_table, right_table, on, tool=tool, names=names)
    else:
        keys = [
            c
            for c in _shared_columns(left_table, right_table)
            if not _is_numeric(left_table[c]) and not _is_numeric(right_table[c])
        ]
    metrics = [
        c
        for c in _shared_columns(left_table, right_table)
        if c not in keys and _is_numeric(left_table[c]) and _is_numeric(right_table[c])
    ]
    if not metrics:
        raise ToolError(
            f"tables {left} and {right} share no numeric column to compare ({left}: "
            f"{', '.join(_numeric_columns(left_table)) or 'none'}; {right}: "
            f"{', '.join(_numeric_columns(right_table)) or 'none'})",
            tool=tool,
        )
    left_part, right_part = left_table[keys + metrics], right_table[keys + metrics]
    if keys:
        _check_join_size(left_part, right_part, keys, "outer", tool=tool, names=names)
        merged = _merge(left_part, right_part, keys, "outer", tool=tool, names=names)
    elif len(left_table) == 1 and len(right_table) == 1:  # two single totals: compare them directly
        merged = left_part.merge(right_part, how="cross", suffixes=("_left", "_right"))
    else:
        raise ToolError(
            f"tables {left} and {right} share no text column to match rows on; name the columns in `on`", tool=tool
        )
    result = merged[keys].copy()
    for metric in metrics:
        before = merged[f"{metric}_right"].astype("float64")
        after = merged[f"{metric}_left"].astype("float64")
        result[f"{metric}_left"] = merged[f"{metric}_left"]
        result[f"{metric}_right"] = merged[f"{metric}_right"]
        result[f"{metric}_diff"] = after - before
        result[f"{metric}_pct_change"] = (after - before) / before.abs().where(before != 0)
    matched = f" on {', '.join(keys)}" if keys else ""
    headline = f"{left} (left) compared with {right} (right){matched}: {', '.join(metrics)}"
    return _output(headline, result, on=keys, metrics=metrics)


def table_compare_tool() -> StructuredTool:
    """The ``table_compare`` tool: compare the numeric columns two earlier tables share, row by matching row.

    Rows are matched on ``on`` (default: the text columns both tables have; two one-row tables need none) with
    an outer join, so a row missing from one side shows empty cells. For every numeric column ``c`` in both,
    the result has ``c_left``, ``c_right``, ``c_diff`` (left minus right) and ``c_pct_change``, the relative
    change ``(left - right) / |right|`` as a fraction (0.25 is 25%), empty where right is 0 or empty.

    Returns:
        The comparison tool.
    """
    return StructuredTool.from_function(
        coroutine=_compare,
        name=_COMPARE_TOOL,
        description="Compare two earlier tables' numbers row by row: left, right, difference and relative change.",
        args_schema=_CompareArgs,
        metadata={**_TABLE_METADATA, "references": ("left", "right")},
    )


def table_tools() -> list[StructuredTool]:
    """All five table tools, ready to register.

    Returns:
        ``table_join``, ``table_filter``, ``table_top``, ``table_pivot`` and ``table_compare``.
    """
    return [table_join_tool(), table_filter_tool(), table_top_tool(), table_pivot_tool(), table_compare_tool()]
