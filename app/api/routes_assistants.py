"""``/assistants``: the agents the API serves, and every prompt app as ``app:<name>`` (graph ``app``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.apps import APP_GRAPH, describe
from app.api.apps import assistant_id as app_id
from app.api.auth import Caller
from app.api.errors import ApiError
from app.api.schemas import Assistant, AssistantSearch
from app.api.service import ASSISTANTS, Service

__all__ = ["router"]

router = APIRouter(tags=["assistants"])


def _assistants(request: Request) -> list[Assistant]:
    service: Service = request.app.state.service
    started = request.app.state.started_at
    agents = [
        Assistant(
            assistant_id=name,
            graph_id=name,
            name=label,
            description=description,
            created_at=started,
            updated_at=started,
        )
        for name, (label, description) in ASSISTANTS.items()
        if name != "planner" or service.agents.planner is not None
    ]
    apps = [
        Assistant(assistant_id=app_id(app), graph_id=APP_GRAPH, created_at=started, updated_at=started, **describe(app))
        for app in service.agents.apps or ()
    ]
    return agents + apps


@router.get("/assistants", summary="List the assistants")
def list_assistants(request: Request, _caller: Caller) -> list[Assistant]:
    """The metrics agent (``metrics``), the planner (``planner``) and the prompt apps (``app:<name>``).

    An app's ``metadata`` holds its Chinese description, its output contract (``kind``, the ``json_schema`` its
    answer is decoded under, the ``choices`` of a choice list, the named ``schema`` and whether it ``renders`` a
    page), chain of thought, its model and where it comes from (``bundled`` or ``apps.dir``).
    """
    return _assistants(request)


@router.post("/assistants/search", summary="Search the assistants")
def search_assistants(request: Request, _caller: Caller, body: AssistantSearch | None = None) -> list[Assistant]:
    """Assistants whose graph id matches (all when none is given)."""
    query = body or AssistantSearch()
    found = [a for a in _assistants(request) if query.graph_id in (None, a.graph_id)]
    return found[query.offset : query.offset + query.limit]


@router.get("/assistants/{assistant_id}", summary="Get one assistant")
def get_assistant(request: Request, assistant_id: str, _caller: Caller) -> Assistant:
    """One assistant by id."""
    for assistant in _assistants(request):
        if assistant.assistant_id == assistant_id:
            return assistant
    raise ApiError(
        f"No assistant {assistant_id!r}; GET /assistants lists them.",
        zh=f"没有助手 {assistant_id!r}；可用的助手见 GET /assistants。",
        status_code=404,
    )
