"""``GET /adapters``: the models a run can use, each with its model card, for the web chat's picker.

The registered models (``models`` in the configuration: the base model and its LoRA adapters, and which agent uses
which by default) and the trained adapter versions in ``<data_dir>/adapters`` with the role each serves.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.api.auth import Caller
from app.api.service import Service
from kubeai.config import ProjectConfig
from serving.adapters import AdapterStore, AdapterVersion
from serving.registry import ModelRegistry

__all__ = ["ModelEntry", "router"]

router = APIRouter(tags=["models"])


class ModelEntry(BaseModel):
    """A model or adapter with its card."""

    name: str
    kind: Literal["base", "adapter", "trained"]
    base: str | None = None
    description: str = ""
    skills: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    used_by: list[str] = Field(default_factory=list, description="Agents that use it by default.")
    role: str | None = Field(default=None, description="What a trained version was trained for.")
    active: bool = Field(default=False, description="A trained version that currently serves its role.")
    gate_passed: bool | None = None


def _trained(version: AdapterVersion, current: dict[str, str]) -> ModelEntry:
    nested = version.card.get("card")  # a shipped adapter's card nests it; a trained version's is flat
    card: dict[str, Any] = nested if isinstance(nested, dict) else version.card
    return ModelEntry(
        name=version.name,
        kind="trained",
        description=str(card.get("description", "")),
        skills=[str(s) for s in card.get("skills", [])],
        languages=[str(s) for s in card.get("languages", [])],
        role=version.role,
        active=version.role is not None and current.get(version.role) == version.name,
        gate_passed=version.gate_passed,
    )


def models_of(config: ProjectConfig) -> list[ModelEntry]:
    """The registered models, then the trained adapter versions (newest first).

    Raises:
        ServingError: The adapter store's routes or a version's card cannot be read.
    """
    registry = ModelRegistry(config.models)
    agents = ("metrics", "planner")
    found = [
        ModelEntry(
            name=model.name,
            kind=model.kind,
            base=model.base,
            description=model.card.description,
            skills=list(model.card.skills),
            languages=list(model.card.languages),
            used_by=[a for a in agents if config.models.model_for(a) == model.name],
        )
        for model in registry
    ]
    store = AdapterStore(config.data_dir / "adapters")
    current = store.current()
    return found + [_trained(v, current) for v in store.versions() if v.name not in registry]


@router.get("/adapters", summary="List the models and adapters with their cards")
async def list_adapters(request: Request, _caller: Caller) -> list[ModelEntry]:
    """The base model, its adapters and the trained adapter versions, each with its model card."""
    service: Service = request.app.state.service
    return await asyncio.to_thread(models_of, service.config)
