"""Cross-reference checks on a catalog whose entries each have the right shape.

Each check is a small function ``(catalog) -> Iterator[Issue]``; :data:`CHECKS` runs them in order. An issue
names the path of the offending field (``("metrics", 3, "sql")``) and says what is wrong; the loader adds the
file and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError

from knowledge.catalog._yaml import YamlPath
from knowledge.catalog.joins import reachable_tables
from knowledge.catalog.models import Catalog, Join, Metric

__all__ = ["CHECKS", "Issue", "run_checks"]


@dataclass(frozen=True)
class Issue:
    """One problem: where (a path into the YAML data) and what, as a sentence fragment."""

    path: YamlPath
    message: str


Check = Callable[[Catalog], Iterator[Issue]]

_ARITHMETIC = (exp.Column, exp.Identifier, exp.Literal, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Paren, exp.Neg)


def _parse_error(exc: SqlglotError) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        return f"{first.get('description', 'syntax error')} near column {first.get('col', '?')}"
    return str(exc).splitlines()[0]


def _parse_expression(sql: str, dialect: str, path: YamlPath) -> tuple[exp.Expr | None, Issue | None]:
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError as exc:
        return None, Issue(path, f"SQL does not parse in dialect {dialect}: {_parse_error(exc)}")
    if isinstance(tree, exp.Query) or tree.find(exp.Query, exp.DML, exp.DDL) is not None:
        return None, Issue(path, "must be a single SQL expression, not a query or statement")
    return tree, None


def _column_issues(
    catalog: Catalog, tree: exp.Expr, default_table: str, allowed_tables: set[str], path: YamlPath
) -> Iterator[Issue]:
    for column in tree.find_all(exp.Column):
        table_name = (column.table or default_table).lower()
        name = column.name.lower()
        table = catalog.table(table_name)
        if table is None:
            yield Issue(path, f"table `{table_name}` is not declared in tables")
        elif table.column(name) is None:
            yield Issue(path, f"column `{name}` is not declared in table `{table_name}`")
        elif table_name not in allowed_tables:
            yield Issue(
                path,
                f"table `{table_name}` cannot be reached from `{default_table}` through many_to_one or "
                "one_to_one joins; declare such a join or use a column of a reachable table",
            )


def check_duplicates(catalog: Catalog) -> Iterator[Issue]:
    """Tables, columns within a table, dimensions and metrics each have unique names."""
    groups: list[tuple[str, str, list[str]]] = [
        ("tables", "table", [t.name for t in catalog.tables]),
        ("dimensions", "dimension", [d.name for d in catalog.dimensions]),
        ("attributes", "attribute", [d.name for d in catalog.attributes]),
        ("metrics", "metric", [m.name for m in catalog.metrics]),
    ]
    for key, what, names in groups:
        yield from _duplicates((key,), what, names)
    dimension_names = {d.name for d in catalog.dimensions}
    for a_index, attribute in enumerate(catalog.attributes):
        if attribute.name in dimension_names:
            yield Issue(("attributes", a_index, "name"), f"`{attribute.name}` is declared as a dimension too")
    period_names: dict[str, int] = {}
    for p_index, item in enumerate(catalog.conventions.periods or ()):
        name = item if isinstance(item, str) else item.name
        if name in period_names:
            yield Issue(
                ("conventions", "periods", p_index),
                f"period `{name}` is listed twice (first at index {period_names[name]})",
            )
        period_names.setdefault(name, p_index)
    for t_index, table in enumerate(catalog.tables):
        yield from _duplicates(
            ("tables", t_index, "columns"), f"column of table `{table.name}`", [c.name for c in table.columns]
        )


def _duplicates(base: YamlPath, what: str, names: list[str]) -> Iterator[Issue]:
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            yield Issue((*base, index, "name"), f"{what} `{name}` is declared twice (first at index {first[name]})")
        else:
            first[name] = index


def check_tables(catalog: Catalog) -> Iterator[Issue]:
    """Column types parse in the dialect; primary keys name declared columns."""
    dialect = catalog.warehouse.dialect
    for t_index, table in enumerate(catalog.tables):
        for c_index, column in enumerate(table.columns):
            try:
                exp.DataType.build(column.type, dialect=dialect)
            except SqlglotError:
                yield Issue(
                    ("tables", t_index, "columns", c_index, "type"),
                    f"`{column.type}` is not a SQL type in dialect {dialect}",
                )
        for k_index, key in enumerate(table.primary_key):
            if table.column(key) is None:
                yield Issue(
                    ("tables", t_index, "primary_key", k_index),
                    f"primary key column `{key}` is not declared in table `{table.name}`",
                )


def check_joins(catalog: Catalog) -> Iterator[Issue]:
    """Joins name declared columns of two different tables and form no cycle."""
    parent: dict[str, str] = {t.name: t.name for t in catalog.tables}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for j_index, join in enumerate(catalog.joins):
        problems = [issue for side in ("left", "right") for issue in _join_side(catalog, join, j_index, side)]
        yield from problems
        if problems:
            continue
        if join.left_table == join.right_table:
            yield Issue(("joins", j_index), f"join of table `{join.left_table}` to itself is not supported")
            continue
        a, b = root(join.left_table), root(join.right_table)
        if a == b:
            yield Issue(
                ("joins", j_index),
                f"join {join.left} = {join.right} closes a cycle: `{join.left_table}` and `{join.right_table}` "
                "are already connected by other joins, so the join path would be ambiguous; remove one join",
            )
        else:
            parent[a] = b


def _join_side(catalog: Catalog, join: Join, j_index: int, side: str) -> Iterator[Issue]:
    ref: str = getattr(join, side)
    table_name, column_name = ref.split(".", 1)
    table = catalog.table(table_name)
    if table is None:
        yield Issue(("joins", j_index, side), f"table `{table_name}` is not declared in tables")
    elif table.column(column_name) is None:
        yield Issue(("joins", j_index, side), f"column `{column_name}` is not declared in table `{table_name}`")


def check_dimensions(catalog: Catalog) -> Iterator[Issue]:
    """Dimension and attribute expressions parse, do not aggregate, and use columns of their own table."""
    dialect = catalog.warehouse.dialect
    for key, items in (("dimensions", catalog.dimensions), ("attributes", catalog.attributes)):
        for d_index, dim in enumerate(items):
            if dim.metric_time:
                if key == "attributes":
                    yield Issue((key, d_index, "metric_time"), "an attribute needs its own table and sql")
                continue
            table = dim.source_table
            if catalog.table(table) is None:
                yield Issue((key, d_index, "table"), f"table `{table}` is not declared in tables")
                continue
            path: YamlPath = (key, d_index, "sql")
            tree, issue = _parse_expression(dim.expression, dialect, path)
            if issue is not None:
                yield issue
                continue
            assert tree is not None
            if tree.find(exp.AggFunc) is not None:
                yield Issue(path, "a dimension must not aggregate; move aggregations into a metric")
            yield from _column_issues(catalog, tree, table, {table}, path)


def check_metrics(catalog: Catalog) -> Iterator[Issue]:
    """Simple metrics' SQL, filter, time column and dimensions against the tables and joins."""
    for m_index, metric in enumerate(catalog.metrics):
        if metric.is_derived:
            yield from _derived_formula(catalog, m_index, metric)
        else:
            yield from _simple_metric(catalog, m_index, metric)
        for d_index, name in enumerate(metric.dimensions):
            if catalog.dimension(name) is None:
                yield Issue(
                    ("metrics", m_index, "dimensions", d_index),
                    f"dimension `{name}` is not declared in dimensions or attributes",
                )


def _simple_metric(catalog: Catalog, m_index: int, metric: Metric) -> Iterator[Issue]:
    dialect = catalog.warehouse.dialect
    assert metric.table is not None
    assert metric.sql is not None
    if catalog.table(metric.table) is None:
        yield Issue(("metrics", m_index, "table"), f"table `{metric.table}` is not declared in tables")
        return
    reachable = reachable_tables(catalog, metric.table)
    tree, issue = _parse_expression(metric.sql, dialect, ("metrics", m_index, "sql"))
    if issue is not None:
        yield issue
    else:
        assert tree is not None
        if tree.find(exp.AggFunc) is None:
            yield Issue(("metrics", m_index, "sql"), "a metric's sql must aggregate, e.g. SUM(...) or COUNT(...)")
        yield from _column_issues(catalog, tree, metric.table, reachable, ("metrics", m_index, "sql"))
    if metric.filter is not None:
        path: YamlPath = ("metrics", m_index, "filter")
        tree, issue = _parse_expression(metric.filter, dialect, path)
        if issue is not None:
            yield issue
        else:
            assert tree is not None
            if tree.find(exp.AggFunc) is not None:
                yield Issue(path, "a filter is a row condition and must not aggregate")
            yield from _column_issues(catalog, tree, metric.table, reachable, path)
    if metric.time_column is not None:
        yield from _time_column(catalog, m_index, metric, reachable)
    yield from _metric_dimensions(catalog, m_index, metric, reachable)


def _metric_dimensions(catalog: Catalog, m_index: int, metric: Metric, reachable: set[str]) -> Iterator[Issue]:
    for d_index, name in enumerate(metric.dimensions):
        dim = catalog.dimension(name)
        if dim is None:
            continue
        if dim.metric_time:
            if metric.time_column is None:
                yield Issue(
                    ("metrics", m_index, "dimensions", d_index),
                    f"dimension `{name}` follows each metric's time column, and this metric has no time_column",
                )
            continue
        if catalog.table(dim.source_table) is not None and dim.source_table not in reachable:
            yield Issue(
                ("metrics", m_index, "dimensions", d_index),
                f"dimension `{name}` lives in table `{dim.source_table}`, which cannot be reached from "
                f"`{metric.table}` through many_to_one or one_to_one joins",
            )


def _time_column(catalog: Catalog, m_index: int, metric: Metric, reachable: set[str]) -> Iterator[Issue]:
    assert metric.time_column is not None
    assert metric.table is not None
    path: YamlPath = ("metrics", m_index, "time_column")
    table_name, _, column_name = metric.time_column.rpartition(".")
    table_name = table_name or metric.table
    table = catalog.table(table_name)
    column = table.column(column_name) if table is not None else None
    if table is None:
        yield Issue(path, f"table `{table_name}` is not declared in tables")
    elif column is None:
        yield Issue(path, f"column `{column_name}` is not declared in table `{table_name}`")
    elif table_name not in reachable:
        yield Issue(path, f"table `{table_name}` cannot be reached from `{metric.table}` through many_to_one joins")
    else:
        try:
            kind = exp.DataType.build(column.type, dialect=catalog.warehouse.dialect).this
        except SqlglotError:
            return  # reported by check_tables
        if kind not in exp.DataType.TEMPORAL_TYPES:
            yield Issue(path, f"column `{table_name}.{column_name}` has type {column.type}, not a date or timestamp")


def _derived_formula(catalog: Catalog, m_index: int, metric: Metric) -> Iterator[Issue]:
    assert metric.formula is not None
    path: YamlPath = ("metrics", m_index, "formula")
    tree, issue = _parse_expression(metric.formula, catalog.warehouse.dialect, path)
    if issue is not None:
        yield issue
        return
    assert tree is not None
    for node in tree.walk():
        if not isinstance(node, _ARITHMETIC) or (isinstance(node, exp.Literal) and node.is_string):
            yield Issue(path, "a formula may only combine metric names and numbers with + - * / and parentheses")
            return
    for column in tree.find_all(exp.Column):
        if column.table:
            yield Issue(path, f"`{column.sql()}` is not a metric name; a formula uses metric names, not columns")
        elif column.name == metric.name:
            yield Issue(path, f"derived metric `{metric.name}` uses itself")
        elif catalog.metric(column.name) is None:
            yield Issue(path, f"metric `{column.name}` is not declared in metrics")


def check_derived(catalog: Catalog) -> Iterator[Issue]:
    """Derived metrics form no cycle, and their dimensions are allowed by every input."""
    index = {m.name: i for i, m in enumerate(catalog.metrics)}
    inputs: dict[str, tuple[str, ...]] = {}
    for metric in catalog.metrics:
        try:
            inputs[metric.name] = tuple(n for n in catalog.metric_inputs(metric.name) if n in index)
        except SqlglotError:
            inputs[metric.name] = ()  # reported by check_metrics
    cyclic: set[str] = set()
    for name in inputs:
        cycle = _find_cycle(name, inputs)
        if cycle is not None and name not in cyclic:
            cyclic.update(cycle)
            yield Issue(
                ("metrics", index[name], "formula"),
                f"derived metric `{name}` depends on itself through {' -> '.join([*cycle, cycle[0]])}",
            )
    if cyclic:
        return
    for name, parts in inputs.items():
        metric = catalog.metrics[index[name]]
        for d_index, dim in enumerate(metric.dimensions if metric.is_derived else ()):
            for part in parts:
                if catalog.dimension(dim) is not None and dim not in catalog.allowed_dimensions(part):
                    yield Issue(
                        ("metrics", index[name], "dimensions", d_index),
                        f"dimension `{dim}` is not allowed for input metric `{part}`",
                    )
                    break


def _find_cycle(start: str, inputs: dict[str, tuple[str, ...]]) -> list[str] | None:
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in on_path:
            return path[path.index(name) :]
        if name in done:
            return None
        path.append(name)
        on_path.add(name)
        for nxt in inputs.get(name, ()):
            found = visit(nxt)
            if found is not None:
                return found
        path.pop()
        on_path.discard(name)
        done.add(name)
        return None

    found = visit(start)
    return found if found is not None and found[0] == start else None


def check_examples(catalog: Catalog) -> Iterator[Issue]:
    """Examples' SQL is one SELECT over declared tables and columns; named metrics and dimensions exist."""
    dialect = catalog.warehouse.dialect
    schema: dict[str, object] = {t.name: {c.name: "TEXT" for c in t.columns} for t in catalog.tables}
    for e_index, example in enumerate(catalog.examples):
        path: YamlPath = ("examples", e_index, "sql")
        if example.sql is not None:
            yield from _example_sql(example.sql, dialect, schema, path)
        yield from _example_query(catalog, e_index, example.query)
        for key, names, lookup in (
            ("metrics", example.metrics, catalog.metric),
            ("dimensions", example.dimensions, catalog.dimension),
        ):
            for n_index, name in enumerate(names):
                if lookup(name) is None:
                    yield Issue(("examples", e_index, key, n_index), f"{key[:-1]} `{name}` is not declared in {key}")


def _example_query(catalog: Catalog, e_index: int, query: dict[str, object] | None) -> Iterator[Issue]:
    """The names an example's structured query uses exist (the compiler checks the rest when it is shown)."""
    if query is None:
        return
    for key, lookup in (("metrics", catalog.metric), ("dimensions", catalog.dimension)):
        names = query.get(key, [])
        for n_index, name in enumerate(names if isinstance(names, list) else [names]):
            if not isinstance(name, str) or lookup(name) is None:
                yield Issue(("examples", e_index, "query", key, n_index), f"{key[:-1]} `{name}` is not declared")
    period = query.get("time_range")
    if isinstance(period, str) and period != "all_time" and catalog.period(period) is None:
        yield Issue(("examples", e_index, "query", "time_range"), f"period `{period}` is not one of the catalog's")


def _example_sql(sql: str, dialect: str, schema: dict[str, object], path: YamlPath) -> Iterator[Issue]:
    from sqlglot.optimizer.qualify import qualify

    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except SqlglotError as exc:
        yield Issue(path, f"SQL does not parse in dialect {dialect}: {_parse_error(exc)}")
        return
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        yield Issue(path, "must be exactly one SELECT statement")
        return
    tree = statements[0]
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if name and name not in ctes and name not in schema:
            yield Issue(path, f"table `{name}` is not declared in tables")
            return
    try:
        qualify(tree.copy(), schema=schema, dialect=dialect, validate_qualify_columns=True)
    except (OptimizeError, ParseError) as exc:
        yield Issue(path, f"SQL does not match the declared columns: {str(exc).splitlines()[0].rstrip('.')}")


CHECKS: tuple[Check, ...] = (
    check_duplicates,
    check_tables,
    check_joins,
    check_dimensions,
    check_metrics,
    check_derived,
    check_examples,
)


def run_checks(catalog: Catalog) -> list[Issue]:
    """Every issue every check finds, in check order."""
    return [issue for check in CHECKS for issue in check(catalog)]
