"""One language guess for the whole project: questions, documents and training examples are told apart alike."""

from __future__ import annotations

import pytest

from kubeai.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # The graphs' old rule (a fifth of all letters Chinese) said zh for these English sentences with a
        # Chinese name in them; the ingest rule said en. One rule: en.
        ("Compare 华东 and 华北 sales", "en"),
        ("Show 华东 GMV", "en"),
        ("华东 GMV total", "en"),
        ("华东的refund rate", "en"),
        # Full-width Latin letters are Latin: the graphs' rule said en, the ingest rule zh (it saw no letter).
        ("Ｃｏｍｐａｒｅ ＧＭＶ 华东", "en"),
        # Other scripts are neither: the graphs' rule counted Cyrillic as letters (en), the ingest rule did not.
        ("Привет 世界 hello", "zh"),
    ],
)
def test_questions_the_two_old_rules_disagreed_on(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("上个月各地区的GMV是多少？", "zh"),
        ("ＧＭＶ是多少", "zh"),
        ("GMV in 华东", "zh"),  # two ideographs outweigh five letters
        ("What was GMV in 华东 last month?", "en"),
        ("2025年GMV total", "en"),
        ("华东", "zh"),
        ("GMV", "en"),
        ("2025", "en"),  # digits count for neither
        ("🙂🙂", "en"),
        ("", "en"),
    ],
)
def test_short_mixed_and_letterless_text(text: str, language: str) -> None:
    assert detect_language(text) == language
