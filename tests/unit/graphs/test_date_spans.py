"""Explicit dates and spans are read from the question's words, in English and Chinese, or not at all."""

from __future__ import annotations

from datetime import date

import pytest

from graphs.metrics.date_spans import mentioned_dates

TODAY = date(2025, 7, 15)


def d(text: str) -> date:
    return date.fromisoformat(text)


def span(first: str, last: str | None = None) -> tuple[date, date]:
    return d(first), d(last or first)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("GMV on 2024-11-11", span("2024-11-11")),
        ("GMV from 2025-06-01 to 2025-06-18", span("2025-06-01", "2025-06-18")),
        ("GMV between 2025-06-01 and 2025-06-18", span("2025-06-01", "2025-06-18")),
        ("2025/6/1-2025/6/18的GMV", span("2025-06-01", "2025-06-18")),
        ("orders 2025-06-01 - 2025-06-18", span("2025-06-01", "2025-06-18")),
        ("2025-06-01到2025-06-18的订单", span("2025-06-01", "2025-06-18")),
        ("2024.11.11的成交额", span("2024-11-11")),
    ],
)
def test_iso_dates_and_ranges(question: str, expected: tuple[date, date]) -> None:
    assert mentioned_dates(question, TODAY) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("GMV on November 11, 2024", span("2024-11-11")),
        ("GMV on Nov 11 2024", span("2024-11-11")),
        ("GMV on Nov. 11, 2024", span("2024-11-11")),
        ("GMV on 11 November 2024", span("2024-11-11")),
        ("GMV on the 11th of November 2024", span("2024-11-11")),
        ("GMV from June 1 to June 18, 2025", span("2025-06-01", "2025-06-18")),
        ("GMV for June 1-18, 2025", span("2025-06-01", "2025-06-18")),
        ("GMV June 1st through 18th, 2025", span("2025-06-01", "2025-06-18")),
        ("GMV from 1 to 18 June 2025", span("2025-06-01", "2025-06-18")),
        ("GMV between June 1 and June 18, 2025", span("2025-06-01", "2025-06-18")),
        ("GMV from December 28, 2024 to January 3, 2025", span("2024-12-28", "2025-01-03")),
        ("GMV in the first seven days of December 2025", span("2025-12-01", "2025-12-07")),
        ("GMV in the first 7 days of December 2025", span("2025-12-01", "2025-12-07")),
        ("the first twenty-one days of March 2025", span("2025-03-01", "2025-03-21")),
        ("the first twenty one days of March 2025", span("2025-03-01", "2025-03-21")),
        ("the last 3 days of February 2024", span("2024-02-27", "2024-02-29")),
        ("GMV in December 2025", span("2025-12-01", "2025-12-31")),
        ("December 2025 GMV by channel", span("2025-12-01", "2025-12-31")),
        ("GMV for February 2024", span("2024-02-01", "2024-02-29")),
        ("GMV from January to March 2025", span("2025-01-01", "2025-03-31")),
        ("May I see GMV for May 2025?", span("2025-05-01", "2025-05-31")),
    ],
)
def test_english_dates_and_spans(question: str, expected: tuple[date, date]) -> None:
    assert mentioned_dates(question, TODAY) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("2024年11月11日的GMV", span("2024-11-11")),
        ("2025年6月1日到18日的订单", span("2025-06-01", "2025-06-18")),
        ("2025年6月1日至6月18日", span("2025-06-01", "2025-06-18")),
        ("2025年6月1日-6月18日的销量", span("2025-06-01", "2025-06-18")),
        ("2025年6月1号到18号", span("2025-06-01", "2025-06-18")),
        ("2025年6月1-18日", span("2025-06-01", "2025-06-18")),
        ("从2025年6月1日到2025年6月18日", span("2025-06-01", "2025-06-18")),
        ("在2025年6月1日和6月18日之间", span("2025-06-01", "2025-06-18")),
        ("2024年12月28日到1月3日", span("2024-12-28", "2025-01-03")),
        ("2025年12月前7天的GMV", span("2025-12-01", "2025-12-07")),
        ("2025年12月的前七天", span("2025-12-01", "2025-12-07")),
        ("2025年12月前十天", span("2025-12-01", "2025-12-10")),
        ("2024年2月最后3天", span("2024-02-27", "2024-02-29")),
        ("2025年12月的最后三天", span("2025-12-29", "2025-12-31")),
        ("2025年12月的GMV", span("2025-12-01", "2025-12-31")),
        ("2025年12月份的销售额", span("2025-12-01", "2025-12-31")),
        ("2025年的12月", span("2025-12-01", "2025-12-31")),
        ("2025年1-3月", span("2025-01-01", "2025-03-31")),
        ("2025年1月到3月", span("2025-01-01", "2025-03-31")),
        ("2025年12月到2026年2月", span("2025-12-01", "2026-02-28")),
        ("2024年十一月十一日", span("2024-11-11")),
        ("2024年2月29日", span("2024-02-29")),
        ("2025年6月1日到18日的7日留存率", span("2025-06-01", "2025-06-18")),  # a metric's "7日" is no date
        ("3号仓2024年11月11日的出库量", span("2024-11-11")),  # nor a warehouse's "3号"
        ("2024年11月11日的前三名商品", span("2024-11-11")),  # "的前三名" is a top three, not "before"
    ],
)
def test_chinese_dates_and_spans(question: str, expected: tuple[date, date]) -> None:
    assert mentioned_dates(question, TODAY) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("２０２４－１１－１１的GMV", span("2024-11-11")),
        ("２０２５年６月１日～６月１８日", span("2025-06-01", "2025-06-18")),
        ("２０２５年６月１日－６月１８日", span("2025-06-01", "2025-06-18")),
        ("2025年618大促期间（6月1日到18日）的GMV", span("2025-06-01", "2025-06-18")),
        ("GMV，ＪＵＮＥ　１－１８，２０２５", span("2025-06-01", "2025-06-18")),
        ("2025年6月1日—6月18日", span("2025-06-01", "2025-06-18")),
        ("6月1日〜18日，2025年", span("2025-06-01", "2025-06-18")),
    ],
)
def test_full_width_text_and_punctuation(question: str, expected: tuple[date, date]) -> None:
    assert mentioned_dates(question, TODAY) == expected


@pytest.mark.parametrize(
    ("question", "today", "expected"),
    [
        # No year anywhere: today's year, unless the span would then start after today.
        ("11月11日的GMV", date(2025, 7, 15), span("2024-11-11")),
        ("11月11日的GMV", date(2025, 11, 12), span("2025-11-11")),
        ("GMV on 3 July", date(2025, 7, 15), span("2025-07-03")),
        ("GMV on July 15", date(2025, 7, 15), span("2025-07-15")),  # today itself is not after today
        ("GMV on July 16", date(2025, 7, 15), span("2024-07-16")),
        ("6月1日到18日", date(2025, 7, 15), span("2025-06-01", "2025-06-18")),
        ("6月1号到18号", date(2025, 7, 15), span("2025-06-01", "2025-06-18")),
        ("6月1日至6月18日", date(2025, 6, 10), span("2025-06-01", "2025-06-18")),  # starts before today
        ("GMV from June 1 to 18", date(2025, 7, 15), span("2025-06-01", "2025-06-18")),
        ("12月前7天", date(2025, 7, 15), span("2024-12-01", "2024-12-07")),
        ("12月的前七天", date(2025, 12, 3), span("2025-12-01", "2025-12-07")),
        ("the last 3 days of November", date(2025, 7, 15), span("2024-11-28", "2024-11-30")),
        ("12月28日到1月3日", date(2025, 1, 2), span("2024-12-28", "2025-01-03")),  # runs into the next year
        # The one year the question names elsewhere wins, even one after today.
        ("2025年618大促期间(6月1日到18日)的GMV", date(2024, 7, 1), span("2025-06-01", "2025-06-18")),
        ("For 2025, GMV from June 1 to 18", date(2025, 1, 1), span("2025-06-01", "2025-06-18")),
        ("June 1 to 18 in 2024", TODAY, span("2024-06-01", "2024-06-18")),
        ("2024年: 11月11日的GMV", TODAY, span("2024-11-11")),
        # A year written in the expression wins over both, even in the future.
        ("2026年1月1日的预测", TODAY, span("2026-01-01")),
        ("June 1-18, 2023", TODAY, span("2023-06-01", "2023-06-18")),
        ("December 28 to January 3, 2025", TODAY, span("2024-12-28", "2025-01-03")),  # the year ends the span
        ("from November to February 2025", TODAY, span("2024-11-01", "2025-02-28")),
        # A bare number is no year to borrow.
        ("orders over 2000 units on June 1", TODAY, span("2025-06-01")),
    ],
)
def test_year_inference(question: str, today: date, expected: tuple[date, date]) -> None:
    assert mentioned_dates(question, today) == expected


@pytest.mark.parametrize(
    "question",
    [
        # No day, month or span at all.
        "What is the total GMV?",
        "top 10 products by GMV",
        "前十商品",
        "超过20公斤的订单",
        "GMV over the last 6 months",
        "双11的GMV",
        "Q1 2025 GMV",
        # A bare year is a whole year: another rule's.
        "GMV in 2025",
        "2025年的GMV",
        "2024年上半年的成交额",
        "first half of 2025",
        # Relative periods.
        "GMV last month",
        "上个月的GMV",
        "本月的GMV",
        "近7天的GMV",
        "前7天的GMV",
        "最近3个月的GMV",
        "GMV for the last 7 days",
        "the last 3 days",
        "past 30 days",
        # A month without its year, or a month range without one.
        "GMV in June",
        "12月的GMV",
        "from January to March",
        # Two different spans: a comparison.
        "GMV June 2024 vs June 2025",
        "2024年6月和2025年6月对比",
        "11月11日和12月12日的GMV",
        "Compare June 1 and June 18, 2025",
        "2025年6月1日和6月18日",
        "GMV from 2025-06-01 to 2025-06-18 vs 2024-06-01 to 2024-06-18",
        "2024年11月11日和2025年的对比",
        "GMV on 2024-11-11 and in 2025",
        "GMV on Nov 11 in 2024 and 2025",
        # Open or fuzzy ends.
        "GMV since June 1, 2025",
        "GMV from 2025-06-01",
        "GMV 2025-06-01 onwards",
        "GMV before 2025-06-01",
        "截至2025年6月18日的GMV",
        "2025年6月1日以来的GMV",
        "2025年6月1日起的订单",
        "2025年6月1日至今",
        "2025年6月1日之前",
        "2025年6月1日的前7天",
        "2025年12月前的订单",
        "GMV around Nov 11, 2024",
        "2024年11月11日前后",
        # Ranges this reader cannot close.
        "GMV from June 1, 2025 to the 18th",
        "2025年1月到3月5日",
        "January 2025 to March 5, 2025",
        # Days that do not exist or spans that end before they start.
        "GMV on 2025-02-30",
        "2025年2月30日",
        "2月29日的GMV",  # 2025 has none
        "GMV on 2025-13-01",
        "the first 40 days of December 2025",
        "GMV between 2025-06-18 and 2025-06-01",
        # Ambiguous: a yearless day in a question naming two years.
        "2024年和2025年的11月11日",
        # Not dates.
        "6/1的GMV",
        "top 10 June 2025",
    ],
)
def test_none_when_the_question_names_no_single_explicit_span(question: str) -> None:
    assert mentioned_dates(question, TODAY) is None


def test_the_same_span_written_twice_is_one_span() -> None:
    assert mentioned_dates("2024年11月11日(11月11日当天)的GMV", TODAY) == span("2024-11-11")
    assert mentioned_dates("GMV on 2024-11-11, i.e. November 11, 2024", TODAY) == span("2024-11-11")
