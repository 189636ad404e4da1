"""The OpenAI-compatible endpoint, so any OpenAI client or chat UI can talk to the agents.

``GET /v1/models`` lists the agents as models and ``POST /v1/chat/completions`` answers through them; ``model``
picks the agent (``kubeai-metrics``, ``kubeai-planner``). Each request is stateless: its last user message is the
question; the planner also gets the earlier user and assistant turns as history, while the metrics agent answers
on a fresh thread of its own (its conversation lives in its checkpointer, and replaying earlier questions would
cost a model run each). The key's row scope and the API's question limits apply as on every other route.
Failures here answer in OpenAI's error shape, ``{"error": {"message", "type", "param", "code"}}``, with the same
status and sentence the rest of the API gives; the formats are in :mod:`app.api.openai_format` and docs/api.md.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from app.api.auth import Caller
from app.api.errors import ApiError, status_for
from app.api.openai_format import (
    MODELS,
    chunk,
    completion,
    content_pieces,
    error_body,
    message_text,
    metrics_extra,
    metrics_markdown,
    plan_extra,
    plan_markdown,
    usage,
)
from app.api.schemas import RunCreate
from app.api.service import Service, new_id, question_of
from app.keys import ApiKey
from kubeai.errors import KubeAIError

__all__ = ["ChatCompletionRequest", "ChatMessage", "router"]

log = logging.getLogger("kubeai.api")


class OpenAIErrors(APIRoute):
    """A route whose failures answer in OpenAI's error shape.

    The app's own handlers (:func:`app.api.errors.install_handlers`) still decide the status and the sentence,
    and log what is unexpected; this only moves their ``{"detail": ...}`` into ``{"error": {...}}``.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, with failures (key, body, agent) answered as OpenAI errors."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return await _openai_error(request, exc)

        return route


async def _openai_error(request: Request, exc: Exception) -> Response:
    handlers = request.app.exception_handlers
    handle = next((handlers[kind] for kind in type(exc).__mro__ if kind in handlers), None)
    if handle is None:
        raise exc
    answered = handle(request, exc)
    response: Response = await answered if inspect.isawaitable(answered) else answered
    detail = json.loads(bytes(response.body)).get("detail", "The request cannot be served.")
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    return JSONResponse(
        error_body(response.status_code, str(detail)), status_code=response.status_code, headers=headers
    )


router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIErrors)


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ChatMessage(_Request):
    """One message: ``role`` (``system``, ``user``, ``assistant``, ...) and its text or content parts."""

    role: str
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(_Request):
    """``stream_options``: ``include_usage`` adds a last chunk with the token counts."""

    include_usage: bool = False


class ChatCompletionRequest(_Request):
    """``POST /v1/chat/completions``: the model, the conversation, and whether to stream.

    Sampling fields (``temperature``, ``max_tokens`` ...) are accepted and ignored: the agents choose their own
    settings per step (docs/api.md lists them).
    """

    model: str = Field(description="`kubeai-metrics` or `kubeai-planner` (GET /v1/models).")
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    require_approval: bool | None = Field(
        default=None, description="kubeai extension: override metrics_agent.require_approval for this request."
    )


@dataclass(frozen=True)
class _Answer:
    content: str
    extra: dict[str, Any]
    tokens: dict[str, int]


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _models(service: Service, caller: ApiKey) -> list[str]:
    """The model ids this caller can use: the planner where it runs and can apply the key's row scope."""
    return [m for m, a in MODELS.items() if a == "metrics" or service.serves_planner(caller)]


def _model(request: Request, model_id: str) -> dict[str, Any]:
    created = int(datetime.fromisoformat(request.app.state.started_at).timestamp())
    return {"id": model_id, "object": "model", "created": created, "owned_by": "kubeai"}


def _assistant(service: Service, model: str, caller: ApiKey) -> str:
    """The assistant ``model`` names for this caller; 404 for a model that is not served, 403 as on /threads."""
    assistant = MODELS.get(model)
    if assistant is None or (assistant == "planner" and service.agents.planner is None):
        raise ApiError(f"No model {model!r}; GET /v1/models lists the models you can use.", status_code=404)
    return service.assistant(assistant, caller)


def _conversation(messages: Sequence[ChatMessage], *, limit: int) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message, within the API's limits) and the user/assistant turns before it."""
    turns = [{"role": m.role, "content": message_text(m.content)} for m in messages]
    last = max((i for i, turn in enumerate(turns) if turn["role"] == "user"), default=None)
    if last is None or not turns[last]["content"].strip():
        raise ApiError(
            "The conversation has no question; end `messages` with a user message that says it.", status_code=422
        )
    question = question_of({"question": turns[last]["content"]}, limit=limit)
    history = [t for t in turns[:last] if t["role"] in ("user", "assistant") and t["content"].strip()]
    return question, history


async def _steps(
    service: Service,
    caller: ApiKey,
    body: ChatCompletionRequest,
    *,
    assistant: str,
    question: str,
    history: list[dict[str, str]],
) -> AsyncIterator[str | _Answer]:
    """The names of the graph nodes as they finish (metrics agent), then the answer."""
    if assistant == "planner":
        planner = service.planner_for(caller)  # its metric tasks see only the key's rows
        run = await planner.run(question, history=history)
        yield _Answer(plan_markdown(run), plan_extra(run), usage(run.tokens))
        return
    thread_id = new_id()
    agent = service.metrics_for(caller, RunCreate(input={"question": question}, require_approval=body.require_approval))
    async for node, _update in agent.stream(question, thread_id=thread_id):
        yield node
    result = await agent.last_result(thread_id)
    if result.pending_sql is not None:  # keep the thread, for the caller to approve on /threads/{id}/runs/wait
        await asyncio.to_thread(
            service.threads.create, thread_id, owner=caller.user, assistant_id="metrics", metadata={"via": "openai"}
        )
        await asyncio.to_thread(service.threads.update, thread_id, status="interrupted")
    yield _Answer(metrics_markdown(result), metrics_extra(result), usage(result.tokens))


@router.get("/models", summary="The agents as OpenAI models")
def list_models(request: Request, caller: Caller) -> dict[str, Any]:
    """``{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}``."""
    return {"object": "list", "data": [_model(request, m) for m in _models(_service(request), caller)]}


@router.get("/models/{model_id}", summary="One agent as an OpenAI model")
def get_model(request: Request, model_id: str, caller: Caller) -> dict[str, Any]:
    """The model, or 404 when this key cannot use it."""
    if model_id not in _models(_service(request), caller):
        raise ApiError(f"No model {model_id!r}; GET /v1/models lists the models you can use.", status_code=404)
    return _model(request, model_id)


@router.post("/chat/completions", summary="Answer a conversation through an agent", response_model=None)
async def chat_completions(
    request: Request, body: ChatCompletionRequest, caller: Caller
) -> dict[str, Any] | EventSourceResponse:
    """The answer as a ``chat.completion``, or with ``stream: true`` as ``chat.completion.chunk`` events.

    The message is the answer in Markdown; the ``kubeai`` field carries the values. A stream ends with
    ``data: [DONE]``.
    """
    service = _service(request)
    assistant = _assistant(service, body.model, caller)
    question, history = _conversation(body.messages, limit=service.config.api.max_question_chars)
    base: dict[str, Any] = {"completion_id": f"chatcmpl-{new_id()}", "created": int(time.time()), "model": body.model}
    steps = _steps(service, caller, body, assistant=assistant, question=question, history=history)
    if not body.stream:
        answer = [step async for step in steps if isinstance(step, _Answer)][-1]
        return completion(**base, content=answer.content, extra=answer.extra, tokens=answer.tokens)
    include_usage = body.stream_options is not None and body.stream_options.include_usage

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            yield _data(chunk(**base, delta={"role": "assistant", "content": ""}))
            async for step in steps:
                if not isinstance(step, _Answer):
                    yield _data(chunk(**base, extra={"node": step}))
                    continue
                for piece in content_pieces(step.content):
                    yield _data(chunk(**base, delta={"content": piece}))
                yield _data(chunk(**base, finish_reason="stop", extra=step.extra))
                if include_usage:
                    yield _data(chunk(**base, tokens=step.tokens))
            yield {"data": "[DONE]"}
        except KubeAIError as exc:
            yield _data(error_body(status_for(exc), str(exc)))
        except Exception:
            log.exception("chat completion %s failed", base["completion_id"])
            yield _data(error_body(500, "The run failed; the error is in the server's log."))

    return EventSourceResponse(events(), ping=15, sep="\n")


def _data(payload: dict[str, Any]) -> dict[str, str]:
    """One ``data:`` event (no event name, as OpenAI sends them)."""
    return {"data": json.dumps(payload, ensure_ascii=False, default=str)}
