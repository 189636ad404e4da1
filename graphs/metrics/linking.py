"""Schema linking by exact mention: catalog names, labels and synonyms that appear verbatim in the question.

A 135M model picks the wrong enum value surprisingly often even when the question says "GMV" outright. When a
metric's label or synonym appears in the question, that is near-certain evidence, so the graph narrows the
metric enum to the mentioned metrics and lists mentioned dimensions first. The matching rules (whole English
words with plurals and auxiliary verbs, Chinese substrings, a mention overlapping a longer one does not count)
are the catalog retrieval's own (:func:`~knowledge.catalog.retrieval.term_spans`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from knowledge.catalog import Catalog, Dimension, Metric, Synonyms
from knowledge.catalog.models import Occasion, standard_vocabulary
from knowledge.catalog.retrieval import named_in, normal_form, term_spans
from tools.metric_query.values import DimensionValues

__all__ = [
    "Ranking",
    "asks_future",
    "asks_share",
    "breakdown_dimensions",
    "mentioned_dimensions",
    "mentioned_grain",
    "mentioned_metrics",
    "mentioned_occasion",
    "mentioned_period",
    "mentioned_periods",
    "mentioned_ranking",
    "mentioned_values",
    "named_years",
    "open_breakdown_cue",
    "share_with_value",
    "shared_within",
]


def mentioned_metrics(question: str, catalog: Catalog) -> list[str]:
    """Metrics whose name, label or synonym the question contains, in catalog order.

    A metric word inside a longer dimension name does not count: "sales" in "sales channel" is no GMV.
    """
    return _mentioned(question, catalog, "metric")


def mentioned_dimensions(question: str, catalog: Catalog) -> list[str]:
    """Dimensions whose name, label or synonym the question contains, in catalog order.

    A dimension word inside a longer metric name does not count.
    """
    return _mentioned(question, catalog, "dimension")


def _mentioned(question: str, catalog: Catalog, kind: Literal["metric", "dimension"]) -> list[str]:
    """Names of one kind found among the mentions of every metric and dimension, so the longest mention wins."""
    terms = [(f"metric\x00{n}", t) for n, t in _terms(catalog.metrics)]
    terms += [(f"dimension\x00{n}", t) for n, t in _terms(catalog.dimensions)]
    found = {key.partition("\x00")[2] for key in named_in(question, terms) if key.startswith(f"{kind}\x00")}
    listed = catalog.metrics if kind == "metric" else catalog.dimensions
    return [item.name for item in listed if item.name in found]


def _terms(items: Iterable[Metric | Dimension]) -> Iterator[tuple[str, str]]:
    """Each item's name, labels and synonyms, with a count's other openings (see :func:`_count_variants`)."""
    for item in items:
        for term in (item.name.replace("_", " "), item.label.en, item.label.zh, *item.synonyms.en, *item.synonyms.zh):
            for variant in _count_variants(term):
                yield item.name, variant


def _count_variants(term: str) -> tuple[str, ...]:
    """The term, and the term opened by every other count opener when it starts with one ("how many refunds")."""
    openers = standard_vocabulary().count_openers.all()
    lowered = term.lower()
    for opener in openers:
        if lowered.startswith(f"{opener.lower()} "):
            rest = term[len(opener) :]
            return (term, *(f"{other}{rest}" for other in openers if other != opener))
    return (term,)


def mentioned_values(
    question: str, catalog: Catalog, values: DimensionValues, *, among: Collection[str] | None = None
) -> dict[str, list[str | int | float]]:
    """Dimension values the question names (直播, East China, wechat pay), per dimension, as the warehouse holds them.

    A value counts when its code, English or Chinese name, or a name the catalog gives it (``value_names``)
    appears in the question by the rules of :func:`named_in`, and is not part of a longer mention of a metric, a
    dimension or another value: "delivered parcels" names a metric, and 一线 inside 新一线 is not Tier 1. Numbers
    alone ("3") never count: they are far likelier a count or a date than a code. Only the dimensions in
    ``among`` are looked at (default: all); a name that two of them hold (丢件: a lost parcel, a loss claim) is
    ambiguous and counts for neither.
    """
    keys: dict[str, tuple[str, str | int | float]] = {}
    terms: list[tuple[str, str]] = list(_terms([*catalog.metrics, *catalog.dimensions]))
    for dimension, held in values.values.items():
        if among is not None and dimension not in among:
            continue
        for index, item in enumerate(held):
            key = f"\x00{dimension}\x00{index}"
            keys[key] = (dimension, item.value)
            code, *names = item.names
            for text in dict.fromkeys((code.replace("_", " "), *names)):
                if _nameable(text):
                    terms.append((key, text))
    by_span: dict[tuple[int, int], list[tuple[str, str | int | float]]] = {}
    for start, end, key in term_spans(question, terms):
        if key in keys:
            by_span.setdefault((start, end), []).append(keys[key])
    found: dict[str, list[str | int | float]] = {}
    for named in by_span.values():
        if len({dimension for dimension, _ in named}) > 1:
            continue
        for dimension, value in named:
            if value not in found.setdefault(dimension, []):
                found[dimension].append(value)
    return found


def _nameable(text: str) -> bool:
    """Whether a value's text can stand for the value in a question: not blank, a lone letter or a number.

    A range such as an age band ("18-24") counts.
    """
    stripped = text.strip()
    if not stripped or stripped.replace(".", "", 1).lstrip("-").isdigit():
        return False
    return not (stripped.isascii() and len(stripped) < 2)


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


def mentioned_occasion(question: str, catalog: Catalog) -> Occasion | None:
    """The one occasion of the catalog's calendar the question names (双十一, 618), if exactly one."""
    occasions = catalog.conventions.occasions
    terms = [(o.name, phrase) for o in occasions for phrase in (o.label.en, o.label.zh, *o.phrases.all())]
    found = named_in(question, terms)
    if len(found) != 1:
        return None
    return next(o for o in occasions if o.name in found)


def named_years(question: str) -> set[int]:
    """The calendar years a question names by number (2025年, in 2024)."""
    return {int(m.group(0)) for m in _YEAR.finditer(question)}


def mentioned_periods(question: str, catalog: Catalog) -> list[str]:
    """Every catalog period the question names (a comparison may name two), in catalog order."""
    terms = [(period.name, phrase) for period in catalog.periods() for phrase in _phrases(period.phrases)]
    found = named_in(question, terms)
    return [p.name for p in catalog.periods() if p.name in found]


def mentioned_grain(question: str, catalog: Catalog) -> str | None:
    """The time grain a question asks to group by (按月, monthly -> month), from the catalog's grain phrases.

    A phrase that overlaps the name of a metric or a dimension other than a time one does not count: 各年 in
    各年龄段 is "each age band".
    Of several phrases the longest wins.
    """
    grain_terms = [
        (f"\x00{grain}", phrase) for grain, words in catalog.grain_phrases().items() for phrase in words.all()
    ]
    named: list[Metric | Dimension] = [*catalog.metrics, *(d for d in catalog.dimensions if d.type != "time")]
    spans = term_spans(question, [*grain_terms, *_terms(named)])
    names = [(start, end) for start, end, key in spans if not key.startswith("\x00")]
    found = [
        (end - start, key[1:])
        for start, end, key in spans
        if key.startswith("\x00") and not any(start < e and s < end for s, e in names)
    ]
    return max(found)[1] if found else None


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


def open_breakdown_cue(question: str, catalog: Catalog) -> bool:
    """Whether a breakdown cue stands before no dimension or grain the catalog names ("by reason", 各类客户, 分别).

    Such a question may ask for a breakdown in words of its own, which only a model can map to a dimension; a
    cue right before a catalog term ("for each refund reason", 各个大区, 每个月) is accounted for by that term. Of
    cues starting at one place the longest counts (各个, not 各).
    """
    text = normal_form(question)  # term_spans positions
    grains = [("\x00", phrase) for words in catalog.grain_phrases().values() for phrase in words.all()]
    starts = {start for start, _, _ in term_spans(question, [*_terms(catalog.dimensions), *grains])}
    cues = catalog.breakdown_cues()
    ends: dict[int, int] = {}
    for cue in cues.all():
        word = cue.strip().casefold()
        pattern = rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])\s*" if word.isascii() else re.escape(word)
        for match in re.finditer(pattern, text):
            ends[match.start()] = max(ends.get(match.start(), 0), match.end())
    return any(end not in starts for end in ends.values())


def _phrases(words: Synonyms) -> tuple[str, ...]:
    return words.all()


@dataclass(frozen=True)
class Ranking:
    """A ranking the question asks for: the sort direction, and how many rows (``None``: all, in order)."""

    direction: Literal["asc", "desc"]
    limit: int | None


_EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "fifty": 50, "hundred": 100,
}  # fmt: skip
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_NUMBER = r"[0-9]+|[一二两三四五六七八九十]{1,3}"
# A count of things in Chinese comes with a measure word; 天, 月, 年 and 公斤 make it a span or an amount instead.
_ZH_MEASURES = "个家名位种座条款只件项类"
_EN_NUMBER = rf"[0-9]+|{'|'.join(_EN_NUMBERS)}"
_EN_NOT_COUNTED = r"(?:days?|weeks?|months?|quarters?|years?|hours?|kg|kilograms?|percent|%|times)\b"


def mentioned_ranking(question: str) -> Ranking | None:
    """The ranking a question asks for, from the standard vocabulary's ranking cues; ``None`` when it asks none.

    A superlative sets the direction ("the most" -> desc, 最少 -> asc). The row count is a number the ranking
    names ("top 5", "the ten brands with the highest", 前十, 最高的三个); without one, a singular question word
    ("Which channel had the most", 哪个) and a word naming the first place ("led on", 第一的) ask for the top row,
    a "sort" word (排一下, "rank them") for every row in
    order, and anything else for no ranking. "top N" and 前N alone are rankings too.
    """
    cues = standard_vocabulary().ranking_cues
    text = question.casefold()
    count = _ranked_count(text)
    direction = _direction(text, cues.desc, cues.asc)
    if count is None and any(_has(text, word) for word in cues.first.all()):
        return Ranking(direction or "desc", 1)
    if direction is None:
        return Ranking("desc", count) if count is not None and _top_phrase(text) else None
    if count is not None:
        return Ranking(direction, count)
    if any(_has(text, word) for word in cues.sort.all()):
        return Ranking(direction, None)
    if any(_has(text, word) for word in cues.which.all()):
        return Ranking(direction, 1)
    return None


def _direction(text: str, desc: Synonyms, asc: Synonyms) -> Literal["asc", "desc"] | None:
    """The direction of the first superlative in the question (前 and 后 count only before a number)."""
    found: list[tuple[int, Literal["asc", "desc"]]] = []
    for direction, words in (("desc", desc), ("asc", asc)):
        for word in words.all():
            position = _position(text, word)
            if position is not None:
                found.append((position, direction))  # type: ignore[arg-type]
    return min(found)[1] if found else None


def _position(text: str, word: str) -> int | None:
    """Where a cue stands in the text: English as a whole word, Chinese anywhere (one character: before a count)."""
    needle = word.casefold()
    if needle.isascii():
        match = re.search(rf"(?<![a-z]){re.escape(needle)}(?![a-z])", text)
    elif len(needle) == 1:
        match = re.search(rf"{re.escape(needle)}(?:{_ZH_NUMBER})", text)
    else:
        match = re.search(re.escape(needle), text)
    return match.start() if match else None


def _has(text: str, word: str) -> bool:
    return _position(text, word) is not None


def _top_phrase(text: str) -> bool:
    """Whether a count is a ranking on its own: "top 5", "bottom three", 前十, 倒数三."""
    return bool(re.search(rf"\b(?:top|bottom)[ -](?:{_EN_NUMBER})\b|(?:前|倒数|后)(?:{_ZH_NUMBER})", text))


def _ranked_count(text: str) -> int | None:
    """How many rows the ranking asks for, or ``None`` when it names no count."""
    patterns = (
        rf"\b(?:top|bottom|first|last)[ -]({_EN_NUMBER})\b(?!\s*{_EN_NOT_COUNTED})",
        rf"\b(?:which|what|the|list|show|name)\s+({_EN_NUMBER})\b(?!\s*{_EN_NOT_COUNTED})",
        rf"(?:前|倒数|后)({_ZH_NUMBER})(?:[{_ZH_MEASURES}]|$|[^0-9一二两三四五六七八九十天月年周日号])",
        rf"(?:最\w{{1,2}}的)({_ZH_NUMBER})[{_ZH_MEASURES}]",
        rf"({_ZH_NUMBER})[{_ZH_MEASURES}][^，。？?,]{{0,8}}最",
    )
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            number = _number(match.group(1))
            if number is not None and 0 < number <= 1000:
                return number
    return None


def _number(word: str) -> int | None:
    """A count written in digits, English words (up to a hundred) or Chinese numerals (up to 99)."""
    if word.isdigit():
        return int(word)
    if word in _EN_NUMBERS:
        return _EN_NUMBERS[word]
    if "十" in word:
        tens, _, units = word.partition("十")
        return _ZH_DIGITS.get(tens, 1 if not tens else 0) * 10 + _ZH_DIGITS.get(units, 0)
    return _ZH_DIGITS.get(word) if len(word) == 1 else None


def asks_share(question: str) -> bool:
    """Whether the question asks for each row's share of the total (占比, "share of"), from the share cues."""
    return _cued(question, standard_vocabulary().share_cues)


def share_with_value(question: str) -> bool:
    """Whether a share is asked beside the value itself ("with each one's share", 及其占比), from the cues."""
    return _cued(question, standard_vocabulary().with_value_cues)


def shared_within(question: str) -> bool:
    """Whether a share is asked within groups ("within each region", 各大区内部), from the within cues."""
    return _cued(question, standard_vocabulary().within_cues)


def asks_future(question: str) -> bool:
    """Whether the question asks about days after the data ends (明年, next month, forecast), from the future cues."""
    return _cued(question, standard_vocabulary().future_cues)


def _cued(question: str, cues: Synonyms) -> bool:
    return bool(named_in(question, [("cue", word) for word in cues.all()]))
