"""Explicit calendar dates and date spans in a question, read by rules instead of guessed by a small model.

"From 2025-06-01 to 2025-06-18", "June 1-18, 2025", "6月1日到18日", "12月前7天", "December 2025": when a question
names its days outright, the query's time range should be exactly those days. A 135M model misreads them often,
so :func:`mentioned_dates` reads them deterministically, in English and Chinese, and answers only when the
question names one span and nothing about it is in doubt. Everything else (a bare year, a relative period such as
"last month" or 近7天, a comparison of two spans, an open end such as "since June 1") is left to other rules.

This module knows language only (month names, number words, separators), never business words.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["mentioned_dates"]

Span = tuple[date, date]

# ---------------------------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------------------------

_MONTH_NAMES = (
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
)
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)} | {
    name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)
}
_MONTHS["sept"] = 9

_EN_UNITS = (
    *("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
)
_EN_NUMBERS = (
    {word: number for number, word in enumerate(_EN_UNITS, start=1)}
    | {"twenty": 20, "thirty": 30, "thirty-one": 31}
    | {f"twenty-{word}": 20 + number for number, word in enumerate(_EN_UNITS[:9], start=1)}
)

_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_LAST = frozenset({"last", "最后", "最後"})

# ---------------------------------------------------------------------------------------------------------------
# Pattern pieces. The text is NFKC-normalised and lower-cased first, so full-width digits and punctuation
# (２０２５，（）～－) arrive as ASCII. Group names: a_* is the span's first end, b_* its last, y and m are a year and
# month written once for both ends, n and edge the "first/last N days" of a month.
# ---------------------------------------------------------------------------------------------------------------

_CN_NUM = "[一二两兩三四五六七八九十]{1,3}"
_EN_NUM = "|".join(sorted((w.replace("-", "[- ]") for w in _EN_NUMBERS), key=len, reverse=True))
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WORD_SEP = r"(?<![a-z])(?:to|through|thru|until|till)(?![a-z])"
_SEP = rf"\s*(?:{_WORD_SEP}|[-–—~〜到至])\s*"
_NO_DAY_AFTER = r"(?!\s*[0-9]{1,2}(?![0-9]))"


def _num(name: str) -> str:
    """A day or month number in digits or Chinese numerals."""
    return rf"(?P<{name}>(?<![0-9])[0-9]{{1,2}}(?![0-9])|{_CN_NUM})"


def _zh_year(end: str) -> str:
    return rf"(?P<{end}_y>(?<![0-9])(?:19|20)[0-9]{{2}})\s*年\s*(?:的\s*)?"


def _zh_month(end: str) -> str:
    return rf"{_num(end + '_m')}\s*月份?\s*"


def _zh_day(end: str, suffix: str = "") -> str:
    return rf"{_num(end + '_d')}\s*(?:日|号|號){suffix}"


def _en_year(name: str) -> str:
    return rf"(?:\s*,?\s*(?P<{name}>(?<![0-9])(?:19|20)[0-9]{{2}})(?![0-9]))"


def _en_month(name: str) -> str:
    return rf"(?<![a-z])(?P<{name}>{_MONTH_WORD})(?![a-z])\.?"


def _en_day(name: str) -> str:
    return rf"(?<![0-9])(?P<{name}>[0-9]{{1,2}})(?:st|nd|rd|th)?(?![0-9a-z])"


def _mdy(end: str) -> str:
    """June 1 / June 1st, 2025."""
    return rf"{_en_month(end + '_m')}\s*{_en_day(end + '_d')}{_en_year(end + '_y')}?"


def _dmy(end: str) -> str:
    """1 June / the 1st of June 2025."""
    return rf"{_en_day(end + '_d')}\s*(?:of\s+)?{_en_month(end + '_m')}{_en_year(end + '_y')}?"


def _iso(end: str) -> str:
    """2025-06-01, 2025/6/1 or 2025.6.1, with one separator throughout."""
    return (
        rf"(?<![0-9])(?P<{end}_y>(?:19|20)[0-9]{{2}})(?P<{end}_sep>[-/.])(?P<{end}_m>[0-9]{{1,2}})"
        rf"(?P={end}_sep)(?P<{end}_d>[0-9]{{1,2}})(?![0-9])"
    )


def _pairs(first: str, second: str) -> tuple[str, ...]:
    """A span written as two ends: "between A and B", "A和B之间", "from A to B", "A到B", "A-B"."""
    return (
        rf"(?<![a-z])between\s+{first}\s*(?:and|&)\s*{second}",
        rf"(?:在|介于|介於)?\s*{first}\s*(?:和|与|與|及|到|至)\s*{second}\s*之间",
        rf"(?:(?<![a-z])from\s+|从|從|自)?\s*{first}{_SEP}{second}",
    )


def _zh_rules() -> tuple[str, ...]:
    first_day = rf"(?:{_zh_year('a')})?{_zh_month('a')}{_zh_day('a', '?')}"
    # The last day needs its 日/号 unless it names its month too (6月1日到6月18 reads, 6月1日到18 does not).
    last_day = rf"(?:(?:{_zh_year('b')})?{_zh_month('b')})?{_num('b_d')}\s*(?(b_m)(?:日|号|號)?|(?:日|号|號))"
    first_month = rf"(?:{_zh_year('a')})?{_num('a_m')}\s*(?:月份?)?\s*"
    last_month = rf"(?:{_zh_year('b')})?{_zh_month('b')}{_NO_DAY_AFTER}"
    edge = rf"(?:{_zh_year('a')})?{_zh_month('a')}(?:的\s*)?(?P<edge>前|最后|最後)\s*{_num('n')}\s*(?:天|日)"
    single = rf"(?:{_zh_year('a')})?{_zh_month('a')}{_zh_day('a')}"
    whole_month = rf"{_zh_year('a')}{_zh_month('a')}(?!\s*(?:[0-9]|{_CN_NUM}))"
    return (*_pairs(first_day, last_day), *_pairs(first_month, last_month), edge, single, whole_month)


def _en_rules() -> tuple[str, ...]:
    edge = (
        rf"(?<![a-z])(?:the\s+)?(?P<edge>first|last)\s+(?P<n>{_EN_NUM}|[0-9]{{1,2}})\s+days?\s+(?:of|in)\s+"
        rf"{_en_month('a_m')}{_en_year('a_y')}?"
    )
    full_dates = [pattern for a in (_mdy, _dmy) for b in (_mdy, _dmy) for pattern in _pairs(a("a"), b("b"))]
    month_days = _pairs(rf"{_en_month('a_m')}\s*{_en_day('a_d')}", rf"{_en_day('b_d')}{_en_year('y')}?")
    days_month = _pairs(_en_day("a_d"), rf"{_en_day('b_d')}\s*(?:of\s+)?{_en_month('m')}{_en_year('y')}?")
    months = _pairs(
        rf"{_en_month('a_m')}{_NO_DAY_AFTER}{_en_year('a_y')}?",
        rf"{_en_month('b_m')}{_NO_DAY_AFTER}{_en_year('b_y')}?",
    )
    whole_month = rf"{_en_month('a_m')}{_en_year('a_y')}"
    return (edge, *full_dates, *month_days, *days_month, *months, _mdy("a"), _dmy("a"), whole_month)


# Most specific first: a span's ends are never read again as single dates, a day never as its whole month.
_RULES = tuple(re.compile(p) for p in (*_pairs(_iso("a"), _iso("b")), _iso("a"), *_zh_rules(), *_en_rules()))

# An open or fuzzy end next to a date ("since June 1", "6月1日以来", "around Nov 11"), or a range this module
# cannot read ("June 1 to the 18th"): the question does not name a closed span.
_OPEN_BEFORE = re.compile(
    r"(?:(?<![a-z])(?:since|after|before|until|till|through|thru|from|to|by|as of|up to|prior to|starting|"
    r"beginning|between|around|about|approximately|circa|near|compare|top|bottom)|从|從|自|截至|截止|直到|到|至|"
    r"[0-9]\s*[-–—~〜])\s*$"
)
_OPEN_AFTER = re.compile(
    r"^\s*(?:(?:onwards?|forward|and (?:later|after|before|earlier|beyond)|or (?:later|earlier|after|before)|"
    r"to date|through|thru|to|until|till)(?![a-z])|[-–—~〜]\s*[0-9]|以前|以后|以後|之前|之后|之後|以来|以來|起|"
    r"开始|開始|为止|為止|止|到|至|前后|前後|左右|附近|上下|"
    rf"(?:的\s*)?[前后後]\s*(?:(?:[0-9]+|{_CN_NUM})\s*(?:天|日|周|星期|个|個)|$|[的,.;:!?。、)\x00]))"
)

# Date fragments no rule read (a month alone, "近3月", "2025-06"): the question says something about days this
# module did not understand, so it does not answer.
_STRAY = re.compile(
    rf"(?<![0-9个個])(?:[0-9]{{1,2}}|{_CN_NUM})\s*月"
    r"|(?<![a-z])(?:january|february|march|april|june|july|august|september|october|november|december)(?![a-z])"
    r"|(?<![a-z])(?:may|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?\s*[0-9]"
    r"|[0-9](?:st|nd|rd|th)?\s+(?:of\s+)?(?:may|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)(?![a-z])"
    r"|(?<![0-9])(?:19|20)[0-9]{2}[-/.][0-9]{1,2}(?![0-9])"
)

# A year the question names outside any span: 2025年, in 2025, FY2025, 2025's. A bare four-digit number
# ("over 2000 units") is no year.
_NAMED_YEAR = re.compile(
    r"(?:(?:^|(?<![a-z])(?:in|of|for|during|year|fy|vs|versus|since|until|and|or)\.?)\s*|\(\s*)"
    r"(?P<a>(?:19|20)[0-9]{2})(?![0-9])"
    r"|(?<![0-9])(?P<b>(?:19|20)[0-9]{2})(?:\s*年|'s)"
)

_MASK = "\x00"


# ---------------------------------------------------------------------------------------------------------------
# What a match says, before its year is known
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _End:
    """One end of a span: a month, its day (None: the month's first or last day) and the year if written."""

    month: int
    day: int | None
    year: int | None


@dataclass(frozen=True)
class _Mention:
    """A span as written: two ends, and for "the first/last N days of a month" the count N (else 0)."""

    start: _End
    end: _End
    count: int = 0
    from_end: bool = False

    @property
    def years(self) -> set[int]:
        """The years written in the mention itself."""
        return {year for year in (self.start.year, self.end.year) if year is not None}


def _number(text: str) -> int:
    """A number written in digits or Chinese numerals (一..九十九); ValueError for anything else."""
    if text.isascii() and text.isdigit():
        return int(text)
    tens, ten, units = text.partition("十")
    if not ten:
        if len(text) != 1 or text not in _ZH_DIGITS:
            raise ValueError(text)
        return _ZH_DIGITS[text]
    if len(tens) > 1 or len(units) > 1:
        raise ValueError(text)
    return (_ZH_DIGITS[tens] if tens else 1) * 10 + (_ZH_DIGITS[units] if units else 0)


def _word_number(text: str) -> int:
    """A count written in digits, Chinese numerals or English words (seven, twenty-one)."""
    word = re.sub(r"[- ]+", "-", text)
    return _EN_NUMBERS[word] if word in _EN_NUMBERS else _number(text)


def _month(text: str | None) -> int:
    """A month number from digits, Chinese numerals or an English name; ValueError if it is none."""
    if text is None:
        raise ValueError("no month")
    month = _MONTHS[text] if text in _MONTHS else _number(text)
    if not 1 <= month <= 12:
        raise ValueError(text)
    return month


def _day(text: str | None) -> int | None:
    if text is None:
        return None
    day = _number(text)
    if not 1 <= day <= 31:
        raise ValueError(text)
    return day


def _year(text: str | None) -> int | None:
    return int(text) if text else None


def _mention(groups: Mapping[str, str | None]) -> _Mention:
    """The span a rule's match writes down; ValueError when a part of it is no month, day or count."""
    month, year = groups.get("m"), groups.get("y")
    start = _End(_month(groups.get("a_m") or month), _day(groups.get("a_d")), _year(groups.get("a_y") or year))
    end = start
    if groups.get("b_m") or groups.get("b_d"):
        end_month = _month(groups.get("b_m") or month or groups.get("a_m"))
        end = _End(end_month, _day(groups.get("b_d")), _year(groups.get("b_y") or year))
    if start.day is None and end.day is None and not groups.get("n") and not start.year and not end.year:
        raise ValueError("a whole month needs its year")  # "June" alone, 近3月: not this module's to read
    count = _word_number(groups.get("n") or "0")
    return _Mention(start, end, count, (groups.get("edge") or "") in _LAST)


# ---------------------------------------------------------------------------------------------------------------
# Reading the question
# ---------------------------------------------------------------------------------------------------------------


def _normalise(question: str) -> str:
    """Full-width characters as ASCII, letters in lower case."""
    return unicodedata.normalize("NFKC", question).lower()


def _scan(text: str) -> tuple[list[re.Match[str]], str]:
    """Every rule's matches, most specific rule first, and the text with each match masked out."""
    matches: list[re.Match[str]] = []
    rest = text
    for rule in _RULES:
        found = list(rule.finditer(rest))
        for match in found:
            rest = rest[: match.start()] + _MASK * (match.end() - match.start()) + rest[match.end() :]
        matches.extend(found)
    return matches, rest


def _open_ended(text: str, match: re.Match[str]) -> bool:
    """Whether the words around a match make its date an open or fuzzy end rather than a closed span."""
    return bool(_OPEN_BEFORE.search(text[: match.start()]) or _OPEN_AFTER.search(text[match.end() :]))


def _named_years(rest: str) -> set[int]:
    """The years named outside any span."""
    return {int(m.group("a") or m.group("b")) for m in _NAMED_YEAR.finditer(rest)}


def _years(mention: _Mention, default: int) -> tuple[int, int]:
    """The years of a mention's two ends: as written, else each from the other, else ``default`` for the first.

    An end without its year lies on or after the other end: 12月28日到1月3日 runs into the next year.
    """
    start, end = mention.start, mention.end
    wraps = int((start.month, start.day or 1) > (end.month, end.day or 31))
    if start.year is not None:
        return start.year, start.year + wraps if end.year is None else end.year
    if end.year is not None:
        return end.year - wraps, end.year
    return default, default + wraps


def _span(mention: _Mention, default_year: int) -> Span:
    """The first and last day of a mention; ValueError for a day that does not exist or an empty span."""
    start_year, end_year = _years(mention, default_year)
    first = date(start_year, mention.start.month, mention.start.day or 1)
    last_day = mention.end.day or calendar.monthrange(end_year, mention.end.month)[1]
    last = date(end_year, mention.end.month, last_day)
    if mention.count:
        first, last = _edge_days(first, last, mention.count, mention.from_end)
    if first > last:
        raise ValueError("the span ends before it starts")
    return first, last


def _edge_days(first: date, last: date, count: int, from_end: bool) -> Span:
    """The first (or last) ``count`` days of ``first..last``."""
    if not 1 <= count <= (last - first).days + 1:
        raise ValueError(f"{count} days")
    if from_end:
        return last - timedelta(days=count - 1), last
    return first, first + timedelta(days=count - 1)


def _resolve(mention: _Mention, years: set[int], today: date) -> Span | None:
    """A mention's span: its own year; else the one year the question names; else the latest not after today."""
    try:
        if mention.years:
            return _span(mention, 0)
        if years:
            return _span(mention, next(iter(years))) if len(years) == 1 else None
        span = _span(mention, today.year)
        return span if span[0] <= today else _span(mention, today.year - 1)
    except ValueError:
        return None


def mentioned_dates(question: str, reference_date: date) -> Span | None:
    """The one calendar span a question names outright, as its first and last day (both inclusive).

    Reads ISO dates (2025-06-01, 2025/6/1), English ("November 11, 2024", "June 1-18, 2025", "the first seven
    days of December 2025", "December 2025") and Chinese ("2024年11月11日", "6月1号到18号", "12月的前七天",
    "2025年12月份"), single days, ranges, whole months (with their year) and the first or last N days of a month.
    Full-width text is normalised first.

    A span without its year takes the year written in the same expression; else the single year the question
    names elsewhere (2025年…(6月1日到18日)); else ``reference_date``'s year, or the year before when that would
    start the span after ``reference_date``.

    Args:
        question: The user's question, in English or Chinese.
        reference_date: Today, for spans whose year the question leaves out.

    Returns:
        ``(first_day, last_day)``, or None when the question names no explicit span, only a bare year or a
        relative period (last month, 近7天), two different spans (a comparison), an open or fuzzy end (since June
        1, 6月1日以来), a day that does not exist (February 30), or dates this reader cannot place for sure.
    """
    text = _normalise(question)
    matches, rest = _scan(text)
    if not matches or _STRAY.search(rest) or any(_open_ended(text, match) for match in matches):
        return None
    try:
        mentions = [_mention(match.groupdict()) for match in matches]
    except ValueError:
        return None
    named = _named_years(rest)
    years = named.union(*(mention.years for mention in mentions))
    spans = {_resolve(mention, years, reference_date) for mention in mentions}
    if len(spans) != 1:
        return None
    (span,) = spans
    if span is None or any(not span[0].year <= year <= span[1].year for year in named):
        return None
    return span
