"""GateContext validates its settings and names the offending field."""

from __future__ import annotations

from typing import Any

import pytest

from kubeai.errors import ConfigError
from tests.unit.tools.sql_gate.sql_gate_samples import make_context


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"schema": {}}, "schema"),
        ({"schema": {"Orders": {"id": "INT"}}}, "schema.Orders"),
        ({"schema": {"orders": {}}}, "schema.orders"),
        ({"schema": {"orders": {"id": "NOT A TYPE ((("}}}, "schema.orders.id"),
        ({"allowed_columns": {"nope": frozenset({"id"})}}, "allowed_columns.nope"),
        ({"allowed_columns": {"users": frozenset({"ssn"})}}, "allowed_columns.users"),
        ({"source_dialect": "cobol"}, "source_dialect"),
        ({"target_dialect": "excel"}, "target_dialect"),
        ({"max_rows": 0}, "max_rows"),
        ({"max_sql_chars": 0}, "max_sql_chars"),
        ({"scope_filters": {"nope": "tenant_id = 1"}}, "scope_filters.nope"),
        ({"scope_filters": {"orders": "no_such_column = 1"}}, "scope_filters.orders"),
        ({"scope_filters": {"orders": "orders.tenant_id = ("}}, "scope_filters.orders"),
        ({"scope_filters": {"orders": "tenant_id IN (SELECT id FROM admin_users)"}}, "scope_filters.orders"),
        ({"extra_functions": frozenset({"read_csv"})}, "extra_functions"),
        ({"extra_functions": frozenset({"duckdb_settings"})}, "extra_functions"),
        ({"extra_functions": frozenset({"Bad-Name"})}, "extra_functions"),
    ],
)
def test_invalid_settings_raise_config_error_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_context(**overrides)
    assert caught.value.field == field
    assert str(caught.value).endswith(".")


def test_context_is_frozen_and_copies_its_inputs() -> None:
    schema = {"orders": {"id": "INT", "tenant_id": "INT"}}
    context = make_context(schema=schema, allowed_columns={}, scope_filters={"orders": "tenant_id = 1"})
    schema["orders"]["secret"] = "INT"
    assert "secret" not in context.schema["orders"]
    with pytest.raises(AttributeError):
        context.max_rows = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        context.schema["orders"]["x"] = "INT"  # type: ignore[index]
    assert context.readable_columns("orders") == frozenset({"id", "tenant_id"})
