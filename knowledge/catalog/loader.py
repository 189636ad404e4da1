"""Load a metric catalog from YAML and check it, reporting every problem with its file, line and field."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from knowledge.catalog._checks import Issue, run_checks
from knowledge.catalog._yaml import Located, format_path, read_yaml
from knowledge.catalog.models import Catalog
from kubeai.errors import CatalogError

__all__ = ["check_catalog", "demo_catalog_path", "load_catalog"]


def demo_catalog_path() -> Path:
    """Path of the packaged demo catalog (``knowledge/catalog/demo/catalog.yaml``)."""
    return Path(str(resources.files("knowledge.catalog.demo").joinpath("catalog.yaml")))


def load_catalog(path: str | os.PathLike[str]) -> Catalog:
    """Load and check a catalog file.

    Args:
        path: The YAML file.

    Returns:
        The validated catalog.

    Raises:
        CatalogError: The first problem found, e.g. ``demo.yaml line 42, metrics[3].sql: column `amount_usd` is
            not declared in table `orders`.``; :func:`check_catalog` lists them all.
    """
    catalog, errors = check_catalog(path)
    if errors:
        first = errors[0]
        if len(errors) > 1:
            more = len(errors) - 1
            message = f"{str(first).rstrip('.')} (and {more} more problem{'s' if more > 1 else ''})."
            raise CatalogError(message, file=first.file, line=first.line, field=first.field)
        raise first
    assert catalog is not None
    return catalog


def check_catalog(path: str | os.PathLike[str]) -> tuple[Catalog | None, list[CatalogError]]:
    """Load a catalog file and collect every problem instead of stopping at the first.

    Returns:
        The catalog (``None`` when its shape is wrong) and the problems in file order; a catalog is usable only
        when the list is empty.
    """
    file = Path(path)
    try:
        located = read_yaml(file)
    except CatalogError as exc:
        return None, [exc]
    try:
        catalog = Catalog.model_validate(located.data)
    except ValidationError as exc:
        issues = [_issue_from_pydantic(error, located.data) for error in exc.errors()]
        return None, _to_errors(file, located, issues)
    return catalog, _to_errors(file, located, run_checks(catalog))


def _to_errors(file: Path, located: Located, issues: list[Issue]) -> list[CatalogError]:
    errors = []
    for issue in issues:
        line = located.line(issue.path)
        field = format_path(issue.path)
        where = f"{file.name} line {line}" if line is not None else file.name
        errors.append(CatalogError(f"{where}, {field}: {issue.message}.", file=str(file), line=line, field=field))
    errors.sort(key=lambda e: e.line or 0)
    return errors


def _issue_from_pydantic(error: ErrorDetails, data: Any) -> Issue:
    path: list[str | int] = []
    node = data
    loc = list(error["loc"])
    for index, part in enumerate(loc):
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]  # type: ignore[index]
        elif error["type"] in ("missing", "extra_forbidden") and index == len(loc) - 1:
            pass
        else:
            break
        path.append(part)
    kind = error["type"]
    if kind == "missing":
        return Issue(tuple(path), f"required field `{loc[-1]}` is missing")
    if kind == "extra_forbidden":
        return Issue(tuple(path), f"unknown field `{loc[-1]}`; check its spelling against docs/catalog.md")
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[0].lower() + message[1:] if message else "invalid value"
    if "input" in error and not isinstance(error["input"], dict | list):
        message = f"{message} (got {error['input']!r})"
    return Issue(tuple(path), message)
