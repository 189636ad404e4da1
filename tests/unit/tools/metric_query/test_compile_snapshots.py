"""Snapshot metrics, inner joins and filter-only attributes, on a tiny inline v2 catalog and an in-memory DuckDB.

The headcount table holds one row per employee per snapshot date (month ends, plus one mid-March snapshot). A
snapshot metric over a period takes the rows of the latest snapshot date inside it (or inside each time bucket);
the join to departments is declared ``type: inner``, so employees without a known department drop out when a
department is used. Each query is compiled, gated, executed and compared with hand-written SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
import sqlglot

from knowledge.catalog import Catalog
from kubeai.errors import MetricQueryError
from tools.metric_query import MetricQuery, compile_metric_query, metric_query_model
from tools.sql_gate import GateContext, check_sql

ROWS = [
    # snapshot_date, employee_id, dept_id, hire_date, salary, level
    ("2025-01-31", 1, 1, "2020-01-01", 100, 1),
    ("2025-01-31", 2, 2, "2021-06-01", 200, 2),
    ("2025-01-31", 3, None, "2024-12-01", 50, 1),
    ("2025-02-28", 1, 1, "2020-01-01", 100, 1),
    ("2025-02-28", 2, 2, "2021-06-01", 200, 2),
    ("2025-02-28", 3, None, "2024-12-01", 50, 1),
    ("2025-02-28", 4, 2, "2025-02-01", 300, 3),
    ("2025-03-15", 1, 1, "2020-01-01", 100, 1),
    ("2025-03-15", 2, 2, "2021-06-01", 200, 2),
    ("2025-03-15", 4, 2, "2025-02-01", 300, 3),
    ("2025-03-31", 1, 1, "2020-01-01", 110, 1),
    ("2025-03-31", 2, 2, "2021-06-01", 200, 2),
    ("2025-03-31", 4, 2, "2025-02-01", 300, 3),
    ("2025-03-31", 5, 1, "2025-03-20", 150, 2),
    ("2025-04-30", 2, 2, "2021-06-01", 210, 2),
    ("2025-04-30", 4, 2, "2025-02-01", 300, 3),
    ("2025-04-30", 5, 1, "2025-03-20", 150, 2),
]

CATALOG: dict[str, Any] = {
    "version": 2,
    "name": "tiny_hr",
    "warehouse": {"dialect": "duckdb", "connection": ":memory:"},
    "conventions": {"reference_date": "2025-04-30", "periods": ["last_month", "this_year", "q1"]},
    "tables": [
        {
            "name": "departments",
            "primary_key": ["dept_id"],
            "columns": [
                {"name": "dept_id", "type": "INTEGER"},
                {"name": "dept_name", "type": "VARCHAR", "values": ["Sales", "Engineering"]},
            ],
        },
        {
            "name": "headcount",
            "columns": [
                {"name": "snapshot_date", "type": "DATE"},
                {"name": "employee_id", "type": "INTEGER"},
                {"name": "dept_id", "type": "INTEGER"},
                {"name": "hire_date", "type": "DATE"},
                {"name": "salary", "type": "DECIMAL(12,2)"},
                {"name": "level", "type": "INTEGER"},
            ],
        },
    ],
    "joins": [
        {"left": "headcount.dept_id", "right": "departments.dept_id", "cardinality": "many_to_one", "type": "inner"}
    ],
    "dimensions": [
        {"name": "department", "label": {"en": "Department"}, "table": "departments", "sql": "departments.dept_name"},
        {
            "name": "snapshot_date",
            "label": {"en": "Snapshot date", "zh": "快照日期"},
            "table": "headcount",
            "sql": "headcount.snapshot_date",
            "type": "time",
            "time_grains": ["month", "quarter"],
        },
        {
            "name": "period",
            "label": {"en": "Period", "zh": "时间"},
            "type": "time",
            "metric_time": True,
            "time_grains": ["month", "quarter", "year"],
        },
    ],
    "attributes": [
        {
            "name": "hire_date",
            "label": {"en": "Hire date", "zh": "入职日期"},
            "table": "headcount",
            "sql": "headcount.hire_date",
            "type": "time",
        },
        {
            "name": "level",
            "label": {"en": "Level", "zh": "职级"},
            "table": "headcount",
            "sql": "headcount.level",
            "type": "number",
        },
    ],
    "metrics": [
        {
            "name": "headcount",
            "label": {"en": "Headcount", "zh": "人数"},
            "description": "Employees on the latest snapshot date.",
            "table": "headcount",
            "sql": "COUNT(*)",
            "time_column": "snapshot_date",
            "snapshot": True,
            "dimensions": ["department", "snapshot_date", "hire_date", "level"],
            "unit": "people",
            "format": "integer",
        },
        {
            "name": "payroll",
            "label": {"en": "Payroll", "zh": "工资总额"},
            "description": "Salaries on the latest snapshot date.",
            "table": "headcount",
            "sql": "SUM(headcount.salary)",
            "time_column": "snapshot_date",
            "snapshot": True,
            "dimensions": ["department", "snapshot_date", "hire_date", "level"],
            "unit": "CNY",
            "format": "currency",
        },
        {
            "name": "average_salary",
            "label": {"en": "Average salary", "zh": "平均工资"},
            "description": "Payroll per employee on the latest snapshot date.",
            "formula": "payroll / headcount",
            "unit": "CNY",
            "format": "currency",
        },
        {
            "name": "employee_days",
            "label": {"en": "Snapshot rows", "zh": "快照行数"},
            "description": "Rows over every snapshot date (not a snapshot metric).",
            "table": "headcount",
            "sql": "COUNT(*)",
            "time_column": "snapshot_date",
            "dimensions": ["department", "snapshot_date", "level"],
            "format": "integer",
        },
    ],
}


@pytest.fixture(scope="module")
def tiny() -> Catalog:
    return Catalog.model_validate(CATALOG)


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE departments (dept_id INTEGER, dept_name VARCHAR)")
    connection.execute("INSERT INTO departments VALUES (1, 'Sales'), (2, 'Engineering')")
    connection.execute(
        "CREATE TABLE headcount (snapshot_date DATE, employee_id INTEGER, dept_id INTEGER, hire_date DATE, "
        "salary DECIMAL(12,2), level INTEGER)"
    )
    connection.executemany("INSERT INTO headcount VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    yield connection
    connection.close()


def _run(tiny: Catalog, db: duckdb.DuckDBPyConnection, query: dict[str, Any]) -> list[tuple[Any, ...]]:
    metrics = [*query.get("metrics", []), *(n for c in query.get("calculations", []) for n in (c["left"], c["right"]))]
    dimensions = [*query.get("dimensions", []), *(f["dimension"] for f in query.get("filters", []))]
    model = metric_query_model(metrics, dimensions, periods=[p.name for p in tiny.periods()])
    compiled = compile_metric_query(model.model_validate(query), tiny)
    context = GateContext(schema=tiny.schema_mapping(), source_dialect="duckdb", target_dialect="duckdb")
    gated = check_sql(compiled.sql, context)
    check_sql(
        compiled.sql, GateContext(schema=tiny.schema_mapping(), source_dialect="duckdb", target_dialect="postgres")
    )
    postgres = sqlglot.parse_one(compiled.to_sql("postgres"), read="postgres").sql("duckdb")
    rows = db.execute(gated.sql).fetchall()
    assert db.execute(postgres).fetchall() == rows
    return [tuple(float(v) if isinstance(v, int | float) or hasattr(v, "as_tuple") else v for v in r) for r in rows]


def _expected(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return [
        tuple(float(v) if isinstance(v, int | float) or hasattr(v, "as_tuple") else v for v in r)
        for r in db.execute(sql).fetchall()
    ]


LATEST_IN_RANGE = "(SELECT MAX(snapshot_date) FROM headcount WHERE snapshot_date BETWEEN DATE '{}' AND DATE '{}')"


@pytest.mark.parametrize(
    ("query", "expected_sql"),
    [
        (
            {"metrics": ["headcount", "payroll"]},
            """SELECT COUNT(*), SUM(salary) FROM headcount
               WHERE snapshot_date = (SELECT MAX(snapshot_date) FROM headcount)""",
        ),
        (
            {"metrics": ["headcount"], "time_range": "q1"},
            "SELECT COUNT(*) FROM headcount WHERE snapshot_date = "
            + LATEST_IN_RANGE.format("2025-01-01", "2025-03-31"),
        ),
        (
            {"metrics": ["headcount", "employee_days"], "dimensions": ["department"], "time_range": "this_year"},
            """SELECT d.dept_name,
                      COUNT(*) FILTER (WHERE h.snapshot_date = DATE '2025-04-30'), COUNT(*)
               FROM headcount h JOIN departments d ON d.dept_id = h.dept_id
               GROUP BY 1 ORDER BY 2 DESC, 1""",
        ),
        (
            {
                "metrics": ["headcount", "payroll"],
                "dimensions": ["snapshot_date"],
                "time_grain": "month",
                "time_range": "q1",
            },
            """SELECT CAST(DATE_TRUNC('month', snapshot_date) AS DATE) AS m, COUNT(*), SUM(salary) FROM headcount
               WHERE snapshot_date IN (DATE '2025-01-31', DATE '2025-02-28', DATE '2025-03-31')
               GROUP BY 1 ORDER BY 1""",
        ),
        (
            {"metrics": ["headcount"], "dimensions": ["period"], "time_grain": "quarter"},
            """SELECT CAST(DATE_TRUNC('quarter', snapshot_date) AS DATE), COUNT(*) FROM headcount
               WHERE snapshot_date IN (DATE '2025-03-31', DATE '2025-04-30') GROUP BY 1 ORDER BY 1""",
        ),
        (
            {
                "metrics": ["headcount"],
                "dimensions": ["department", "period"],
                "time_grain": "month",
                "time_range": "this_year",
                "filters": [{"dimension": "period", "op": "lte", "values": ["2025-03-20"]}],
            },
            """SELECT d.dept_name, CAST(DATE_TRUNC('month', h.snapshot_date) AS DATE) AS m, COUNT(*)
               FROM headcount h JOIN departments d ON d.dept_id = h.dept_id
               WHERE h.snapshot_date IN (DATE '2025-01-31', DATE '2025-02-28', DATE '2025-03-15')
               GROUP BY 1, 2 ORDER BY 2, 1""",
        ),
        (
            {"metrics": ["headcount"], "time_range": "last_month", "comparison": "period_over_period"},
            """SELECT 4, 4, 0.0""",
        ),
        (
            {"metrics": ["headcount"], "filters": [{"dimension": "hire_date", "op": "gte", "values": ["2025-01-01"]}]},
            "SELECT COUNT(*) FROM headcount WHERE snapshot_date = DATE '2025-04-30' AND hire_date >= DATE '2025-01-01'",
        ),
        (
            {
                "metrics": ["payroll"],
                "dimensions": ["department"],
                "filters": [{"dimension": "level", "op": "gt", "values": ["1"]}],
            },
            """SELECT d.dept_name, SUM(h.salary) FROM headcount h JOIN departments d ON d.dept_id = h.dept_id
               WHERE h.snapshot_date = DATE '2025-04-30' AND h.level > 1 GROUP BY 1 ORDER BY 2 DESC""",
        ),
        (
            {
                "metrics": ["average_salary"],
                "dimensions": ["department", "period"],
                "time_grain": "month",
                "time_range": "q1",
            },
            """SELECT d.dept_name, CAST(DATE_TRUNC('month', h.snapshot_date) AS DATE) AS m,
                      SUM(h.salary)::DOUBLE / COUNT(*)
               FROM headcount h JOIN departments d ON d.dept_id = h.dept_id
               WHERE h.snapshot_date IN (DATE '2025-01-31', DATE '2025-02-28', DATE '2025-03-31')
               GROUP BY 1, 2 ORDER BY 2, 1""",
        ),
        (
            {"metrics": ["employee_days"], "dimensions": ["department"]},
            """SELECT d.dept_name, COUNT(*) FROM headcount h JOIN departments d ON d.dept_id = h.dept_id
               GROUP BY 1 ORDER BY 2 DESC""",
        ),
    ],
    ids=[
        "latest_snapshot_overall",
        "latest_snapshot_in_q1",
        "snapshot_vs_plain_count_by_department_inner_join",
        "latest_snapshot_in_each_month",
        "metric_time_quarters",
        "metric_time_filter_moves_the_latest_snapshot",
        "snapshot_compared_with_the_month_before",
        "filter_by_a_time_attribute",
        "filter_by_a_number_attribute",
        "derived_metric_of_two_snapshot_metrics",
        "inner_join_drops_rows_without_a_department",
    ],
)
def test_snapshot_inner_join_and_attribute_queries(
    tiny: Catalog, db: duckdb.DuckDBPyConnection, query: dict[str, Any], expected_sql: str
) -> None:
    assert _run(tiny, db, query) == _expected(db, expected_sql)


def test_inner_join_is_an_inner_join_in_the_metric_cte(tiny: Catalog) -> None:
    query = MetricQuery.model_validate({"metrics": ["employee_days"], "dimensions": ["department"]})
    sql = compile_metric_query(query, tiny).sql
    assert "INNER JOIN departments" in sql or " JOIN departments" in sql.replace("LEFT JOIN", "")
    assert "LEFT JOIN departments" not in sql
    total = MetricQuery.model_validate({"metrics": ["employee_days"]})
    assert "JOIN departments" not in compile_metric_query(total, tiny).sql  # no department: no join, every row


def test_output_columns_of_a_snapshot_metric(tiny: Catalog) -> None:
    query = MetricQuery.model_validate({"metrics": ["headcount"], "dimensions": ["department"]})
    info = compile_metric_query(query, tiny).column_info
    assert [(c.name, c.kind, c.unit, c.format, c.label_en, c.label_zh) for c in info] == [
        ("department", "dimension", None, "text", "Department", "Department"),
        ("headcount", "metric", "people", "integer", "Headcount", "人数"),
    ]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"metrics": ["headcount"], "dimensions": ["hire_date"]}, "dimensions[0]", "`hire_date` is an attribute"),
        ({"metrics": ["headcount"], "dimensions": ["level"]}, "dimensions[0]", "filtered by it but not grouped"),
        (
            {"metrics": ["headcount"], "filters": [{"dimension": "level", "op": "gt", "values": ["senior"]}]},
            "filters[0].values",
            "not a number",
        ),
        (
            {"metrics": ["employee_days"], "filters": [{"dimension": "hire_date", "values": ["2025-01-01"]}]},
            "filters[0].dimension",
            "cannot be filtered by `hire_date`",
        ),
        (
            {"metrics": ["headcount"], "filters": [{"dimension": "hire_date", "values": ["last year"]}]},
            "filters[0].values",
            "not an ISO date",
        ),
    ],
)
def test_attribute_errors(tiny: Catalog, query: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(MetricQueryError, match=message) as info:
        compile_metric_query(MetricQuery.model_validate(query), tiny)
    assert info.value.field == field
