"""Render a :class:`~tools.pages.spec.PageSpec` into one standard, self-contained HTML page.

The page is a packaged Jinja template rendered with autoescaping on, so every string of the spec (titles, labels,
items: all written by a model) reaches the page as text, never as markup. The page holds no script, links nothing
outside itself (navigation links point at its own sections, the CSS is inline) and declares a Content Security
Policy of ``default-src 'none'`` with inline styles only, so a browser refuses any script or remote load even if a
later change let one through; the render check (:mod:`tools.pages.browser`) reports such a refusal as a console
error.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import jinja2

from kubeai.prompting import load_texts
from tools.pages.spec import PageSpec

__all__ = ["render_page"]

_PACKAGE = "tools.pages"
_PLACEHOLDER_ROWS = 3
_CHART_BARS = (40, 65, 50, 80, 70, 90)
# Form field types that are an <input> of the same or a close HTML type.
_INPUT_TYPES = {"text": "text", "number": "number", "date": "date", "time": "time", "email": "email", "phone": "tel"}


def render_page(spec: PageSpec, *, language: Literal["en", "zh"] = "en") -> str:
    """The page for ``spec`` as an HTML document (UTF-8 text), its own words in ``language``.

    Args:
        spec: The validated page spec.
        language: The language of the page's fixed words (submit, search, footer) and its ``lang`` attribute.

    Returns:
        A complete HTML document with inline CSS, no script and no external URL.
    """
    texts = load_texts(_PACKAGE, "texts")
    words = {name: text.render(language) for name, text in texts.items()}
    return _template().render(
        page=spec,
        lang="zh-CN" if language == "zh" else "en",
        text=words,
        css=_css(),
        input_types=_INPUT_TYPES,
        placeholder_rows=_PLACEHOLDER_ROWS,
        chart_bars=_CHART_BARS,
    )


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(_PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    return env.get_template("page.html.jinja")


@cache
def _css() -> str:
    return resources.files(_PACKAGE).joinpath("templates", "page.css").read_text(encoding="utf-8")
