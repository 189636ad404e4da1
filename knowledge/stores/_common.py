"""What every backend shares: name and record validation, keyword terms for Chinese and English, fusion.

Keyword search is tokenised here, not by the backend, so SQLite FTS5 and Weaviate rank the same terms: Latin
text splits into lower-cased words, and each run of CJK characters into overlapping character bigrams (a
one-character run stays one term), so "退款率" is indexed as "退款 款率" and the query "退款率是多少" matches it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from knowledge.stores.base import Filter, MetadataValue, Record
from kubeai.errors import VectorStoreError

__all__ = [
    "MAX_TERMS",
    "STOPWORDS",
    "check_collection",
    "check_filter",
    "check_key",
    "check_query",
    "check_records",
    "check_vector",
    "fuse",
    "keyword_terms",
    "matches",
    "query_terms",
]

_COLLECTION = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_CJK = (
    r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
    r"\U00020000-\U0002a6df\U0002a700-\U0002ebef"
)
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+")
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
MAX_TERMS = 512


def keyword_terms(text: str) -> list[str]:
    """The keyword terms of a text: lower-cased words, and character bigrams of CJK runs.

    Args:
        text: Any text; control characters and punctuation are ignored.

    Returns:
        Terms in order of appearance, duplicates kept (BM25 counts term frequency).
    """
    terms: list[str] = []
    for token in _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()):
        if _CJK_RUN.match(token):
            if len(token) == 1:
                terms.append(token)
            else:
                terms.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            terms.extend(part for part in token.split("_") if part)
    return terms


# English function words carry no topic: "how much did we sell in the east" should be ranked by
# "much", "sell", "east". Weaviate drops the same kind of words from BM25 queries (its "en" stopword preset).
# Chinese bigrams are kept: "多少" or "卖了" are what catalog synonyms are written with.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself yourselves s t d ll m
    re ve
    """.split()  # noqa: SIM905  (a word list reads better as text)
)


def query_terms(text: str) -> list[str]:
    """Distinct keyword terms of a query without English stopwords, at most :data:`MAX_TERMS`, in order."""
    return [t for t in dict.fromkeys(keyword_terms(text)) if t not in STOPWORDS][:MAX_TERMS]


def check_collection(name: str) -> str:
    """Return ``name`` if it is a valid collection name, else raise ``VectorStoreError``."""
    if not isinstance(name, str) or not _COLLECTION.match(name):
        raise VectorStoreError(
            f"Collection name {name!r} is invalid; use a letter then up to 62 letters, digits or underscores."
        )
    return name


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid metadata key, else raise ``VectorStoreError``."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise VectorStoreError(
            f"Metadata key {key!r} is invalid; use a letter or underscore then letters, digits or underscores."
        )
    return key


def _check_value(where: str, value: object) -> MetadataValue:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise VectorStoreError(f"{where} is {value!r}; metadata values must be strings, finite numbers or booleans.")


def check_vector(where: str, vector: Sequence[float], dimension: int | None) -> list[float]:
    """Validate one vector: numbers, finite, not all zero, of the collection's dimension if it has one."""
    try:
        floats = [float(x) for x in vector]
    except (TypeError, ValueError):
        raise VectorStoreError(f"{where} is not a sequence of numbers.") from None
    if not floats:
        raise VectorStoreError(f"{where} is empty; every record needs an embedding.")
    if dimension is not None and len(floats) != dimension:
        raise VectorStoreError(
            f"{where} has {len(floats)} dimensions but the collection holds {dimension}-dimensional vectors; "
            "use the same embedding model or a new collection."
        )
    if not all(math.isfinite(x) for x in floats):
        raise VectorStoreError(f"{where} contains NaN or infinite values.")
    if not any(floats):
        raise VectorStoreError(f"{where} is all zeros; cosine similarity is undefined for it.")
    return floats


def check_records(records: Sequence[Record], dimension: int | None) -> int:
    """Validate a batch before anything is written; returns the batch's vector dimension.

    Raises:
        VectorStoreError: A record is malformed, two records share an id, or dimensions differ.
    """
    seen: set[str] = set()
    dim = dimension
    for position, record in enumerate(records):
        if not isinstance(record, Record):
            raise VectorStoreError(f"Item {position} of the batch is a {type(record).__name__}, not a Record.")
        if not isinstance(record.id, str) or not record.id.strip():
            raise VectorStoreError(f"Record {position} has an empty id; every record needs a stable id.")
        if record.id in seen:
            raise VectorStoreError(f"Record id {record.id!r} appears twice in one batch; ids must be unique.")
        seen.add(record.id)
        if not isinstance(record.text, str):
            raise VectorStoreError(f"Record {record.id!r} has text of type {type(record.text).__name__}.")
        for key, value in record.metadata.items():
            check_key(key)
            _check_value(f"Record {record.id!r} metadata {key!r}", value)
        dim = len(check_vector(f"The vector of record {record.id!r}", record.vector, dim))
    if dim is None:
        raise VectorStoreError("An empty batch has no dimension.")
    return dim


def check_filter(where: Filter | None) -> dict[str, list[MetadataValue]]:
    """Normalise a filter to key -> allowed values (one value for equality), validating keys and values.

    An empty membership list matches nothing, as in set membership.
    """
    normal: dict[str, list[MetadataValue]] = {}
    if where is None:
        return normal
    if not isinstance(where, Mapping):
        raise VectorStoreError(f"A filter must be a mapping of metadata key to value(s), not {type(where).__name__}.")
    for key, value in where.items():
        check_key(key)
        values: Iterable[object] = value if isinstance(value, Sequence) and not isinstance(value, str) else (value,)
        normal[key] = [_check_value(f"Filter value for {key!r}", v) for v in values]
    return normal


def check_query(k: int, alpha: float) -> None:
    """Validate search arguments."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise VectorStoreError(f"k must be a positive integer, got {k!r}.")
    if not isinstance(alpha, int | float) or not 0.0 <= alpha <= 1.0:
        raise VectorStoreError(f"alpha must be between 0.0 and 1.0, got {alpha!r}.")


def matches(metadata: Mapping[str, MetadataValue], where: Mapping[str, list[MetadataValue]]) -> bool:
    """Whether metadata satisfies a normalised filter, with bool, number and string kept apart."""
    for key, allowed in where.items():
        if key not in metadata:
            return False
        value = metadata[key]
        if not any(_same(value, a) for a in allowed):
            return False
    return True


def _same(a: MetadataValue, b: MetadataValue) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return a == b


def fuse(
    keyword: Sequence[tuple[str, float]], vector: Sequence[tuple[str, float]], alpha: float, k: int
) -> list[tuple[str, float]]:
    """Relative-score fusion, as Weaviate's ``relativeScoreFusion``.

    Each ranking's scores are min-max scaled to [0, 1], then combined as ``alpha * vector + (1 - alpha) *
    keyword``; a record absent from a ranking gets 0 from it.

    Args:
        keyword: (id, score) pairs, higher is better.
        vector: (id, score) pairs, higher is better.
        alpha: Weight of the vector ranking.
        k: How many to return.

    Returns:
        The ``k`` best (id, fused score) pairs, best first; ties broken by id for determinism.
    """
    fused: dict[str, float] = {}
    for ranking, weight in ((vector, alpha), (keyword, 1.0 - alpha)):
        if weight <= 0.0 or not ranking:
            continue
        scores = [s for _, s in ranking]
        low, high = min(scores), max(scores)
        span = high - low
        for rid, score in ranking:
            scaled = (score - low) / span if span > 0 else 1.0
            fused[rid] = fused.get(rid, 0.0) + weight * scaled
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
