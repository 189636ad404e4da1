"""Schema linking by exact mention: catalog names, labels and synonyms that appear verbatim in the question.

A 135M model picks the wrong enum value surprisingly often even when the question says "GMV" outright. When a
metric's label or synonym appears in the question, that is near-certain evidence, so the graph narrows the
metric enum to the mentioned metrics and lists mentioned dimensions first. The matching rules (whole English
words, Chinese substrings, a mention nested in a longer one does not count) are the catalog retrieval's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from knowledge.catalog import Catalog, Dimension, Metric, Synonyms
from knowledge.catalog.retrieval import named_in

__all__ = [
    "breakdown_dimensions",
    "mentioned_dimensions",
    "mentioned_grain",
    "mentioned_metrics",
    "mentioned_period",
    "mentioned_periods",
    "named_years",
]


def mentioned_metrics(question: str, catalog: Catalog) -> list[str]:
    """Metrics whose name, label or synonym the question contains, in catalog order."""
    return _mentioned(question, catalog.metrics)


def mentioned_dimensions(question: str, catalog: Catalog) -> list[str]:
    """Dimensions whose name, label or synonym the question contains, in catalog order."""
    return _mentioned(question, catalog.dimensions)


def _mentioned(question: str, items: Iterable[Metric | Dimension]) -> list[str]:
    listed = list(items)
    found = named_in(question, list(_terms(listed)))
    return [item.name for item in listed if item.name in found]


def _terms(items: Iterable[Metric | Dimension]) -> Iterator[tuple[str, str]]:
    for item in items:
        for term in (item.name.replace("_", " "), item.label.en, item.label.zh, *item.synonyms.en, *item.synonyms.zh):
            yield item.name, term


# Periods, grains and breakdowns said in so many words. The model fills these fields too, but a 135M model often
# leaves "all_time" for 上个月; a phrase that names the period outright is stronger evidence than its guess. The
# words come from the catalog (its conventions, else the standard vocabulary it picks from), never from code, so a
# second business gets the same behaviour by writing its catalog.
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")


def mentioned_period(question: str, catalog: Catalog) -> str | None:
    """The catalog period a question names outright (上个月 -> last_month), if any.

    A phrase nested in a longer one does not count ("last 12 months" is not also "last month"). A question that
    names a year (2024年上半年) or two different periods (last month against the same month last year) is left
    alone: its dates are explicit or a comparison, and the model fills them.
    """
    if _YEAR.search(question):
        return None
    terms = [(period.name, phrase) for period in catalog.periods() for phrase in _phrases(period.phrases)]
    found = named_in(question, terms)
    return next(iter(found)) if len(found) == 1 else None


def named_years(question: str) -> set[int]:
    """The calendar years a question names by number (2025年, in 2024)."""
    return {int(m.group(0)) for m in _YEAR.finditer(question)}


def mentioned_periods(question: str, catalog: Catalog) -> list[str]:
    """Every catalog period the question names (a comparison may name two), in catalog order."""
    terms = [(period.name, phrase) for period in catalog.periods() for phrase in _phrases(period.phrases)]
    found = named_in(question, terms)
    return [p.name for p in catalog.periods() if p.name in found]


def mentioned_grain(question: str, catalog: Catalog) -> str | None:
    """The time grain a question asks to group by (按月, monthly -> month), from the catalog's grain phrases."""
    terms = [(grain, phrase) for grain, words in catalog.grain_phrases().items() for phrase in _phrases(words)]
    return _longest(question, terms)


def breakdown_dimensions(question: str, catalog: Catalog) -> list[str]:
    """Groupable dimensions the question asks to break the numbers down by (各地区, by channel).

    A dimension counts when one of the catalog's breakdown cues stands right before one of its terms.
    """
    text = question.lower()
    cues = catalog.breakdown_cues()
    found = []
    for name, term in _terms(catalog.dimensions):
        needle = term.strip().lower()
        if len(needle) < 2:
            continue
        ascii_term = needle.isascii()
        for cue in cues.en if ascii_term else cues.zh:
            joiner = r"\s+" if ascii_term else ""
            if re.search(rf"(?<![a-z]){re.escape(cue.lower())}{joiner}{re.escape(needle)}", text):
                found.append(name)
                break
    return list(dict.fromkeys(found))


def _phrases(words: Synonyms) -> tuple[str, ...]:
    return words.all()


def _longest(question: str, terms: list[tuple[str, str]]) -> str | None:
    """The name whose phrase, found in the question as a whole word, is longest."""
    found = named_in(question, terms)
    if not found:
        return None
    lengths = {name: max(len(t) for n, t in terms if n == name and named_in(question, [(n, t)])) for name in found}
    return max(found, key=lambda name: (lengths[name], name))
