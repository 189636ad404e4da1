"""Schema linking by exact mention: catalog names, labels and synonyms that appear verbatim in the question.

A 135M model picks the wrong enum value surprisingly often even when the question says "GMV" outright. When a
metric's label or synonym appears in the question, that is near-certain evidence, so the graph narrows the
metric enum to the mentioned metrics and lists mentioned dimensions first. Overlapping mentions keep the
longest ("net GMV" beats "GMV"). Matching is case-insensitive on whole ASCII words and plain substrings for
Chinese, which has no spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.catalog import Catalog, Dimension, Metric

__all__ = ["mentioned_dimensions", "mentioned_metrics"]

_ASCII_WORD = re.compile(r"^[a-z0-9 _./-]+$")


def _terms(name: str, label_en: str, label_zh: str, synonyms: Iterable[str]) -> list[str]:
    terms = {name.replace("_", " "), label_en, label_zh, *synonyms}
    return sorted({t.strip().lower() for t in terms if t and len(t.strip()) >= 2}, key=len, reverse=True)


def _longest_mention(question: str, terms: list[str]) -> str | None:
    for term in terms:
        if _ASCII_WORD.match(term):
            if re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", question):
                return term
        elif term in question:
            return term
    return None


def _keep_longest(found: dict[str, str]) -> list[str]:
    """Drop names whose mention lies inside another name's longer mention."""
    kept = []
    for name, term in found.items():
        shadowed = any(term != other and term in other for other_name, other in found.items() if other_name != name)
        if not shadowed:
            kept.append(name)
    return sorted(kept, key=lambda n: len(found[n]), reverse=True)


def mentioned_metrics(question: str, catalog: Catalog) -> list[str]:
    """Metrics whose name, label or synonym the question contains, longest mention first."""
    return _mentioned(question, catalog.metrics)


def mentioned_dimensions(question: str, catalog: Catalog) -> list[str]:
    """Dimensions whose name, label or synonym the question contains, longest mention first."""
    return _mentioned(question, catalog.dimensions)


def _mentioned(question: str, items: Iterable[Metric | Dimension]) -> list[str]:
    text = question.lower()
    found = {}
    for item in items:
        terms = _terms(item.name, item.label.en, item.label.zh, [*item.synonyms.en, *item.synonyms.zh])
        term = _longest_mention(text, terms)
        if term is not None:
            found[item.name] = term
    return _keep_longest(found)
