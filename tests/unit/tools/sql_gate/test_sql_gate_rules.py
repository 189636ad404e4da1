"""Each gate rule alone: what it rejects, what it rewrites, and that it never mutates its input."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from kubeai.errors import SQLGateError
from tests.unit.tools.sql_gate.sql_gate_samples import make_context
from tools.sql_gate import RULES, GateContext, GateState, Rule, check_sql
from tools.sql_gate.rules import (
    allowlist_columns,
    allowlist_tables,
    lexical,
    limit,
    no_dangerous_functions,
    parse,
    qualify,
    read_only,
    scope_filters,
    transpile,
)

CONTEXT = make_context()
NO_FILTERS = make_context(scope_filters={})


def _through(sql: str, last: Rule, context: GateContext = CONTEXT) -> GateState:
    """The state after running every rule up to and including ``last``."""
    state = GateState(sql=sql)
    for rule in RULES:
        state = rule(state, context)
        if rule is last:
            return state
    raise AssertionError(f"{last.__name__} is not in RULES")


def _before(sql: str, rule: Rule, context: GateContext = CONTEXT) -> GateState:
    index = RULES.index(rule)
    state = GateState(sql=sql)
    for earlier in RULES[:index]:
        state = earlier(state, context)
    return state


def _rejects(rule: Rule, state: GateState, context: GateContext = CONTEXT) -> str:
    with pytest.raises(SQLGateError) as caught:
        rule(state, context)
    assert caught.value.rule == rule.__name__
    return str(caught.value)


def test_rules_run_in_the_documented_order() -> None:
    assert [rule.__name__ for rule in RULES] == [
        "lexical",
        "parse",
        "read_only",
        "no_dangerous_functions",
        "allowlist_tables",
        "qualify",
        "allowlist_columns",
        "no_cartesian_product",
        "scope_filters",
        "limit",
        "transpile",
    ]


# lexical ---------------------------------------------------------------------------------------------------


def test_lexical_keeps_tokens_and_allows_cjk_literals_aliases_and_comments() -> None:
    sql = "SELECT region_name AS 大区 FROM regions WHERE region_name = '华东' -- 只看华东，按月\n"
    state = lexical(GateState(sql=sql), CONTEXT)
    assert state.rules == ("lexical",)
    assert state.expression is None
    assert any(token.text == "华东" for token in state.tokens)


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT id FROM оrders", "U+043E CYRILLIC SMALL LETTER O"),
        ("ＳＥＬＥＣＴ 1", "normalizes to 'SELECT'"),
        ("SELECT 1\u200b", "U+200B ZERO WIDTH SPACE"),
        ("SELECT 1 -- \u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("", "empty"),
    ],
)
def test_lexical_names_the_offending_character(sql: str, fragment: str) -> None:
    assert fragment in _rejects(lexical, GateState(sql=sql))


def test_lexical_limits_length_from_the_context() -> None:
    small = make_context(max_sql_chars=30)
    message = _rejects(lexical, GateState(sql="SELECT id, amount FROM orders WHERE 1 = 1"), small)
    assert "limit of 30" in message


def test_lexical_allows_any_text_inside_string_literals() -> None:
    state = lexical(GateState(sql="SELECT 'ＳＥＬＥＣＴ оrders \u200b\u202e'"), CONTEXT)
    assert len(state.tokens) == 2


# parse -----------------------------------------------------------------------------------------------------


def test_parse_needs_tokens_first() -> None:
    assert "lexical" in _rejects(parse, GateState(sql="SELECT 1"))


def test_parse_accepts_one_statement_and_a_trailing_semicolon() -> None:
    state = parse(lexical(GateState(sql="SELECT id FROM orders WHERE status = 'a;b';"), CONTEXT), CONTEXT)
    assert isinstance(state.expression, exp.Select)
    assert state.rules == ("lexical", "parse")


def test_parse_rejects_stacked_statements_naming_them() -> None:
    message = _rejects(parse, _before("SELECT 1; DROP TABLE orders", parse))
    assert "2 statements (SELECT, DROP)" in message


def test_parse_reports_the_parser_position() -> None:
    message = _rejects(parse, _before("SELECT id FROM orders WHERE (id = 1", parse))
    assert "line 1" in message


# read_only -------------------------------------------------------------------------------------------------


def test_read_only_message_matches_the_documented_example() -> None:
    message = _rejects(read_only, _before("DROP TABLE orders", read_only))
    assert message == "Rejected by read_only: the statement is a DROP TABLE, only SELECT queries may run."


@pytest.mark.parametrize(
    "sql",
    [
        "WITH x AS (DELETE FROM orders RETURNING *) SELECT * FROM x",
        "SELECT * INTO t FROM orders",
        "SELECT id FROM orders FOR UPDATE",
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT n FROM t",
    ],
)
def test_read_only_rejects_writes_locks_and_recursion_inside_a_select(sql: str) -> None:
    _rejects(read_only, _before(sql, read_only))


def test_read_only_accepts_set_operations_and_ctes() -> None:
    state = _before("WITH a AS (SELECT id FROM orders) SELECT id FROM a UNION SELECT id FROM users", read_only)
    assert read_only(state, CONTEXT).rules[-1] == "read_only"


# no_dangerous_functions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT * FROM read_csv('x')", "table function read_csv()"),
        ("SELECT read_text('x')", "read_text() can read files"),
        ("SELECT * FROM 'x.csv'", "string literal 'x.csv'"),
        ("SELECT md5(name) FROM users", "md5() is not on the gate's function allowlist"),
        ("SELECT ?", "parameter ?"),
    ],
)
def test_no_dangerous_functions_explains_the_rejection(sql: str, fragment: str) -> None:
    message = _rejects(no_dangerous_functions, _before(sql, no_dangerous_functions))
    assert fragment in message


def test_no_dangerous_functions_reports_the_name_as_written() -> None:
    message = _rejects(
        no_dangerous_functions, _before("SELECT lpad(name, 9, 'x') FROM products", no_dangerous_functions)
    )
    assert "lpad()" in message


@pytest.mark.parametrize(
    ("sql", "allowed"),
    [
        ("SELECT CAST(amount AS DECIMAL(10, 2)) AS a FROM orders", True),
        ("SELECT created_at::DATE AS d FROM orders", True),
        ("SELECT CAST(id AS VARCHAR) AS s FROM orders", True),
        ("SELECT CAST(id AS JSON) AS j FROM orders", False),
        ("SELECT CAST(id AS INT[]) AS a FROM orders", False),
    ],
)
def test_no_dangerous_functions_checks_cast_targets(sql: str, allowed: bool) -> None:
    state = _before(sql, no_dangerous_functions)
    if allowed:
        assert no_dangerous_functions(state, CONTEXT).rules[-1] == "no_dangerous_functions"
    else:
        assert "casting to" in _rejects(no_dangerous_functions, state)


def test_no_dangerous_functions_accepts_a_quoted_table_that_is_not_a_literal() -> None:
    state = _before('SELECT "id" FROM "orders"', no_dangerous_functions)
    assert no_dangerous_functions(state, CONTEXT).rules[-1] == "no_dangerous_functions"


def test_extra_functions_extend_the_anonymous_allowlist() -> None:
    sql = "SELECT my_fiscal_quarter(created_at) AS q FROM orders"
    _rejects(no_dangerous_functions, _before(sql, no_dangerous_functions))
    extended = make_context(extra_functions=frozenset({"my_fiscal_quarter"}))
    state = no_dangerous_functions(_before(sql, no_dangerous_functions, extended), extended)
    assert state.rules[-1] == "no_dangerous_functions"


# allowlist_tables ------------------------------------------------------------------------------------------


def test_allowlist_tables_resolves_cte_names_and_records_real_tables() -> None:
    sql = "WITH sqlite_master AS (SELECT id FROM orders) SELECT id FROM sqlite_master"
    state = allowlist_tables(_before(sql, allowlist_tables), CONTEXT)
    assert state.tables == ("orders",)


def test_allowlist_tables_normalizes_case_per_dialect() -> None:
    duck = allowlist_tables(_before('SELECT 1 FROM "ORDERS"', allowlist_tables), CONTEXT)
    assert duck.tables == ("orders",)
    postgres = make_context(source_dialect="postgres")
    message = _rejects(allowlist_tables, _before('SELECT 1 FROM "ORDERS"', allowlist_tables, postgres), postgres)
    assert "'ORDERS' is not allowed" in message


def test_allowlist_tables_lists_the_allowed_tables() -> None:
    message = _rejects(allowlist_tables, _before("SELECT * FROM pg_catalog.pg_user", allowlist_tables))
    assert "schema-qualified" in message
    assert "orders" in message


# qualify ---------------------------------------------------------------------------------------------------


def test_qualify_expands_stars_and_names_every_source() -> None:
    state = qualify(_before("SELECT * FROM regions", qualify), CONTEXT)
    assert state.expression is not None
    columns = [column.sql() for column in state.expression.find_all(exp.Column)]
    assert columns == ['"regions"."id"', '"regions"."region_name"', '"regions"."region_code"']


def test_qualify_error_lists_the_columns_to_choose_from() -> None:
    message = _rejects(qualify, _before("SELECT amout FROM orders", qualify))
    assert "column 'amout' could not be resolved" in message
    assert "orders(amount," in message


# allowlist_columns -----------------------------------------------------------------------------------------


def test_allowlist_columns_records_columns_through_ctes() -> None:
    sql = "WITH a AS (SELECT user_id, amount FROM orders) SELECT user_id, sum(amount) AS s FROM a GROUP BY 1"
    state = allowlist_columns(_before(sql, allowlist_columns), CONTEXT)
    assert state.columns == ("orders.amount", "orders.user_id")


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT users FROM users", "whole table row"),
        ("SELECT #2 FROM users", "positional column #2"),
        ("SELECT id FROM users u WHERE u.* IS NOT NULL", '"u".* outside the SELECT list'),
    ],
)
def test_allowlist_columns_rejects_whole_row_reads(sql: str, fragment: str) -> None:
    assert fragment in _rejects(allowlist_columns, _before(sql, allowlist_columns))


def test_allowlist_columns_keeps_count_star() -> None:
    state = allowlist_columns(_before("SELECT count(*) AS n FROM users", allowlist_columns), CONTEXT)
    assert state.columns == ()


def test_allowlist_columns_without_restrictions_allows_every_schema_column() -> None:
    open_context = make_context(allowed_columns={})
    state = allowlist_columns(_before("SELECT email FROM users", allowlist_columns, open_context), open_context)
    assert state.columns == ("users.email",)


# scope_filters ---------------------------------------------------------------------------------------------


def test_scope_filters_wrap_every_occurrence_and_keep_aliases() -> None:
    sql = "SELECT o.id FROM orders o LEFT JOIN refunds r ON r.order_id = o.id WHERE o.id IN (SELECT id FROM orders)"
    state = scope_filters(_before(sql, scope_filters), CONTEXT)
    assert state.expression is not None
    wrapped = list(state.expression.find_all(exp.Subquery))
    aliases = sorted(subquery.alias for subquery in wrapped if subquery.alias)
    assert aliases == ["o", "orders", "r"]
    predicates = [where.this.sql() for where in state.expression.find_all(exp.Where)]
    assert predicates.count('"orders"."tenant_id" = 42') == 2
    assert predicates.count('"tenant_id" = 42') == 1


def test_scope_filters_do_not_mutate_their_input() -> None:
    before = _before("SELECT id FROM orders", scope_filters)
    assert before.expression is not None
    snapshot = before.expression.sql()
    scope_filters(before, CONTEXT)
    assert before.expression.sql() == snapshot


def test_scope_filters_leave_unfiltered_tables_alone() -> None:
    before = _before("SELECT id FROM products", scope_filters)
    after = scope_filters(before, CONTEXT)
    assert after.expression == before.expression


# limit -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT id FROM orders", 500),
        ("SELECT id FROM orders LIMIT 7", 7),
        ("SELECT id FROM orders LIMIT 100000000", 500),
        ("SELECT id FROM orders UNION SELECT id FROM refunds", 500),
        ("SELECT id FROM orders FETCH FIRST 3 ROWS ONLY", 3),
    ],
)
def test_limit_adds_or_caps_the_outer_limit(sql: str, expected: int) -> None:
    state = limit(_before(sql, limit, NO_FILTERS), NO_FILTERS)
    assert state.expression is not None
    node = state.expression.args["limit"]
    assert isinstance(node, exp.Limit)
    assert int(node.expression.name) == expected


def test_limit_leaves_inner_limits_alone() -> None:
    state = limit(_before("SELECT id FROM (SELECT id FROM orders LIMIT 100000) AS t", limit), CONTEXT)
    assert state.expression is not None
    inner = state.expression.find(exp.Subquery)
    assert inner is not None
    assert "LIMIT 100000" in inner.sql()


# transpile -------------------------------------------------------------------------------------------------


def test_transpile_drops_comments_and_quotes_identifiers() -> None:
    sql = "SELECT id /* keep out */ FROM orders -- and this\n"
    state = transpile(_before(sql, transpile, NO_FILTERS), NO_FILTERS)
    assert state.output == 'SELECT "orders"."id" AS "id" FROM "orders" AS "orders" LIMIT 500'


@pytest.mark.parametrize("target", ["postgres", "trino", "clickhouse", "spark"])
def test_transpile_renders_the_target_dialect(target: str) -> None:
    context = make_context(target_dialect=target, scope_filters={})
    sql = "SELECT date_trunc('month', created_at) AS m, count(DISTINCT user_id) AS n FROM orders GROUP BY 1"
    state = transpile(_before(sql, transpile, context), context)
    assert state.output is not None
    assert len(sqlglot.parse(state.output, read=target)) == 1


def test_transpile_rejects_what_the_target_cannot_express() -> None:
    context = make_context(target_dialect="postgres", scope_filters={})
    # DuckDB's any_value skips NULLs; PostgreSQL has no IGNORE NULLS form for it.
    message = _rejects(transpile, _before("SELECT any_value(status) AS s FROM orders", transpile, context), context)
    assert "cannot be written in postgres" in message
    assert "\n" not in message


# check_sql -------------------------------------------------------------------------------------------------


def test_check_sql_fails_closed_on_an_unexpected_error() -> None:
    def exploding(state: GateState, context: GateContext) -> GateState:
        raise ValueError("boom")

    with pytest.raises(SQLGateError) as caught:
        check_sql("SELECT 1", CONTEXT, rules=(lexical, parse, exploding))
    assert caught.value.rule == "exploding"
    assert "ValueError: boom" in str(caught.value)


def test_check_sql_rejects_deep_nesting_without_a_traceback() -> None:
    sql = "SELECT " + "(" * 3000 + "1" + ")" * 3000
    with pytest.raises(SQLGateError) as caught:
        check_sql(sql, make_context(max_sql_chars=100_000))
    assert caught.value.rule in {"parse", "read_only"}


def test_check_sql_without_transpile_produces_no_result() -> None:
    with pytest.raises(SQLGateError) as caught:
        check_sql("SELECT 1", CONTEXT, rules=RULES[:-1])
    assert caught.value.rule == "transpile"


def test_check_sql_result_lists_tables_columns_and_rules() -> None:
    result = check_sql(
        "SELECT u.name, count(*) AS n FROM orders o JOIN users u ON o.user_id = u.id GROUP BY 1", CONTEXT
    )
    assert result.tables == ("orders", "users")
    assert result.columns == ("orders.user_id", "users.id", "users.name")
    assert result.rules == tuple(rule.__name__ for rule in RULES)
    assert result.dialect == "duckdb"
