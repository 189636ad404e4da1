"""Runs: ``/threads/{id}/runs/wait``, ``/threads/{id}/runs/stream`` (Server-Sent Events) and stateless ``/runs/wait``.

A run on a thread continues its conversation; ``command.resume`` answers SQL waiting for approval;
``config.configurable.model`` picks the model or adapter of a metrics or app run (checked before the run starts).
The stream sends ``metadata``, one ``updates`` event per graph node as it finishes, ``values`` with the result,
then ``end``; a failure is an ``error`` event with one sentence. A client that goes away cancels the run; the
steps that finished are checkpointed, and the question stays in the thread unanswered.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse

from app.api.auth import Caller
from app.api.errors import sentence_of, status_for
from app.api.schemas import RunCreate, StatelessRunCreate
from app.api.service import Service, new_id, sse
from app.api.tracing import request_span, stamp, trace_headers, within
from kubeai.errors import KubeAIError

__all__ = ["router"]

log = logging.getLogger("kubeai.api")
router = APIRouter(tags=["runs"])


def _messages(english: str, chinese: str) -> dict[str, str]:
    """An ``error`` event's sentence in English (``message``) and Chinese (``message_zh``)."""
    return {"message": english, "message_zh": chinese}


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


@router.post("/threads/{thread_id}/runs/wait", summary="Run a turn and wait for its result")
async def wait_run(
    request: Request, response: Response, thread_id: str, body: RunCreate, caller: Caller
) -> dict[str, Any]:
    """The thread's values after the turn; ``__interrupt__`` holds SQL waiting for approval."""
    service = _service(request)
    record = service.owned(thread_id, caller)
    assistant = service.assistant(body.assistant_id or record.assistant_id, caller)
    service.run_model(assistant, body)  # 422 for a model the run cannot use, before it starts
    async with service.running(thread_id, registered=True):
        route = "/threads/{thread_id}/runs/wait"
        span = request_span(route, thread_id=thread_id, assistant=assistant, user=caller.user)
        with within(span, user=caller.user):
            values = await service.wait(thread_id, assistant, body, caller)
        response.headers.update(trace_headers(span))
        return dict(stamp("values", values, span))


@router.post("/runs/wait", summary="Ask once, without a stored thread")
async def stateless_run(
    request: Request, response: Response, body: StatelessRunCreate, caller: Caller
) -> dict[str, Any]:
    """One turn on a fresh thread that is not registered."""
    service = _service(request)
    assistant = service.assistant(body.assistant_id, caller)
    service.run_model(assistant, body)  # 422 for a model the run cannot use, before it starts
    thread_id = new_id()
    async with service.running(thread_id, registered=False):
        span = request_span("/runs/wait", thread_id=thread_id, assistant=assistant, user=caller.user)
        with within(span, user=caller.user):
            values = await service.wait(thread_id, assistant, body, caller)
        response.headers.update(trace_headers(span))
        return dict(stamp("values", values, span))


@router.post("/threads/{thread_id}/runs/stream", summary="Run a turn and stream its progress")
async def stream_run(request: Request, thread_id: str, body: RunCreate, caller: Caller) -> EventSourceResponse:
    """Server-Sent Events: ``metadata``, ``updates`` per node, ``values``, ``end`` (or ``error``)."""
    service = _service(request)
    record = service.owned(thread_id, caller)
    assistant = service.assistant(body.assistant_id or record.assistant_id, caller)
    service.run_model(assistant, body)  # 422 for a model the run cannot use, before it starts
    running = service.running(thread_id, registered=True)
    await running.__aenter__()  # refuse a busy thread with 409 before the stream starts
    run_id = new_id()
    span = request_span("/threads/{thread_id}/runs/stream", thread_id=thread_id, assistant=assistant, user=caller.user)

    async def events() -> AsyncIterator[dict[str, str]]:
        failure: BaseException | None = None
        try:
            with within(span, user=caller.user):
                async for event, data in service.stream(thread_id, assistant, body, caller, run_id):
                    yield sse(event, stamp(event, data, span))
            yield sse("end", None)
        except KubeAIError as exc:
            failure = exc
            sentence = sentence_of(exc)
            yield sse(
                "error", {"error": type(exc).__name__, "status": status_for(exc), **_messages(sentence.en, sentence.zh)}
            )
        except Exception as exc:
            failure = exc
            log.exception("run %s on thread %s failed", run_id, thread_id)
            failed = _messages("The run failed; see the log.", "运行失败；详情见服务器日志。")
            yield sse("error", {"error": "InternalError", "status": 500, **failed})
        except BaseException as exc:  # cancelled: the client went away
            failure = exc
            raise
        finally:
            if failure is None:
                await running.__aexit__(None, None, None)
            else:
                await running.__aexit__(type(failure), failure, failure.__traceback__)

    return EventSourceResponse(events(), ping=15, headers=trace_headers(span))
