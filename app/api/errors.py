"""Every failure of the HTTP API is a status code and one sentence in English and Chinese; never a traceback.

The body is ``{"detail": ..., "detail_en": ..., "detail_zh": ...}`` (:func:`app.messages.error_body`): ``detail``
is Chinese when the request's ``Accept-Language`` prefers Chinese, English otherwise. :class:`ApiError` carries its
status and both sentences. A :class:`~kubeai.errors.KubeAIError` from the agents maps to a status by its class
(:func:`status_for`) and is worded by :func:`app.messages.failure` (a Chinese lead naming the kind of failure, then
the English sentence); request validation errors (malformed JSON, a missing field) are 422 with the first problem
in words; anything else is logged with its traceback and answered with a 500 sentence.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import Scope

from app.messages import Language, Sentence, error_body, failure, for_status, preferred_language
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

__all__ = ["ApiError", "error_response", "install_handlers", "language_of", "sentence_of", "status_for"]

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
    """A request the API refuses, with its HTTP status and the sentence in Chinese (``zh``).

    ``str()`` is the English sentence. Without ``zh`` the Chinese says what the status means, then the English.
    """

    def __init__(self, message: str, *, status_code: int, zh: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.sentence = Sentence(message, zh) if zh is not None else for_status(status_code, message)

    @classmethod
    def saying(cls, sentence: Sentence, *, status_code: int) -> ApiError:
        """The error that says ``sentence``."""
        return cls(sentence.en, zh=sentence.zh, status_code=status_code)


def status_for(error: KubeAIError) -> int:
    """The HTTP status of a project error: its own for :class:`ApiError`, else by class (400 by default)."""
    if isinstance(error, ApiError):
        return error.status_code
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


def sentence_of(error: KubeAIError) -> Sentence:
    """What a project error says, in both languages: an :class:`ApiError`'s own sentences, else by its kind."""
    return error.sentence if isinstance(error, ApiError) else failure(error)


def language_of(scope: Scope) -> Language:
    """The language a request's ``Accept-Language`` prefers (``en`` unless it is Chinese)."""
    return preferred_language(Headers(scope=scope).get("accept-language"))


def error_response(
    status: int, sentence: Sentence, *, language: Language = "en", headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error every failure answers with (:func:`app.messages.error_body`)."""
    return JSONResponse(error_body(sentence, language), status_code=status, headers=headers)


_PROBLEM_ZH = {
    "missing": "缺少必填字段",
    "string_too_long": "字段太长",
    "string_too_short": "字段太短",
    "string_pattern_mismatch": "字段格式不对",
    "literal_error": "字段取值不在允许的范围内",
    "dict_type": "字段应为 JSON 对象",
    "model_attributes_type": "字段应为 JSON 对象",
}


def _validation_sentence(error: RequestValidationError) -> Sentence:
    problems = error.errors()
    if not problems:
        return Sentence("The request is not valid.", "请求无效。")
    first = problems[0]
    if first.get("type") == "json_invalid":
        return Sentence("The request body is not valid JSON.", "请求体不是有效的 JSON。")
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "the body"
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    english = f"Field `{where}`: {message}."
    place = "请求体" if where == "the body" else f"`{where}`"
    context = first.get("ctx") or {}
    if isinstance(context.get("zh"), str):  # our own validators say it in Chinese too (app.api.schemas)
        subject = place if where == "the body" else f"字段 {place}"
        return Sentence(english, f"{subject}：{context['zh']}。")
    lead = _PROBLEM_ZH.get(str(first.get("type")), "字段无效")
    return Sentence(english, f"{lead}（{place}）：{message}。")


_UNEXPECTED = Sentence(
    "The server failed to handle this request; the error is in its log.",
    "服务器处理此请求时出错；错误已记入服务器日志。",
)


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a status and one sentence."""

    async def project_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, KubeAIError)
        return error_response(status_for(exc), sentence_of(exc), language=language_of(request.scope))

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, _validation_sentence(exc), language=language_of(request.scope))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        if status == 404 and exc.detail == "Not Found":
            sentence = Sentence("There is no such endpoint; see /docs for the API.", "没有这个接口；API 说明见 /docs。")
        elif status == 405:
            sentence = Sentence(
                "This endpoint does not take that method; see /docs for the API.",
                "此接口不接受该请求方法；API 说明见 /docs。",
            )
        else:
            english = exc.detail if isinstance(exc.detail, str) else "The request cannot be served."
            sentence = for_status(status, english)
        return error_response(status, sentence, language=language_of(request.scope), headers=dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, _UNEXPECTED, language=language_of(request.scope))

    app.add_exception_handler(KubeAIError, project_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
