"""Product documents as answerable sections, and the check that an answer agrees with them.

:func:`load_sections` splits Markdown documents at their headings: an FAQ entry (a heading that is a question)
is a section, a manual section is one, and each item of a "- KEY: text" list (the error codes) is one too.

:func:`consistency` is the documented, simple test an answer from a chat log must pass before it is trained on:

1. ``facts``: every fact it states is in the documents of its language. A fact is an error code (E3) or a number
   with its unit or currency ("6 months", "$39", "2-year", "199 元", "1-3 天"; each end of a range counts alone).
   An outdated answer ("a 1-year warranty", "replace every 12 months") states a figure the documents do not, and
   fails. Numbers without a unit are not compared, and wording is not: "E3 is a Wi-Fi error" passes, since E3
   exists. That is the price of a check with no model in it.
2. ``grounded``: at least :data:`GROUNDED_CONTAINMENT` of the answer's character shingles
   (:func:`finetune.clean.shingles`) occur in one section, which becomes the answer's ``section``. An answer that
   shares little with any section (a promise, an opinion, another product) fails.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from finetune.clean import shingles
from kubeai.errors import TrainingError

__all__ = [
    "GROUNDED_CONTAINMENT",
    "Consistency",
    "DocSection",
    "consistency",
    "facts",
    "load_sections",
    "parse_markdown",
    "shipped_docs_path",
]

GROUNDED_CONTAINMENT = 0.35
"""Share of an answer's shingles one section must contain. The shipped logs' correct answers, which reword the
FAQ, reach 0.45 to 1.0; an answer about something the documents never mention stays under 0.2."""

SectionKind = Literal["faq", "manual", "item"]

_NUMBER = r"\d+(?:[.,]\d+)*"
_UNITS_EN = (
    r"%|db|w|v|kg|cm|m2|m3/h|μm|sq ft|ghz|hours?|minutes?|seconds?|business days?|working days?|days?|weeks?|"
    r"months?|years?|family members?|times"
)
_UNITS_ZH = r"%|db|w|v|ghz|个月|个工作日|天|年|小时|分钟|秒|分贝|公斤|厘米|平方米|米|元|位|次|片|μg/m3|微米"
_FACT = re.compile(
    rf"(?<![a-z0-9.])(\$)?({_NUMBER})(?:\s*(?:-|–|~|to|至|到)\s*\$?({_NUMBER}))?\s*-?\s*"
    rf"({_UNITS_EN}|{_UNITS_ZH})?(?![a-z])"
)
_ERROR_CODE = re.compile(r"(?<![a-z0-9])e\d{1,2}(?![0-9])")
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_ITEM = re.compile(r"^[-*]\s+([A-Za-z0-9][\w-]{0,5})\s*[:：]\s*(.+)$")
_CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


@dataclass(frozen=True, kw_only=True)
class DocSection:
    """A piece of a product document that answers questions on its own.

    Attributes:
        id: ``<file stem>#<n>`` (``faq_en#4``), or ``<file stem>#<n>.<KEY>`` for a list item.
        language: ``en`` or ``zh``, from the file name's ``_en`` / ``_zh`` ending.
        kind: ``faq`` (the title is a question), ``manual`` or ``item`` (one "- KEY: text" list item).
        title: The heading, or the item's key (``E3``).
        text: The body as plain text, lines joined.
    """

    id: str
    language: str
    kind: SectionKind
    title: str
    text: str


@dataclass(frozen=True, kw_only=True)
class Consistency:
    """What :func:`consistency` found.

    Attributes:
        unsupported: The answer's facts the documents do not state.
        section: The section that contains most of the answer's shingles, or ``None`` when there are none.
        containment: The share of the answer's shingles that section contains.
    """

    unsupported: tuple[str, ...]
    section: DocSection | None
    containment: float

    @property
    def reason(self) -> str | None:
        """``contradicts_docs``, ``ungrounded`` or ``None`` when the answer may be trained on."""
        if self.unsupported:
            return "contradicts_docs"
        if self.section is None or self.containment < GROUNDED_CONTAINMENT:
            return "ungrounded"
        return None


def shipped_docs_path() -> Path:
    """The AeroPure 3 documents shipped with the example (``finetune/data/customer_service/docs``)."""
    return Path(str(resources.files("finetune.data.customer_service").joinpath("docs")))


def load_sections(folder: Path) -> list[DocSection]:
    """Every section of the ``*_en.md`` and ``*_zh.md`` files in ``folder``, files in name order.

    Raises:
        TrainingError: The folder holds no such file, or one cannot be read.
    """
    files = sorted(p for p in folder.glob("*.md") if p.stem.endswith(("_en", "_zh")))
    if not files:
        raise TrainingError(f"{folder} holds no product documents named like manual_en.md or faq_zh.md.")
    sections: list[DocSection] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TrainingError(f"Cannot read the product document {path}: {exc}.") from None
        sections.extend(parse_markdown(text, stem=path.stem, language=path.stem[-2:]))
    return sections


def parse_markdown(text: str, *, stem: str, language: str) -> list[DocSection]:
    """Split one Markdown document into sections (see :class:`DocSection`); the top-level title is skipped.

    A heading whose body is empty (a chapter heading in an FAQ) makes no section. A body that is a "- KEY: text"
    list makes one ``item`` section per entry instead of one for the whole list.
    """
    sections: list[DocSection] = []
    blocks: list[tuple[int, str, list[str]]] = []
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            blocks.append((len(heading.group(1)), heading.group(2), []))
        elif blocks:
            blocks[-1][2].append(line)
    for number, (level, title, lines) in enumerate(blocks):
        if level == 1:
            continue
        items, prose = _split_items(lines)
        section_id = f"{stem}#{number}"
        for key, item_text in items:
            sections.append(
                DocSection(
                    id=f"{section_id}.{key}", language=language, kind="item", title=key, text=f"{key}: {item_text}"
                )
            )
        body = join_lines(prose)
        if body and not items:
            kind: SectionKind = "faq" if title.endswith(("?", "？")) else "manual"
            sections.append(DocSection(id=section_id, language=language, kind=kind, title=title, text=body))
    return sections


def join_lines(lines: Iterable[str]) -> str:
    """Lines of a paragraph as one string: a space between English words, none between Chinese characters."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if out and not (_CJK.match(out[-1]) or _CJK.match(line[0])):
            out += " "
        out += line
    return out


def facts(text: str) -> set[str]:
    """The error codes and numbers-with-unit a text states, normalized (``6 month``, ``$39``, ``e3``)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    found = set(_ERROR_CODE.findall(folded))
    for match in _FACT.finditer(folded):
        dollar, first, second, unit = match.groups()
        if not dollar and not unit:
            continue
        label = "$" if dollar else _singular(unit)
        for number in (first, second):
            if number:
                value = number.replace(",", "")
                found.add(f"${value}" if label == "$" else f"{value} {label}")
    return found


def consistency(answer: str, sections: Sequence[DocSection], *, language: str) -> Consistency:
    """Whether ``answer`` agrees with the documents of ``language`` (see the module's description)."""
    own = [s for s in sections if s.language == language]
    known = set().union(*(facts(s.text) for s in own)) if own else set()
    unsupported = tuple(sorted(facts(answer) - known))
    grams = shingles(answer)
    best: DocSection | None = None
    share = 0.0
    for section in own:
        value = len(grams & shingles(section.text)) / len(grams) if grams else 0.0
        if value > share:
            best, share = section, value
    return Consistency(unsupported=unsupported, section=best, containment=share)


def _split_items(lines: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The "- KEY: text" entries of a body (continuation lines joined) and the other lines."""
    items: list[tuple[str, list[str]]] = []
    prose: list[str] = []
    for line in lines:
        match = _ITEM.match(line.strip())
        if match:
            items.append((match.group(1), [match.group(2)]))
        elif items and line.startswith((" ", "\t")) and line.strip():
            items[-1][1].append(line)
        else:
            prose.append(line)
    return [(key, join_lines(parts)) for key, parts in items], prose


def _singular(unit: str) -> str:
    unit = " ".join(unit.split())
    return unit[:-1] if unit.isascii() and unit.endswith("s") and unit not in ("%",) else unit
