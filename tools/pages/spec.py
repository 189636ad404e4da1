"""The page spec a model fills under structured outputs: a title, navigation, sections and fixed components.

The schema is kept small enough for a 135M model to fill: enums for every kind, short strings, bounded arrays, and
one flat component shape (every component has the same four lists and a text; each kind shows only its own), so the
grammar has no ``anyOf`` branches. Nothing in a spec is markup: :func:`tools.pages.render_page` escapes every string.

* ``form``: ``fields`` (a label and an input type each) and a submit button labelled ``text``.
* ``table``: ``columns`` as headers, with empty placeholder rows.
* ``list``: ``items`` as list entries.
* ``card``: ``text`` as its body.
* ``button``: ``text`` (or the title) as its label.
* ``search``: a search box, ``text`` as its placeholder.
* ``chart``: a chart placeholder titled ``title``, ``text`` as its caption.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "COMPONENT_KINDS",
    "FIELD_TYPES",
    "Component",
    "ComponentKind",
    "FieldType",
    "FormField",
    "PageSpec",
    "Section",
]

ComponentKind = Literal["form", "table", "list", "card", "button", "search", "chart"]
FieldType = Literal["text", "number", "date", "time", "email", "phone", "select", "textarea", "checkbox"]

COMPONENT_KINDS: tuple[str, ...] = get_args(ComponentKind)
"""Every component kind a page may hold, in the order the docs list them."""

FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
"""Every input type a form field may have."""

_Label = Annotated[str, Field(min_length=1, max_length=40)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class FormField(_Spec):
    """One input of a form: what it asks for and its input type."""

    label: _Label
    type: FieldType


class Component(_Spec):
    """One component of a section; ``type`` says which of the other fields it shows."""

    type: ComponentKind
    title: str = Field(max_length=60)
    fields: list[FormField] = Field(max_length=8, description="form inputs (form only)")
    columns: list[_Label] = Field(max_length=8, description="table column headers (table only)")
    items: list[_Label] = Field(max_length=8, description="list entries (list only)")
    text: str = Field(max_length=200, description="card body, button label, search placeholder or chart caption")


class Section(_Spec):
    """A titled part of the page holding one to four components."""

    heading: str = Field(min_length=1, max_length=60)
    components: list[Component] = Field(min_length=1, max_length=4)


class PageSpec(_Spec):
    """A front-end page prototype as data."""

    title: str = Field(min_length=1, max_length=80)
    navigation: list[_Label] = Field(min_length=1, max_length=6)
    sections: list[Section] = Field(min_length=1, max_length=4)
