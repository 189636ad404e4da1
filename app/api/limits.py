"""An ASGI middleware that refuses request bodies over ``api.max_body_bytes`` with 413 before the app sees them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response, language_of
from app.messages import Sentence

__all__ = ["BodyLimit"]


class BodyLimit:
    """Reads the body (at most ``max_bytes``) before the app runs; a larger one is answered 413, unread.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body is counted as it arrives.
    After the body, the app's ``receive`` is the server's own, so a streaming response still hears a disconnect.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an oversized body with 413; otherwise run the app with the body replayed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        sentence = Sentence(
            f"The request body is over the limit of {self.max_bytes:,} bytes (api.max_body_bytes).",
            f"请求体超过了 {self.max_bytes:,} 字节的上限（api.max_body_bytes）。",
        )
        response = error_response(413, sentence, language=language_of(scope))
        await response(scope, receive, send)
