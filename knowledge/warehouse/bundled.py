"""The bundled business domains by name: a generated warehouse and the packaged catalog that describes it.

``demo`` is the e-commerce business (:mod:`knowledge.warehouse.demo`), ``logistics`` the parcel-delivery company
(:mod:`knowledge.warehouse.logistics`). Dataset manifests (``catalog: logistics``, ``warehouse: logistics``) and
``kubeai warehouse build-demo --domain`` look domains up here; a name that is not registered is an error, never an
import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from knowledge.warehouse._build import WarehouseReport
from kubeai.errors import ConfigError

__all__ = ["BUNDLED_DOMAINS", "BundledDomain", "WarehouseReport", "bundled_domain"]


class _Builder(Protocol):
    def __call__(
        self, path: str | os.PathLike[str], *, size: int | None, seed: int | None, overwrite: bool
    ) -> WarehouseReport: ...


@dataclass(frozen=True, kw_only=True)
class BundledDomain:
    """One bundled domain.

    Attributes:
        name: The name manifests and the CLI use (``demo``, ``logistics``).
        description: A few words for help texts.
        catalog_package: The package holding its ``catalog.yaml``.
        warehouse_file: The default DuckDB file name, under the project's data folder.
        size_unit: What the size of a build counts (``orders``, ``shipments``).
        build: Generates the warehouse: ``build(path, size=None, seed=None, overwrite=True)``, ``None`` meaning
            the generator's default.
    """

    name: str
    description: str
    catalog_package: str
    warehouse_file: str
    size_unit: str
    build: _Builder

    def catalog_path(self) -> Path:
        """Path of the packaged catalog file."""
        return Path(str(resources.files(self.catalog_package).joinpath("catalog.yaml")))


def _build_demo(
    path: str | os.PathLike[str], *, size: int | None, seed: int | None, overwrite: bool
) -> WarehouseReport:
    from knowledge.warehouse.demo import build_demo_warehouse

    options = {"orders": size, "seed": seed}
    return build_demo_warehouse(path, overwrite=overwrite, **{k: v for k, v in options.items() if v is not None})


def _build_logistics(
    path: str | os.PathLike[str], *, size: int | None, seed: int | None, overwrite: bool
) -> WarehouseReport:
    from knowledge.warehouse.logistics import build_logistics_warehouse

    options = {"shipments": size, "seed": seed}
    return build_logistics_warehouse(path, overwrite=overwrite, **{k: v for k, v in options.items() if v is not None})


BUNDLED_DOMAINS: Mapping[str, BundledDomain] = MappingProxyType(
    {
        "demo": BundledDomain(
            name="demo",
            description="e-commerce: orders, users, products, refunds",
            catalog_package="knowledge.catalog.demo",
            warehouse_file="demo.duckdb",
            size_unit="orders",
            build=_build_demo,
        ),
        "logistics": BundledDomain(
            name="logistics",
            description="parcel delivery: shipments, hubs, couriers, vehicles, attempts, claims",
            catalog_package="knowledge.catalog.logistics",
            warehouse_file="logistics.duckdb",
            size_unit="shipments",
            build=_build_logistics,
        ),
    }
)


def bundled_domain(name: str) -> BundledDomain:
    """The bundled domain called ``name``.

    Args:
        name: ``demo`` or ``logistics``.

    Returns:
        The domain.

    Raises:
        ConfigError: No bundled domain has that name.
    """
    domain = BUNDLED_DOMAINS.get(name)
    if domain is None:
        known = ", ".join(sorted(BUNDLED_DOMAINS))
        raise ConfigError(f"No bundled domain is called {name!r}; pick one of {known}.")
    return domain
