"""Page prototypes as data: a small page spec a model fills, rendered by code into one safe HTML page.

:class:`PageSpec` is the structured output a model fills (title, navigation, sections of fixed components);
:func:`render_page` turns it into a self-contained HTML document (autoescaped, inline CSS, no script, no external
URL); :func:`check_render` opens a page in headless Chromium for a screenshot and its console messages.
"""

from tools.pages.browser import RenderCheck, check_render, console_messages
from tools.pages.render import render_page
from tools.pages.spec import (
    COMPONENT_KINDS,
    FIELD_TYPES,
    Component,
    ComponentKind,
    FieldType,
    FormField,
    PageSpec,
    Section,
)

__all__ = [
    "COMPONENT_KINDS",
    "FIELD_TYPES",
    "Component",
    "ComponentKind",
    "FieldType",
    "FormField",
    "PageSpec",
    "RenderCheck",
    "Section",
    "check_render",
    "console_messages",
    "render_page",
]
