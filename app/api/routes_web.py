"""The web chat at ``/``, served from package data and the installed plotly package.

One page, one script module, a stylesheet and the UI strings (``app/web``), and Plotly's own ``plotly.min.js``
from the plotly package. No build step, nothing fetched from another host (docs/web.md). The page holds no
data, so it needs no key; everything it shows comes from the API's routes with the key the user enters.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from app.api.errors import ApiError

__all__ = ["ASSETS", "router"]

router = APIRouter(include_in_schema=False)

ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "strings.json": "application/json; charset=utf-8",
}
"""The files of ``app/web`` the API serves, with their media types; nothing else there is reachable."""

# Scripts and connections only from this origin; Plotly sets inline styles, so styles may be inline.
_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": _POLICY, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


@functools.cache
def _asset(name: str) -> bytes:
    return resources.files("app.web").joinpath(name).read_bytes()


@functools.cache
def plotly_js() -> Path:
    """The ``plotly.min.js`` bundled in the installed plotly package (the same one its HTML export inlines)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@router.get("/")
def index() -> Response:
    """The chat page."""
    return Response(_asset("index.html"), media_type=ASSETS["index.html"], headers=_HEADERS)


@router.get("/web/plotly.min.js")
def plotly_bundle() -> FileResponse:
    """Plotly's JavaScript, from the plotly package on the server."""
    return FileResponse(plotly_js(), media_type=ASSETS["app.js"], headers={"Cache-Control": "max-age=86400"})


@router.get("/web/{name}")
def asset(name: str) -> Response:
    """The page's script, stylesheet or strings; 404 for any other name."""
    if name not in ASSETS or name == "index.html":
        raise ApiError(f"There is no web asset {name!r}.", status_code=404)
    return Response(_asset(name), media_type=ASSETS[name], headers=_HEADERS)
