"""Rule no_cartesian_product: joins need a condition connecting both sides; one-row and declared-small sources
may stand alone."""

from __future__ import annotations

import pytest

from kubeai.errors import ConfigError, SQLGateError
from tests.unit.tools.sql_gate.sql_gate_samples import make_context
from tools.sql_gate import check_sql


def test_a_cross_join_names_both_sides_and_the_fix() -> None:
    with pytest.raises(SQLGateError) as caught:
        check_sql("SELECT count(*) FROM orders o CROSS JOIN users u", make_context())
    assert caught.value.rule == "no_cartesian_product"
    assert str(caught.value) == (
        "Rejected by no_cartesian_product: nothing in the query joins o to u (a CROSS JOIN, a comma join or ON "
        "TRUE without a condition on both), which pairs every row of one with every row of the other; join them "
        "on a key, such as ON o.<key> = u.<key>."
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT o.id, o.amount / t.total FROM orders o CROSS JOIN (SELECT sum(amount) AS total FROM orders) t",
        "SELECT o.id FROM orders o CROSS JOIN (SELECT id FROM users ORDER BY id LIMIT 1) u",
        "WITH a AS (SELECT sum(amount) AS x FROM orders) SELECT o.id, a.x FROM orders o, a",
        "SELECT count(*) FROM orders o JOIN users u ON o.user_id = u.id JOIN cities c ON c.id = u.city_id",
        "SELECT count(*) FROM orders o, users u WHERE o.amount > 10 AND u.id = o.user_id",
    ],
)
def test_connected_joins_and_one_row_sources_pass(sql: str) -> None:
    assert check_sql(sql, make_context()).rules[-4] == "no_cartesian_product"


@pytest.mark.parametrize(
    "sql",
    [
        # a windowed aggregate keeps every row, so it is not a one-row source
        "SELECT count(*) FROM orders o CROSS JOIN (SELECT sum(amount) OVER () AS s FROM orders) t",
        # grouped: one row per group
        "SELECT count(*) FROM orders o CROSS JOIN (SELECT status, sum(amount) AS s FROM orders GROUP BY status) t",
        "SELECT count(*) FROM orders o CROSS JOIN (SELECT id FROM users LIMIT 2) u",
    ],
)
def test_multi_row_sources_need_a_condition(sql: str) -> None:
    with pytest.raises(SQLGateError) as caught:
        check_sql(sql, make_context())
    assert caught.value.rule == "no_cartesian_product"


def test_declared_small_tables_may_be_cross_joined() -> None:
    grid = "SELECT r.region_name, ch.channel_name FROM regions r CROSS JOIN channels ch"
    spread = "SELECT r.region_name, count(*) FROM orders o CROSS JOIN regions r GROUP BY 1"
    with pytest.raises(SQLGateError):
        check_sql(grid, make_context())
    small = make_context(cross_join_tables=frozenset({"regions", "channels"}))
    assert check_sql(grid, small).tables == ("channels", "regions")
    assert check_sql(spread, small).tables == ("orders", "regions")
    with pytest.raises(SQLGateError) as caught:  # two large tables are still refused
        check_sql("SELECT count(*) FROM orders o, users u CROSS JOIN regions r", small)
    assert caught.value.rule == "no_cartesian_product"


def test_cross_join_tables_must_be_in_the_schema() -> None:
    with pytest.raises(ConfigError, match="cross_join_tables names tables not in the schema: calendar") as caught:
        make_context(cross_join_tables=frozenset({"calendar"}))
    assert caught.value.field == "cross_join_tables"
