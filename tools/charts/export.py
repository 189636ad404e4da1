"""Serialise figures: plotly JSON, self-contained HTML, and PNG through kaleido and a local Chromium.

Every file is written to a temporary name beside the target and renamed into place, so a failed export never
leaves a half-written chart. HTML inlines plotly.js (about 4.6 MB) because users' machines may have no internet.
PNG export starts headless Chromium through kaleido (about 2-3 s for the first image); MathJax is disabled so the
page never reaches for a CDN.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeai.errors import ChartError

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["BROWSER_NAMES", "export_chart", "figure_json", "find_browser"]

#: Executables looked up on PATH for PNG export, in order.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_SUFFIXES = (".json", ".html", ".png")


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as plotly JSON data, checked by loading it back with ``plotly.io.from_json``.

    Raises:
        kubeai.errors.ChartError: The figure does not survive the round trip.
    """
    import plotly.io as pio

    text = pio.to_json(fig, validate=True)
    try:
        pio.from_json(text, skip_invalid=False)
    except ValueError as exc:
        raise ChartError(f"The chart's plotly JSON does not validate ({exc}); report this as a bug.") from exc
    data: dict[str, Any] = json.loads(text)
    return data


def find_browser() -> Path | None:
    """The first Chrome/Chromium executable on PATH (see :data:`BROWSER_NAMES`), or ``None``."""
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def export_chart(
    fig: go.Figure,
    path: Path,
    *,
    width: int = 900,
    height: int = 500,
    scale: float = 2.0,
    browser_path: Path | None = None,
) -> Path:
    """Write a figure to ``path``; the suffix picks the format.

    Args:
        fig: The figure, usually from :func:`tools.charts.build_figure`.
        path: Target file ending in ``.json``, ``.html`` or ``.png``; parent directories are created.
        width: PNG width in CSS pixels.
        height: PNG height in CSS pixels.
        scale: PNG pixel density (2.0 gives a 1800x1000 image at the default size).
        browser_path: Chrome or Chromium for PNG export; default: the first of :data:`BROWSER_NAMES` on PATH.

    Returns:
        ``path``, now written completely.

    Raises:
        kubeai.errors.ChartError: The suffix is unsupported, no browser is found for PNG, or rendering failed.
    """
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ChartError(f"Cannot export a chart as {path.name!r}; use a .json, .html or .png file name.")
    if suffix == ".json":
        payload = json.dumps(figure_json(fig), ensure_ascii=False).encode("utf-8")
    elif suffix == ".html":
        payload = fig.to_html(include_plotlyjs=True, full_html=True, validate=True).encode("utf-8")
    else:
        payload = _png(fig, width=width, height=height, scale=scale, browser_path=browser_path)
    _write_atomic(path, payload)
    return path


def _png(fig: go.Figure, *, width: int, height: int, scale: float, browser_path: Path | None) -> bytes:
    import kaleido  # type: ignore[import-untyped]  # no stubs or py.typed; not in the pyproject overrides

    browser = browser_path or find_browser()
    if browser is None or not browser.is_file():
        raise ChartError(
            "No Chrome or Chromium was found for PNG export; install the Debian package chromium or pass browser_path."
        )
    opts = {"format": "png", "width": width, "height": height, "scale": scale}
    try:
        data = kaleido.calc_fig_sync(fig, opts=opts, kopts={"path": str(browser), "mathjax": False})
    except Exception as exc:  # kaleido and choreographer raise many unrelated types
        raise ChartError(
            f"Rendering the PNG with {browser} failed ({' '.join(str(exc).split()) or type(exc).__name__}); "
            "export .html instead or check the browser."
        ) from exc
    if not isinstance(data, bytes) or not data.startswith(b"\x89PNG"):
        raise ChartError(f"Rendering the PNG with {browser} returned no image; export .html instead.")
    return data


def _write_atomic(path: Path, payload: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ChartError(f"Cannot write the chart to {path} ({exc.strerror}); choose a writable directory.") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a chart is meant to be shared
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ChartError(f"Cannot write the chart to {path} ({exc.strerror}); choose a writable directory.") from exc
