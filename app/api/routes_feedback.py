"""``/threads/{id}/feedback`` and ``/feedback``: a thumbs up or down and corrections, kept with what was shown.

The question, answer, SQL and structured query are read from the thread itself (its latest turn, or the turn of
the checkpoint the client names), never taken from the client, so what is stored is what the user saw.
``kubeai finetune data --from-feedback`` turns it into candidate training examples (docs/finetuning.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.auth import Caller
from app.api.errors import ApiError
from app.api.service import Service
from app.api.threads import ThreadRecord
from finetune.feedback import Correction, FeedbackDraft, FeedbackStore

__all__ = ["FeedbackCorrection", "FeedbackCreate", "router", "shown_turn", "store_of"]

router = APIRouter(tags=["feedback"])

MAX_SQL_CHARS = 20_000
MAX_TEXT_CHARS = 4_000
_ID = Field(default=None, min_length=1, max_length=128)
HISTORY_LIMIT = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedbackCorrection(_Strict):
    """What the answer should have been: a statement, a metric's name, or words."""

    sql: str | None = Field(default=None, max_length=MAX_SQL_CHARS)
    metric: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)


class FeedbackCreate(_Strict):
    """``POST /threads/{id}/feedback``: a rating, a correction, or both, on the thread's latest (or one) turn."""

    run_id: str | None = _ID
    checkpoint_id: str | None = _ID
    trace_id: str | None = _ID
    rating: Literal["up", "down"] | None = None
    correction: FeedbackCorrection | None = None

    @model_validator(mode="after")
    def _says_something(self) -> FeedbackCreate:
        fix = self.correction
        if self.rating is None and (fix is None or _correction(fix) is None):
            raise ValueError("give a `rating` (up or down) or a `correction` with sql, metric or text")
        return self


class FeedbackStored(BaseModel):
    """The answer to a stored feedback."""

    feedback_id: str
    status: str


def store_of(service: Service) -> FeedbackStore:
    """The feedback store in the service's data folder."""
    return FeedbackStore.in_data_dir(service.config.data_dir)


async def shown_turn(service: Service, record: ThreadRecord, checkpoint_id: str | None) -> dict[str, Any]:
    """What the thread showed: ``question``, ``answer``, ``sql``, ``query`` and the ``checkpoint_id`` they come from.

    Raises:
        ApiError: 404 when the thread has no such checkpoint, 409 when it has no answer yet.
    """
    state = await service.state(record)
    values: Mapping[str, Any] = state.get("values") or {}
    latest = (state.get("checkpoint") or {}).get("checkpoint_id")
    if checkpoint_id is None or checkpoint_id == latest:
        # The standalone question (a follow-up rewritten with its context) is the one an example can stand on.
        question = values.get("standalone_question") or values.get("question")
        question = question or _last_user_message(values.get("messages"))
        if not question:
            raise ApiError(f"Thread {record.thread_id!r} has no answer to give feedback on yet.", status_code=409)
        return {
            "question": question,
            "answer": values.get("answer"),
            "sql": values.get("sql"),
            "query": values.get("query") if isinstance(values.get("query"), dict) else None,
            "checkpoint_id": latest,
        }
    for item in await service.history(record, limit=HISTORY_LIMIT):
        if (item.get("checkpoint") or {}).get("checkpoint_id") == checkpoint_id:
            older = item.get("values") or {}
            # An older checkpoint keeps the question and answer; its SQL and query are the latest turn's only.
            return {
                "question": older.get("question"),
                "answer": older.get("answer"),
                "sql": None,
                "query": None,
                "checkpoint_id": checkpoint_id,
            }
    raise ApiError(f"Thread {record.thread_id!r} has no checkpoint {checkpoint_id!r}.", status_code=404)


@router.post("/threads/{thread_id}/feedback", summary="Rate or correct an answer")
async def create_feedback(request: Request, thread_id: str, body: FeedbackCreate, caller: Caller) -> FeedbackStored:
    """Store a rating and/or correction of the thread's latest answer (or the one at ``checkpoint_id``)."""
    service: Service = request.app.state.service
    record = service.owned(thread_id, caller)
    shown = await shown_turn(service, record, body.checkpoint_id)
    draft = FeedbackDraft(
        user=caller.user,
        origin="api",
        thread_id=thread_id,
        run_id=body.run_id,
        checkpoint_id=shown["checkpoint_id"],
        trace_id=body.trace_id,
        assistant=record.assistant_id,
        question=shown["question"],
        answer=shown["answer"],
        sql=shown["sql"],
        query=shown["query"],
        rating=body.rating,
        correction=_correction(body.correction) if body.correction is not None else None,
    )
    stored = await asyncio.to_thread(store_of(service).add, draft)
    return FeedbackStored(feedback_id=stored.id, status=stored.status)


@router.get("/feedback", summary="Your feedback, newest first")
async def list_feedback(
    request: Request, caller: Caller, limit: int = Query(default=50, ge=1, le=500)
) -> list[dict[str, Any]]:
    """The caller's own feedback records, newest first."""
    service: Service = request.app.state.service
    found = await asyncio.to_thread(store_of(service).recent, user=caller.user, limit=limit)
    return [record.to_json() for record in found]


def _correction(fix: FeedbackCorrection) -> Correction | None:
    """The correction with blank fields as ``None``; ``None`` when every field is blank."""
    values = {name: (getattr(fix, name) or "").strip() or None for name in ("sql", "metric", "text")}
    correction = Correction(**values)
    return None if correction.empty else correction


def _last_user_message(messages: Any) -> str | None:
    users = [m.get("content") for m in messages or [] if isinstance(m, Mapping) and m.get("role") in ("user", "human")]
    return str(users[-1]) if users else None
