"""Every failure of the HTTP API is a status code and one sentence, ``{"detail": "..."}``; never a traceback.

:class:`ApiError` carries its status. A :class:`~kubeai.errors.KubeAIError` from the agents maps to a status by
its class (:func:`status_for`); request validation errors (malformed JSON, a missing field) are 422 with the
first problem in words; anything else is logged with its traceback and answered with a 500 sentence.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from kubeai.errors import (
    CatalogError,
    ConfigError,
    KubeAIError,
    MetricQueryError,
    ModelServerError,
    ModelServerUnavailableError,
    ModelTimeoutError,
    PlanningError,
    PromptTooLongError,
    SQLGateError,
    ThreadNotFoundError,
    WarehouseUnavailableError,
)

__all__ = ["ApiError", "error_response", "install_handlers", "status_for"]

log = logging.getLogger("kubeai.api")

_STATUS: tuple[tuple[type[KubeAIError], int], ...] = (
    (ThreadNotFoundError, 404),
    (ModelTimeoutError, 504),
    (ModelServerUnavailableError, 503),
    (ModelServerError, 502),
    (WarehouseUnavailableError, 503),
    (PlanningError, 422),
    (PromptTooLongError, 422),
    (SQLGateError, 422),
    (MetricQueryError, 422),
    (ConfigError, 400),
    (CatalogError, 400),
)


class ApiError(KubeAIError):
    """A request the API refuses, with its HTTP status."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def status_for(error: KubeAIError) -> int:
    """The HTTP status of a project error: its own for :class:`ApiError`, else by class (400 by default)."""
    if isinstance(error, ApiError):
        return error.status_code
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON error every failure answers with."""
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _validation_sentence(error: RequestValidationError) -> str:
    problems = error.errors()
    if not problems:
        return "The request is not valid."
    first = problems[0]
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "the body"
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    return f"Field `{where}`: {message}."


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a status and one sentence."""

    async def project_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, KubeAIError)
        return error_response(status_for(exc), str(exc))

    async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, _validation_sentence(exc))

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else "The request cannot be served."
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is no such endpoint; see /docs for the API."
        elif exc.status_code == 405:
            detail = "This endpoint does not take that method; see /docs for the API."
        return error_response(exc.status_code, detail, dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "The server failed to handle this request; the error is in its log.")

    app.add_exception_handler(KubeAIError, project_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
