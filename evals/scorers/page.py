"""Score a page spec against a reference: is it a valid spec, and does it have the components and fields it must.

A reference (an ``app`` dataset item's ``reference``, ``datasets/prototype``) names the component kinds a page for
the description must have and the fields it must ask for or show, each field as a group of acceptable names in
either language::

    {"components": ["search", "form", "table"],
     "fields": [["room", "会议室"], ["date", "日期"], ["start time", "开始时间", "time", "时间"]]}

* **validity**: the spec validates against :class:`~tools.pages.PageSpec`.
* **component recall**: the share of the reference's component kinds the page has (anywhere, any number of times).
* **field recall**: the share of the reference's field groups matched by a form field label or a table column of
  the page: a group matches when one of its names, case- and space-folded, is part of a label or column.

An invalid spec scores zero recall.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.pages import ComponentKind, PageSpec

__all__ = ["PageReference", "PageScores", "page_scores"]

_Names = Annotated[tuple[Annotated[str, Field(min_length=1, max_length=40)], ...], Field(min_length=1)]


class PageReference(BaseModel):
    """What a page for one description must have.

    Attributes:
        components: Component kinds the page must hold.
        fields: Fields it must ask for or show, each a group of acceptable names (English and Chinese).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    components: tuple[ComponentKind, ...] = Field(min_length=1)
    fields: tuple[_Names, ...] = Field(min_length=1)


@dataclass(frozen=True, kw_only=True)
class PageScores:
    """One page's scores.

    Attributes:
        valid: The spec validates.
        component_recall: Share of the reference's component kinds present (0 to 1).
        field_recall: Share of the reference's field groups matched (0 to 1).
        missing_components: Reference kinds the page lacks.
        missing_fields: Reference field groups not matched, by their first name.
    """

    valid: bool
    component_recall: float
    field_recall: float
    missing_components: tuple[str, ...]
    missing_fields: tuple[str, ...]


def page_scores(spec: PageSpec | Mapping[str, Any] | None, reference: PageReference) -> PageScores:
    """Score ``spec`` (a spec, its JSON data, or ``None`` when the app gave none) against ``reference``."""
    page: PageSpec | None
    if isinstance(spec, PageSpec):
        page = spec
    else:
        try:
            page = PageSpec.model_validate(spec) if spec is not None else None
        except ValidationError:
            page = None
    wanted_kinds = tuple(dict.fromkeys(reference.components))
    if page is None:
        return PageScores(
            valid=False,
            component_recall=0.0,
            field_recall=0.0,
            missing_components=wanted_kinds,
            missing_fields=tuple(group[0] for group in reference.fields),
        )
    components = [component for section in page.sections for component in section.components]
    kinds = {component.type for component in components}
    labels = [_fold(field.label) for component in components for field in component.fields]
    labels += [_fold(column) for component in components for column in component.columns]
    missing_kinds = tuple(kind for kind in wanted_kinds if kind not in kinds)
    missing_fields = tuple(
        group[0] for group in reference.fields if not any(_fold(name) in label for name in group for label in labels)
    )
    return PageScores(
        valid=True,
        component_recall=1 - len(missing_kinds) / len(wanted_kinds),
        field_recall=1 - len(missing_fields) / len(reference.fields),
        missing_components=missing_kinds,
        missing_fields=missing_fields,
    )


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split()).replace("_", "").replace("-", "")
