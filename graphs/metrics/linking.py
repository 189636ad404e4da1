"""Schema linking by exact mention: catalog names, labels and synonyms that appear verbatim in the question.

A 135M model picks the wrong enum value surprisingly often even when the question says "GMV" outright. When a
metric's label or synonym appears in the question, that is near-certain evidence, so the graph narrows the
metric enum to the mentioned metrics and lists mentioned dimensions first. The matching rules (whole English
words, Chinese substrings, a mention nested in a longer one does not count) are the catalog retrieval's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from knowledge.catalog import Catalog, Dimension, Metric
from knowledge.catalog.retrieval import named_in

__all__ = ["mentioned_dimensions", "mentioned_metrics"]


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
