"""The values a catalog's categorical dimensions hold in the warehouse, with their names in both languages.

A catalog lists some values (``values:`` on a column) but the warehouse is the truth: :func:`read_dimension_values`
reads each categorical dimension's distinct values through the SQL gate, and for a dimension over a plain column
(``channels.channel_code``) also the sibling columns of its table that share the column's first word
(``channel_name``, ``channel_name_en``). A value then carries its Chinese name from the column holding Chinese
text and its English name from a ``*_en`` column, so ``live_stream`` is also "直播" and "Live Stream".

Training data synthesis fills questions with these names; the metrics graph finds them in a question to set the
filters the question asks for (:mod:`graphs.metrics.linking`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from knowledge.catalog import Catalog
from knowledge.catalog.models import Column, Dimension
from kubeai.errors import KubeAIError
from tools.sql_gate import GateContext, check_sql
from tools.warehouse import SQLRunner

__all__ = ["DimensionValues", "ValueName", "ValueReadError", "read_dimension_values", "value_columns"]

_CJK = re.compile(r"[\u3400-\u9fff]")
_TEXT_TYPES = ("VARCHAR", "TEXT", "STRING", "CHAR")


class ValueReadError(KubeAIError):
    """The warehouse refused to list a dimension's values."""


@dataclass(frozen=True, kw_only=True)
class ValueName:
    """A value a dimension holds, and how a question names it in each language.

    Attributes:
        value: The value as the dimension's column holds it.
        en: Its English name (a ``*_en`` sibling column, else the value).
        zh: Its Chinese name (a sibling column holding Chinese, else the value).
        aliases: Other names the catalog gives it (the column's ``value_names``), in any language.
    """

    value: str | int | float
    en: str
    zh: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every text that names the value: its code, its English and Chinese names, then the catalog's aliases."""
        return (str(self.value), self.en, self.zh, *self.aliases)


@dataclass(frozen=True, kw_only=True)
class DimensionValues:
    """What the warehouse holds that the catalog does not say: each categorical dimension's values.

    Attributes:
        values: Per dimension name, its values in the warehouse's order (at most the ``max_values`` read).
        complete: Per dimension name, whether every value was read (fewer than ``max_values`` came back).
    """

    values: Mapping[str, tuple[ValueName, ...]]
    complete: Mapping[str, bool]


def read_dimension_values(
    catalog: Catalog, runner: SQLRunner, *, max_values: int = 40, timeout_s: float = 30.0
) -> DimensionValues:
    """Read each categorical dimension's values from the warehouse, named in both languages where possible.

    Values are read through the SQL gate like every other query, one query per dimension.

    Raises:
        ValueReadError: The warehouse refused a query; the message names the dimension.
    """
    gate = GateContext(
        schema=catalog.schema_mapping(),
        source_dialect=catalog.warehouse.dialect,
        target_dialect=runner.dialect,
        max_rows=max_values,
    )
    values: dict[str, tuple[ValueName, ...]] = {}
    complete: dict[str, bool] = {}
    for dimension in catalog.all_dimensions:
        if dimension.metric_time or dimension.type != "categorical" or dimension.table is None:
            continue
        columns = value_columns(catalog, dimension)
        select = ", ".join([dimension.expression, *(f"{dimension.source_table}.{c}" for c in columns)])
        sql = f"SELECT DISTINCT {select} FROM {dimension.source_table} WHERE {dimension.expression} IS NOT NULL"
        try:
            rows = runner.run(check_sql(sql, gate).sql, max_rows=max_values, timeout_s=timeout_s).frame
        except KubeAIError as exc:
            raise ValueReadError(f"Cannot read the values of dimension {dimension.name!r}: {exc}") from None
        aliases = _value_names(catalog, dimension)
        names = [_named(row, columns, aliases) for row in rows.itertuples(index=False, name=None)]
        values[dimension.name] = tuple(name for name in names if name is not None)
        complete[dimension.name] = len(rows) < max_values
    return DimensionValues(values=values, complete=complete)


def _value_names(catalog: Catalog, dimension: Dimension) -> dict[str, tuple[str, ...]]:
    """The catalog's other names for the values of a plain-column dimension (its column's ``value_names``)."""
    column = _plain_column(catalog, dimension)
    return {value: names.all() for value, names in column.value_names.items()} if column is not None else {}


def _named(row: tuple[object, ...], columns: list[str], aliases: dict[str, tuple[str, ...]]) -> ValueName | None:
    """One row (the value, then its sibling columns) as a :class:`ValueName`; ``None`` for a blank value."""
    value = row[0]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    texts = [str(v) for v in row if v is not None]
    zh = next((t for t in texts if _CJK.search(t)), str(value))
    en_columns = [str(v) for c, v in zip(columns, row[1:], strict=True) if c.endswith("_en") and v]
    en = en_columns[0] if en_columns else next((t for t in texts if not _CJK.search(t)), str(value))
    plain = value.item() if hasattr(value, "item") else value
    assert isinstance(plain, str | int | float)
    return ValueName(value=plain, en=en.replace("_", " "), zh=zh, aliases=aliases.get(str(plain), ()))


def value_columns(catalog: Catalog, dimension: Dimension) -> list[str]:
    """Sibling columns naming a plain-column dimension's values: same table, same first word of the name."""
    table = catalog.table(dimension.source_table)
    column = _plain_column(catalog, dimension)
    if table is None or column is None:
        return []
    stem = column.name.split("_")[0]
    return [
        c.name
        for c in table.columns
        if c.name != column.name and c.name.split("_")[0] == stem and c.type.upper().startswith(_TEXT_TYPES)
    ]


def _plain_column(catalog: Catalog, dimension: Dimension) -> Column | None:
    """The column a dimension is, when its expression is one column of its table (``channels.channel_code``)."""
    found = re.fullmatch(rf"{re.escape(dimension.source_table)}\.(\w+)", dimension.expression.strip())
    table = catalog.table(dimension.source_table)
    return table.column(found.group(1)) if table is not None and found is not None else None
