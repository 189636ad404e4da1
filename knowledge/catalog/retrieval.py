"""Find the metrics, dimensions and examples a question is about, as three separate ranked lists.

An agent fills one choice list with metric names and another with dimension names, so each kind is ranked on
its own (a metadata filter per kind) rather than all kinds competing for one top-k. For metrics and dimensions
three signals are added up:

* **Hybrid search** (BM25 + vector, weighted by ``alpha``) over the main entry and the short term entries of
  every item (see :mod:`knowledge.catalog.documents`); an item scores its best entry, so a question that says
  "退款率" or "basket size" meets the short entry that says exactly that.
* **Example votes**: the few worked examples most like the question add a little to the items they use.
* **Exact term matching**: a label or synonym that appears verbatim in the question (Chinese as a substring of
  at least two characters, English as whole words, a plural ``s`` allowed) adds :data:`EXACT_MATCH_BONUS`. A
  match inside a longer match of the same kind is dropped, so "新客成交额" boosts first-order GMV, not GMV.

Example:
    >>> matches = retrieve_catalog(kb, "上个月各渠道的退款率是多少？")
    >>> [h.metadata["name"] for h in matches.metrics][:1], [h.metadata["name"] for h in matches.dimensions][:1]
    (['refund_rate'], ['channel'])
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.catalog.documents import CATALOG_COLLECTION, MAIN_PART, TERM_PART
from knowledge.index import Hit, KnowledgeBase
from kubeai.errors import VectorStoreError

__all__ = [
    "DEFAULT_ALPHA",
    "EXACT_MATCH_BONUS",
    "EXAMPLE_VOTE",
    "EXAMPLE_VOTERS",
    "CatalogMatches",
    "named_in",
    "normal_form",
    "retrieve_catalog",
    "term_spans",
]

DEFAULT_ALPHA = 0.8
"""Vector-heavy fusion: with short term entries, BM25 over Chinese bigrams rewards generic words ("多少", "每单")
that many terms share. On the catalog question set, alpha 0.7-0.9 beat 0.5 (benchmarks/retrieval.py)."""

EXACT_MATCH_BONUS = 0.3
"""Added to an item's hybrid score (which lies in [0, 1]) when one of its terms appears in the question.

Chosen on the odd ids of the catalog question set (0.2-0.3 best; 1.0, "named items always first", was worse:
colloquial questions often contain some other item's term)."""

EXAMPLE_VOTE = 0.1
"""Weight of an example's vote: each of the best :data:`EXAMPLE_VOTERS` examples adds ``EXAMPLE_VOTE`` times its
hybrid score to the metrics and dimensions it uses (a similar worked question is mild evidence)."""

EXAMPLE_VOTERS = 3

_POOL = 64
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


@dataclass(frozen=True)
class CatalogMatches:
    """The catalog items a question is about, one ranked list per kind, best first, one hit per item.

    Attributes:
        metrics: Main entries of metrics (``id`` ``metric:<name>``, ``metadata["name"]`` the metric name).
        dimensions: Main entries of dimensions (``id`` ``dimension:<name>``).
        examples: Example entries (``id`` ``example:<i>``).
    """

    metrics: tuple[Hit, ...]
    dimensions: tuple[Hit, ...]
    examples: tuple[Hit, ...]


def retrieve_catalog(
    kb: KnowledgeBase,
    question: str,
    *,
    metrics_k: int = 5,
    dimensions_k: int = 5,
    examples_k: int = 3,
    alpha: float = DEFAULT_ALPHA,
    collection: str = CATALOG_COLLECTION,
) -> CatalogMatches:
    """The best metrics, dimensions and examples for a question, each kind ranked separately.

    The question is embedded once. Term entries are folded into their item (one hit per metric or dimension,
    carrying the item's main entry); items named verbatim in the question, and items used by similar examples,
    get a bonus.

    Args:
        kb: A knowledge base holding the catalog's entries (see :func:`knowledge.catalog.index_catalog`).
        question: The question, in Chinese or English.
        metrics_k: How many metrics at most (``0``: none).
        dimensions_k: How many dimensions at most (``0``: none).
        examples_k: How many examples at most (``0``: none).
        alpha: Hybrid weight of the vector ranking, ``0.0`` keyword only to ``1.0`` vector only.
        collection: The collection the catalog was indexed into.

    Returns:
        Three ranked tuples of hits; all empty for a blank question.

    Raises:
        VectorStoreError: A ``k`` is negative, ``alpha`` is outside [0, 1], or the store failed.
    """
    for name, value in (("metrics_k", metrics_k), ("dimensions_k", dimensions_k), ("examples_k", examples_k)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise VectorStoreError(f"{name} must be a whole number of at least 0, got {value!r}.")
    if not 0.0 <= alpha <= 1.0:
        raise VectorStoreError(f"alpha must be between 0.0 and 1.0, got {alpha!r}.")
    if not question.strip() or not (metrics_k or dimensions_k or examples_k):
        return CatalogMatches(metrics=(), dimensions=(), examples=())
    vector = kb.embeddings.embed_query(question)
    examples = kb.store.search(
        collection,
        text=question,
        vector=vector,
        k=max(examples_k, EXAMPLE_VOTERS),
        alpha=alpha,
        where={"kind": "example"},
    )
    voters = examples[:EXAMPLE_VOTERS]
    metrics = _ranked(
        kb, collection, "metric", question=question, vector=vector, k=metrics_k, alpha=alpha, voters=voters
    )
    dimensions = _ranked(
        kb, collection, "dimension", question=question, vector=vector, k=dimensions_k, alpha=alpha, voters=voters
    )
    return CatalogMatches(metrics=tuple(metrics), dimensions=tuple(dimensions), examples=tuple(examples[:examples_k]))


def _ranked(
    kb: KnowledgeBase,
    collection: str,
    kind: str,
    *,
    question: str,
    vector: Sequence[float],
    k: int,
    alpha: float,
    voters: Sequence[Hit],
) -> list[Hit]:
    """The ``k`` best items of a kind: best hybrid score over its entries, exact-match bonus, example votes."""
    if k == 0:
        return []
    hits = kb.store.search(collection, text=question, vector=vector, k=_POOL, alpha=alpha, where={"kind": kind})
    scores: dict[str, float] = {}
    for hit in hits:
        name = str(hit.metadata.get("name", ""))
        if name and hit.score > scores.get(name, float("-inf")):
            scores[name] = hit.score
    stored = kb.get(collection, where={"kind": kind})
    terms = [h for h in stored if h.metadata.get("part") == TERM_PART]
    for name in named_in(question, [(str(t.metadata.get("name", "")), t.text) for t in terms]):
        scores[name] = scores.get(name, 0.0) + EXACT_MATCH_BONUS
    for example in voters:
        for name in str(example.metadata.get(f"{kind}s", "")).split(","):
            if name:
                scores[name] = scores.get(name, 0.0) + EXAMPLE_VOTE * example.score
    # Entries indexed before term entries existed have no "part": they are main entries too.
    mains = {str(h.metadata.get("name", "")): h for h in stored if h.metadata.get("part", MAIN_PART) == MAIN_PART}
    best = sorted(((n, s) for n, s in scores.items() if n in mains), key=lambda item: (-item[1], item[0]))[:k]
    return [Hit(id=mains[n].id, text=mains[n].text, score=score, metadata=mains[n].metadata) for n, score in best]


def normal_form(text: str) -> str:
    """The text as term matching reads it (NFKC, case-folded): positions in it are :func:`term_spans` positions."""
    return unicodedata.normalize("NFKC", text).casefold()


def named_in(question: str, terms: Sequence[tuple[str, str]]) -> set[str]:
    """Names whose term appears verbatim in the question, without matches nested inside longer ones."""
    return {name for _, _, name in term_spans(question, terms)}


def term_spans(question: str, terms: Sequence[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """Where each term appears in the (normalized) question, as ``(start, end, name)``, in order of position.

    The matching rules of :func:`named_in`: English terms as whole words (see :func:`_english_pattern`), Chinese
    terms of two or more characters anywhere, and a match that overlaps a longer match of any term does not count:
    in "how many orders were placed", "orders were placed" (Orders placed) outweighs "how many orders".
    """
    text = normal_form(question)
    spans: list[tuple[int, int, str]] = []
    for name, term in terms:
        needle = normal_form(term).strip()
        if not name or not needle:
            continue
        if _CJK.search(needle):
            if len(needle) >= 2:
                spans.extend((m.start(), m.end(), name) for m in re.finditer(re.escape(needle), text))
        elif needle.split(" ", 1)[0][:-1] in text:  # a cheap test first: a warehouse has thousands of values
            spans.extend((m.start(), m.end(), name) for m in _english_pattern(needle).finditer(text))
    kept = {
        (start, end, name)
        for start, end, name in spans
        if not any(s < end and start < e and (e - s) > (end - start) for s, e, _ in spans)
    }
    return sorted(kept)


# Auxiliary verbs a question puts between a term's words: "orders were placed" says "orders placed".
_AUXILIARIES = r"(?:(?:has|have|had|was|were|is|are|be|been|being|got|get|gets) ){0,2}"


@functools.lru_cache(maxsize=65536)
def _english_pattern(needle: str) -> re.Pattern[str]:
    """The regular expression an English term matches: whole words, its plural, auxiliary verbs between its words.

    Word boundaries are ASCII letters and digits only, so "GMV" next to Chinese (上月GMV是) still counts. The last
    word may take a plural ``s``/``es``, or ``ies`` for a final consonant and ``y`` (city, cities).
    """
    words = needle.split(" ")
    last = words[-1]
    if re.fullmatch(r".*[^aeiou]y", last):
        ending = rf"{re.escape(last[:-1])}(?:y|ies)"
    else:
        ending = rf"{re.escape(last)}(?:e?s)?"
    body = "".join(rf"{re.escape(word)} {_AUXILIARIES}" for word in words[:-1])
    return re.compile(rf"(?<![a-z0-9]){body}{ending}(?![a-z0-9])")
