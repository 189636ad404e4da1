"""The turn's result as the graph carries it: JSON rows plus what each column holds.

The metric-query compiler knows every output column's role (a time bucket, a dimension, a measure), unit, format
and labels; :func:`compiled_columns` keeps that as JSON-ready :class:`ColumnInfo` for the checkpointed state, and
the chart and the answer read it instead of guessing from dtypes. SQL the model wrote (or a reviewer edited) has
no compiler behind it: :func:`inferred_columns` reads roles from the values and labels from catalog names, and the
state says the roles were inferred. :func:`result_frame` builds the one DataFrame of a result, at the edge (an
agent's result, the CLI, the API), never inside the graph.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, TypedDict

import pandas as pd

from knowledge.catalog import Catalog
from tools.metric_query import OutputColumn, metric_column

__all__ = [
    "ColumnInfo",
    "ColumnRole",
    "column_label",
    "compiled_columns",
    "describes",
    "display_headers",
    "inferred_columns",
    "result_frame",
]

ColumnRole = Literal["time", "dimension", "metric"]
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([+-]\d{2}:?\d{2}|Z)?$")


class ColumnInfo(TypedDict):
    """One result column, as JSON-ready data for the checkpointed state.

    ``role`` is what a chart needs (``time``, ``dimension`` or ``metric``); ``kind``, ``source``, ``grain``,
    ``unit``, ``format`` and the labels are the compiler's :class:`~tools.metric_query.OutputColumn` fields
    (``kind`` is ``inferred`` for a column whose role was read from its values).
    """

    name: str
    role: ColumnRole
    kind: str
    source: str
    grain: str | None
    unit: str | None
    format: str
    label_en: str
    label_zh: str


def compiled_columns(columns: Sequence[OutputColumn]) -> list[ColumnInfo]:
    """What the compiler says about each output column, for the state."""
    return [
        ColumnInfo(
            name=c.name,
            role=("time" if c.grain is not None else "dimension") if c.kind == "dimension" else "metric",
            kind=c.kind,
            source=c.source,
            grain=c.grain,
            unit=c.unit,
            format=c.format,
            label_en=c.label_en,
            label_zh=c.label_zh,
        )
        for c in columns
    ]


def describes(info: Sequence[ColumnInfo], columns: Sequence[str]) -> bool:
    """Whether ``info`` names exactly the result's columns, in order."""
    return bool(info) and [c["name"] for c in info] == list(columns)


def inferred_columns(columns: Sequence[str], rows: Sequence[Sequence[Any]], catalog: Catalog) -> list[ColumnInfo]:
    """Roles read from the values (ISO dates: time; numbers: metric; the rest: dimension), labels from the catalog.

    For a result no compiler described (free SQL). A column named like a catalog metric takes its unit, format and
    labels; one named like a dimension takes its labels.
    """
    out = []
    for index, name in enumerate(columns):
        values = [row[index] for row in rows if row[index] is not None]
        role: ColumnRole = "dimension"
        if values and all(isinstance(v, str) and _ISO_DATE.match(v) for v in values):
            role = "time"
        elif values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            role = "metric"
        source, unit, label_en, label_zh = name, None, "", ""
        fmt = "date" if role == "time" else "number" if role == "metric" else "text"
        metric = catalog.metric(name) if role == "metric" else None
        dimension = catalog.dimension(name) if role != "metric" else None
        if metric is not None:
            known = metric_column(catalog, metric)
            source, unit, fmt = known.source, known.unit, known.format
            label_en, label_zh = known.label_en, known.label_zh
        elif dimension is not None:
            source, label_en, label_zh = dimension.name, dimension.label.en, dimension.label.zh
        info = ColumnInfo(
            name=name,
            role=role,
            kind="inferred",
            source=source,
            grain=None,
            unit=unit,
            format=fmt,
            label_en=label_en,
            label_zh=label_zh,
        )
        out.append(info)
    return out


def column_label(info: ColumnInfo, language: str) -> str:
    """The column's label in ``language`` with its unit: ``GMV (CNY)``, ``成交额（CNY）``; its name if unlabelled."""
    zh = language == "zh"
    label = (info["label_zh"] if zh else info["label_en"]) or info["name"]
    unit = "%" if info["format"] == "percent" else info["unit"]
    if not unit:
        return label
    return f"{label}（{unit}）" if zh else f"{label} ({unit})"


def display_headers(columns: Sequence[str], info: Sequence[ColumnInfo], language: str) -> list[str]:
    """Headers for showing a result to a person; a column ``info`` does not describe keeps its name."""
    by_name = {c["name"]: c for c in info}
    return [column_label(by_name[name], language) if name in by_name else name for name in columns]


def result_frame(columns: Sequence[str], rows: Sequence[Sequence[Any]], info: Sequence[ColumnInfo]) -> pd.DataFrame:
    """The result as a DataFrame, built once at the edge; time columns holding ISO dates become datetimes.

    Raw column names stay the frame's columns (programs select by them); :func:`display_headers` gives the labels.
    """
    frame = pd.DataFrame(list(rows), columns=list(columns))
    for column in info:
        name = column["name"]
        if column["role"] != "time" or column["format"] != "date" or name not in frame.columns or frame.empty:
            continue
        values = frame[name]
        if values.map(lambda v: isinstance(v, str) and bool(_ISO_DATE.match(v))).all():
            parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
            if parsed.notna().all():
                frame[name] = parsed
    return frame
