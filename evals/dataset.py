"""Evaluation datasets: a ``dataset.yaml`` manifest beside a JSONL file of items, loaded and validated whole.

A dataset folder looks like::

    evals/datasets/metrics_qa/
        dataset.yaml        # name, version, kind, items, catalog, warehouse, reference_date, description
        questions.jsonl     # one item per line, in the model of its kind (evals.items)

The manifest says what the questions are about, so a user can bring their own warehouse, catalog and questions
by writing one folder. :func:`load_dataset` reads everything or nothing: any malformed line raises
:class:`~kubeai.errors.DatasetError` naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.items import (
    AppItem,
    CustomerServiceItem,
    DatasetItem,
    DocQAItem,
    MetricsQAItem,
    PlanningItem,
    RetrievalItem,
    ToolCallingItem,
)
from knowledge.warehouse.bundled import BUNDLED_DOMAINS
from kubeai.errors import DatasetError

__all__ = ["MANIFEST_NAME", "Dataset", "DatasetKind", "DatasetManifest", "eval_questions", "load_dataset"]

MANIFEST_NAME = "dataset.yaml"
MAX_BYTES = 64 * 1024 * 1024

DatasetKind = Literal["metrics_qa", "planning", "retrieval", "docqa", "tool_calling", "app", "customer_service"]

_MODELS: dict[str, type[DatasetItem]] = {
    "metrics_qa": MetricsQAItem,
    "planning": PlanningItem,
    "retrieval": RetrievalItem,
    "docqa": DocQAItem,
    "tool_calling": ToolCallingItem,
    "app": AppItem,
    "customer_service": CustomerServiceItem,
}

ItemT = TypeVar(
    "ItemT", MetricsQAItem, PlanningItem, RetrievalItem, DocQAItem, ToolCallingItem, AppItem, CustomerServiceItem
)


class DatasetManifest(BaseModel):
    """The header of a dataset: what it is and what it is about.

    Attributes:
        name: Short identifier, e.g. ``metrics_qa``.
        version: Dataset version, bumped whenever an item changes (``1``, ``1.2``, ``2.0.1``).
        kind: ``metrics_qa``, ``planning``, ``retrieval``, ``docqa``, ``tool_calling``, ``app`` (prompt apps) or
            ``customer_service`` (the support assistant's held-out questions).
        items: The JSONL file of items, relative to the manifest's folder.
        catalog: A bundled domain's catalog (``demo``, ``logistics``: ``knowledge.warehouse.bundled``), or a
            catalog file relative to the manifest's folder.
        warehouse: A bundled domain's generated warehouse (``demo``, ``logistics``, default seed), a DuckDB file
            relative to the manifest's folder, or a database URL.
        reference_date: The "today" that relative questions ("last month") are asked on.
        description: A sentence or two for reports.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = Field(pattern=r"^\d+(\.\d+){0,2}$")
    kind: DatasetKind
    items: str = Field(min_length=1)
    catalog: str | None = None
    warehouse: str | None = None
    reference_date: date | None = None
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A loaded, validated dataset.

    Attributes:
        manifest: Its header.
        root: The folder holding the manifest; relative paths resolve against it.
        items: The items, in file order, each validated against the model of ``manifest.kind``.
    """

    manifest: DatasetManifest
    root: Path
    items: tuple[DatasetItem, ...]

    def __len__(self) -> int:
        return len(self.items)

    def items_of(self, model: type[ItemT]) -> tuple[ItemT, ...]:
        """The items typed as ``model``.

        Args:
            model: The item model the caller expects, e.g. :class:`~evals.items.MetricsQAItem`.

        Returns:
            The items.

        Raises:
            DatasetError: The dataset is of another kind.
        """
        if _MODELS[self.manifest.kind] is not model:
            raise DatasetError(
                f"Dataset {self.manifest.name!r} holds {self.manifest.kind} items, not {model.__name__}; "
                "load a dataset of the kind this evaluation needs.",
                file=str(self.root / MANIFEST_NAME),
            )
        return tuple(item for item in self.items if isinstance(item, model))

    def catalog_path(self) -> Path | None:
        """The catalog file the questions are about, or ``None`` when the manifest names none."""
        if self.manifest.catalog is None:
            return None
        if self.manifest.catalog in BUNDLED_DOMAINS:
            return BUNDLED_DOMAINS[self.manifest.catalog].catalog_path()
        return (self.root / self.manifest.catalog).resolve()

    def warehouse_location(self) -> str | None:
        """A bundled domain's name, a database URL as written, an absolute DuckDB path, or ``None`` if none is named."""
        location = self.manifest.warehouse
        if location is None or location in BUNDLED_DOMAINS or "://" in location:
            return location
        return str((self.root / location).resolve())

    def warehouse_url(self, *, configured: str | None, catalog_path: Path, data_dir: Path | None = None) -> str:
        """The warehouse to query: the manifest's own, else ``configured``, else the catalog's connection.

        Args:
            configured: The project's ``warehouse.url``, used for ``warehouse: demo`` (or none named).
            catalog_path: The catalog the questions are about; its ``warehouse.connection`` is the last resort,
                resolved against the catalog's folder.
            data_dir: The project's data folder, where ``kubeai warehouse build-demo --domain NAME`` writes another
                bundled domain's warehouse (``warehouse: logistics`` is ``<data_dir>/logistics.duckdb``).

        Returns:
            A database URL or an absolute DuckDB path.
        """
        location = self.warehouse_location()
        bundled = BUNDLED_DOMAINS.get(location or "")
        if bundled is not None and bundled.name != "demo":
            if data_dir is not None:
                return str(data_dir / bundled.warehouse_file)
        elif location and location != "demo":
            return location
        elif configured:
            return configured
        from knowledge.catalog import load_catalog

        connection = load_catalog(catalog_path).warehouse.connection
        return str((catalog_path.resolve().parent / connection).resolve())


def load_dataset(path: str | Path) -> Dataset:
    """Load a dataset folder (or its ``dataset.yaml``) and validate every item.

    Args:
        path: The dataset folder, or its manifest file.

    Returns:
        The dataset, every item validated and ids unique.

    Raises:
        DatasetError: The manifest or the items file is missing, unreadable, not UTF-8 text, or malformed; the
            error names the file and, for an item, its 1-based line.
    """
    given = Path(path)
    manifest_path = given / MANIFEST_NAME if given.is_dir() else given
    if not manifest_path.is_file():
        raise DatasetError(
            f"No dataset manifest at {manifest_path}; pass a dataset folder holding {MANIFEST_NAME}.",
            file=str(manifest_path),
        )
    manifest = _read_manifest(manifest_path)
    root = manifest_path.parent
    items_path = root / manifest.items
    model = _MODELS[manifest.kind]
    items = _read_items(items_path, model)
    return Dataset(manifest=manifest, root=root, items=items)


def eval_questions(root: str | Path) -> list[str]:
    """Every question an evaluation asks, from every dataset under a folder: the texts to keep out of training.

    Args:
        root: A folder searched recursively for ``dataset.yaml`` manifests (e.g. ``evals/datasets``).

    Returns:
        The question of each metrics_qa, retrieval, docqa and customer_service item, the request of each planning
        item and the user messages of each tool_calling item, in dataset path then file order.

    Raises:
        DatasetError: A dataset under ``root`` does not load (see :func:`load_dataset`).
    """
    questions: list[str] = []
    for manifest in sorted(Path(root).rglob(MANIFEST_NAME)):
        for item in load_dataset(manifest).items:
            questions.extend(_item_questions(item))
    return questions


def _item_questions(item: DatasetItem) -> list[str]:
    if isinstance(item, PlanningItem):
        return [item.request]
    if isinstance(item, ToolCallingItem):
        return [message.content for message in item.question if message.role == "user"]
    if isinstance(item, AppItem):
        return [item.input]
    return [item.question]


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise DatasetError(
                f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MiB; split the dataset into smaller files.",
                file=str(path),
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist; check the manifest's items field.", file=str(path)) from None
    except OSError as exc:
        raise DatasetError(
            f"{path} could not be read ({exc.strerror}); check its permissions.", file=str(path)
        ) from None
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise DatasetError(
            f"{path} line {line} holds a NUL byte, so this is a binary file; pass a UTF-8 text file.",
            file=str(path),
            line=line,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(
            f"{path} line {line} is not valid UTF-8; save the file as UTF-8.", file=str(path), line=line
        ) from None


def _read_manifest(path: Path) -> DatasetManifest:
    import yaml

    text = _read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" line {line}" if line else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise DatasetError(
            f"{path}{where} is not valid YAML ({problem}); fix the manifest.", file=str(path), line=line
        ) from None
    if not isinstance(data, dict):
        raise DatasetError(
            f"{path} must be a YAML mapping with name, version, kind and items; fix the manifest.", file=str(path)
        )
    if isinstance(data.get("version"), int | float) and not isinstance(data.get("version"), bool):
        data["version"] = str(data["version"])
    try:
        return DatasetManifest.model_validate(data)
    except ValidationError as exc:
        field, message = _first_error(exc)
        raise DatasetError(f"{path} field {field}: {message}; fix the manifest.", file=str(path)) from None


def _read_items(path: Path, model: type[DatasetItem]) -> tuple[DatasetItem, ...]:
    text = _read_text(path)
    items: list[DatasetItem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{path} line {number} is not valid JSON ({exc.msg} at column {exc.colno}); write one JSON object "
                "per line.",
                file=str(path),
                line=number,
            ) from None
        if not isinstance(record, dict):
            raise DatasetError(
                f"{path} line {number} is a JSON {type(record).__name__}, not an object; write one JSON object "
                "per line.",
                file=str(path),
                line=number,
            )
        try:
            item = model.model_validate(record)
        except ValidationError as exc:
            field, message = _first_error(exc)
            raise DatasetError(
                f"{path} line {number} field {field}: {message}; fix that item.", file=str(path), line=number
            ) from None
        if item.id in seen:
            raise DatasetError(
                f"{path} line {number} repeats id {item.id!r} from line {seen[item.id]}; give every item its own id.",
                file=str(path),
                line=number,
            )
        seen[item.id] = number
        items.append(item)
    if not items:
        raise DatasetError(f"{path} holds no items; add one JSON object per line.", file=str(path))
    return tuple(items)


def _first_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "(item)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return field, message
