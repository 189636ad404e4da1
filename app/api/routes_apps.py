"""``GET /threads/{id}/page``: the page the last app turn of a thread rendered, as its own HTML document.

The page is what :func:`agents.apps.render` made from the validated spec (autoescaped, inline CSS, no script); it
is served with a Content Security Policy that forbids every script and remote load and sandboxes the document, so
even opened on its own it runs nothing. The web chat shows the same page from the run's ``page`` value in an
``<iframe sandbox="">``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.auth import Caller
from app.api.errors import ApiError
from app.api.service import Service

__all__ = ["PAGE_POLICY", "router"]

router = APIRouter(tags=["apps"])

PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox"
)
"""The rendered page's Content Security Policy: inline styles only, no script, no request, sandboxed."""


@router.get("/threads/{thread_id}/page", summary="The page the thread's last app turn rendered")
def thread_page(request: Request, thread_id: str, caller: Caller) -> Response:
    """The HTML page of the thread's latest app answer (the ``prototype`` app's); 404 when it has none."""
    service: Service = request.app.state.service
    record = service.owned(thread_id, caller)
    page = record.values.get("page")
    if not isinstance(page, str):
        raise ApiError(
            f"Thread {thread_id!r} has no rendered page; a page is made by an app that renders one (app:prototype).",
            zh=f"会话 {thread_id!r} 没有渲染好的页面；页面由会渲染页面的应用（app:prototype）生成。",
            status_code=404,
        )
    headers = {"Content-Security-Policy": PAGE_POLICY, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)
