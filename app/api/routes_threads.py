"""``/threads``: conversations owned by the key's user, kept across restarts."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from fastapi import APIRouter, Query, Request

from app.api.auth import Caller
from app.api.errors import ApiError
from app.api.schemas import Thread, ThreadCreate, ThreadSearch, ThreadState
from app.api.service import Service, new_id, timestamp
from app.api.threads import ThreadRecord

__all__ = ["router"]

router = APIRouter(tags=["threads"])


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _thread(record: ThreadRecord, values: dict[str, Any] | None = None) -> Thread:
    return Thread(
        thread_id=record.thread_id,
        assistant_id=record.assistant_id,
        created_at=record.created_at,
        updated_at=record.updated_at,
        metadata=dict(record.metadata),
        status=record.status,
        values=values if values is not None else dict(record.values),
    )


@router.post("/threads", summary="Create a thread")
async def create_thread(request: Request, caller: Caller, body: ThreadCreate | None = None) -> Thread:
    """A new thread for one assistant (``metrics`` unless ``assistant_id`` says ``planner``)."""
    service = _service(request)
    body = body or ThreadCreate()
    assistant = service.assistant(body.assistant_id or body.graph_id, caller)
    thread_id = body.thread_id or new_id()
    try:
        record = await asyncio.to_thread(
            service.threads.create, thread_id, owner=caller.user, assistant_id=assistant, metadata=body.metadata
        )
    except sqlite3.IntegrityError:
        raise ApiError(f"Thread {thread_id!r} already exists.", status_code=409) from None
    return _thread(record)


@router.post("/threads/search", summary="List the caller's threads")
async def search_threads(request: Request, caller: Caller, body: ThreadSearch | None = None) -> list[Thread]:
    """The key's user's threads, most recently updated first, without their values (``GET /threads/{id}``)."""
    query = body or ThreadSearch()
    found = await asyncio.to_thread(
        _service(request).threads.owned_by, caller.user, status=query.status, limit=query.limit, offset=query.offset
    )
    return [_thread(record, {}) for record in found]


@router.get("/threads/{thread_id}", summary="Get a thread")
async def get_thread(request: Request, thread_id: str, caller: Caller) -> Thread:
    """The thread with its latest values."""
    service = _service(request)
    record = service.owned(thread_id, caller)
    state = await service.state(record)
    return _thread(record, state["values"])


@router.get("/threads/{thread_id}/state", summary="Get a thread's state")
async def get_thread_state(request: Request, thread_id: str, caller: Caller) -> ThreadState:
    """Latest values, steps still to run, and interrupts (SQL waiting for approval)."""
    service = _service(request)
    state = await service.state(service.owned(thread_id, caller))
    state["created_at"] = timestamp(state.get("created_at"))
    return ThreadState(**state)


@router.get("/threads/{thread_id}/history", summary="Get a thread's checkpoints")
async def get_thread_history(
    request: Request, thread_id: str, caller: Caller, limit: int = Query(default=10, ge=1, le=100)
) -> list[dict[str, Any]]:
    """The thread's checkpoints, newest first."""
    service = _service(request)
    found = await service.history(service.owned(thread_id, caller), limit=limit)
    for item in found:
        item["created_at"] = timestamp(item.get("created_at"))
    return found
