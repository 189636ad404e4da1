"""Schema linking by exact mention: catalog names, labels and synonyms that appear verbatim in the question.

A 135M model picks the wrong enum value surprisingly often even when the question says "GMV" outright. When a
metric's label or synonym appears in the question, that is near-certain evidence, so the graph narrows the
metric enum to the mentioned metrics and lists mentioned dimensions first. The matching rules (whole English
words, Chinese substrings, a mention nested in a longer one does not count) are the catalog retrieval's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from knowledge.catalog import Catalog, Dimension, Metric
from knowledge.catalog.retrieval import named_in

__all__ = [
    "breakdown_dimensions",
    "mentioned_dimensions",
    "mentioned_grain",
    "mentioned_metrics",
    "mentioned_period",
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


# Relative periods and grains said in so many words. The model fills these fields too, but a 135M model often
# leaves "all_time" for 上个月; a phrase that names the period outright is stronger evidence than its guess.
_PERIODS: tuple[tuple[str, str], ...] = (
    (r"last 12 months|past 12 months|past year|过去(12|十二)个月|近(12|十二)个月|最近(12|十二)个月", "last_12_months"),
    (r"last 90 days|past 90 days|(过去|最近|近)90天", "last_90_days"),
    (r"last 30 days|past 30 days|(过去|最近|近)30天", "last_30_days"),
    (r"last 7 days|past 7 days|past week|(过去|最近|近)(7|七)天", "last_7_days"),
    (r"last month|previous month|上个?月", "last_month"),
    (r"this month|current month|本月|这个月", "this_month"),
    (r"last quarter|previous quarter|上个?季度", "last_quarter"),
    (r"this quarter|current quarter|本季度|这个季度", "this_quarter"),
    (r"last year|previous year|去年|上一年", "last_year"),
    (r"this year|current year|今年|本年", "this_year"),
    (r"last week|previous week|上个?周|上星期", "last_week"),
    (r"this week|current week|本周|这周", "this_week"),
    (r"yesterday|昨天|昨日", "yesterday"),
    (r"today|今天|今日", "today"),
)
_GRAINS: tuple[tuple[str, str], ...] = (
    (r"\b(daily|per day|by day|each day)\b|每天|每日|按天|按日|逐日", "day"),
    (r"\b(weekly|per week|by week|each week)\b|每周|按周|逐周", "week"),
    (r"\b(monthly|per month|by month|each month|month by month)\b|每月|每个月|按月|逐月|月度", "month"),
    (r"\b(quarterly|per quarter|by quarter|each quarter)\b|每季度|按季度|逐季", "quarter"),
    (r"\b(yearly|annually|per year|by year|each year)\b|每年|按年|逐年|年度", "year"),
)
# A dimension named right after one of these is a breakdown: 各地区, 按渠道, by region, per channel.
_BREAKDOWN_ZH = ("各", "按", "分", "每个")
_BREAKDOWN_EN = ("by", "per", "each", "across", "for each")


def mentioned_period(question: str) -> str | None:
    """The relative period a question names outright (上个月 -> last_month), if any."""
    text = question.lower()
    for pattern, period in _PERIODS:
        if re.search(pattern, text):
            return period
    return None


def mentioned_grain(question: str) -> str | None:
    """The time grain a question asks to group by (按月, monthly -> month), if any."""
    text = question.lower()
    for pattern, grain in _GRAINS:
        if re.search(pattern, text):
            return grain
    return None


def breakdown_dimensions(question: str, catalog: Catalog) -> list[str]:
    """Dimensions the question asks to break the numbers down by (各地区, by channel)."""
    text = question.lower()
    found = []
    for name, term in _terms(catalog.dimensions):
        needle = term.strip().lower()
        if len(needle) < 2:
            continue
        cues = _BREAKDOWN_EN if needle.isascii() else _BREAKDOWN_ZH
        for cue in cues:
            joiner = r"\s+" if needle.isascii() else ""
            if re.search(rf"(?<![a-z]){re.escape(cue)}{joiner}{re.escape(needle)}", text):
                found.append(name)
                break
    return list(dict.fromkeys(found))
