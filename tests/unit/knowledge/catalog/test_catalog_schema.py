from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from knowledge.catalog import catalog_json_schema, demo_catalog_path, packaged_json_schema


def _demo_as_json() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(demo_catalog_path().read_text(encoding="utf-8"))
    # YAML reads an unquoted date as a date; JSON has only the string form.
    return json.loads(json.dumps(data, default=str))


def test_packaged_schema_matches_the_model() -> None:
    assert packaged_json_schema() == catalog_json_schema(), (
        "knowledge/catalog/catalog.schema.json is stale; regenerate it with "
        "`kubeai catalog schema > knowledge/catalog/catalog.schema.json`"
    )


def test_demo_catalog_validates_against_the_packaged_schema() -> None:
    validator = jsonschema.Draft202012Validator(packaged_json_schema(), format_checker=jsonschema.FormatChecker())
    validator.validate(_demo_as_json())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("metrics", 0, "colour"), "red"),
        (("joins", 0, "cardinality"), "many_to_many"),
        (("dimensions", 0, "name"), "Not A Name"),
        (("warehouse", "reference_date"), "yesterday"),
    ],
)
def test_schema_rejects_what_the_loader_rejects(path: tuple[str | int, ...], value: str) -> None:
    data = _demo_as_json()
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    validator = jsonschema.Draft202012Validator(packaged_json_schema(), format_checker=jsonschema.FormatChecker())
    assert list(validator.iter_errors(data))
