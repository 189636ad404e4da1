"""The customer-service answer scorer: facts in English and Chinese, refusals, and the per-mode summary."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from evals.items import CustomerServiceItem
from evals.scorers.support import (
    fact_coverage,
    is_refusal,
    match_key,
    refusal_phrases,
    score_answer,
    summarize_answers,
)


def _item(facts: list[list[str]] | None = None, *, refuse: bool = False, language: str = "en") -> CustomerServiceItem:
    if refuse:
        return CustomerServiceItem.model_validate(
            {"id": "r", "question": "q", "language": language, "should_refuse": True}
        )
    return CustomerServiceItem.model_validate({"id": "a", "question": "q", "language": language, "facts": facts})


@pytest.mark.parametrize(
    ("answer", "facts", "coverage"),
    [
        ("You can return it within 30 Days of delivery.", [["30 day", "thirty day"]], 1.0),
        ("Returns are accepted for thirty days.", [["30 day", "thirty day"]], 1.0),
        ("Standard shipping takes 3-5 business days.", [["free"], ["$12"]], 0.0),
        ("Express takes 1-2 business days and costs $12.", [["express"], ["$12"]], 1.0),
        ("It takes 1-2 business days.", [["$12"]], 0.0),
        ("Use a 2.4 GHz network.", [["2.4 ghz"]], 1.0),
        ("Use a 24 GHz network.", [["2.4 ghz"]], 0.0),
        ("签收后 ３０ 天内可以退货。", [["30天", "三十天"]], 1.0),
        ("保修两年，滤网不在保修范围内。", [["2年", "两年"], ["滤网"]], 1.0),
        ("保修一年。", [["2年", "两年"], ["保修"]], 0.5),
        ("It suits rooms up to 40 m².", [["40 m²", "40 square"]], 1.0),
    ],
)
def test_fact_coverage_matches_alternatives_in_either_language(
    answer: str, facts: list[list[str]], coverage: float
) -> None:
    assert fact_coverage(answer, facts) == coverage


def test_match_key_folds_width_case_spaces_and_punctuation() -> None:
    assert match_key("Ｈ１３ HEPA, 99.97 %!") == "h13hepa99.97%"
    assert match_key("你好， 世界。") == "你好世界"


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        ("I'm sorry, I don't know when the AeroPure 4 comes out.", True),
        ("I do not have information about competitor prices; let me transfer you to a colleague.", True),
        ("抱歉，资料中没有相关信息，我帮您转人工。", True),
        ("这个问题我不清楚。", True),
        ("The warranty lasts 2 years; open a ticket in the app to claim it.", False),
        ("如果 E3 仍然存在，请联系客服。", False),
    ],
)
def test_refusals_are_found_in_english_and_chinese(answer: str, refused: bool) -> None:
    assert is_refusal(answer) is refused


def test_the_adapters_trained_refusals_are_refusals() -> None:
    vocabulary = yaml.safe_load(
        resources.files("finetune.data.customer_service").joinpath("vocabulary.yaml").read_text(encoding="utf-8")
    )
    assert is_refusal(vocabulary["refusal"]["en"])
    assert is_refusal(vocabulary["refusal"]["zh"])
    assert not is_refusal("Filters are consumables: the warranty does not cover them.")


def test_the_packaged_phrases_hold_both_languages() -> None:
    phrases = refusal_phrases()
    assert "idontknow" in phrases
    assert "不知道" in phrases


def test_correct_means_all_facts_without_refusal_or_a_refusal_where_due() -> None:
    answerable = _item([["2 year"], ["filter"]])
    assert score_answer(answerable, "2 years, filters not included.").correct
    assert not score_answer(answerable, "2 years.").correct
    assert not score_answer(answerable, "2 years for the filter, but I'm not sure; ask a human agent.").correct
    silent = _item(refuse=True)
    assert score_answer(silent, "I don't know, sorry.").correct
    wrong = score_answer(silent, "The AeroPure 4 ships in May.")
    assert (wrong.correct, wrong.refused, wrong.coverage) == (False, False, 1.0)


def test_the_summary_counts_accuracy_coverage_refusals_and_latency() -> None:
    items = [_item([["a"], ["b"]]), _item([["c"]], language="zh"), _item(refuse=True), _item(refuse=True)]
    answers = ["a and b", "I don't know", "I don't know", "sure, it does"]
    scores = [score_answer(item, answer) for item, answer in zip(items, answers, strict=True)]
    summary = summarize_answers(items, [*scores[:3], None], [1.0, 3.0, 2.0, None])
    assert summary.items == 4
    assert summary.accuracy == 0.5  # the first and the third
    assert summary.fact_coverage == 0.5  # (1.0 + 0.0) / 2 answerable items
    assert summary.refusal_precision == 0.5  # two refusals, one due
    assert summary.refusal_recall == 0.5  # two due, one made (the failed answer made none)
    assert summary.p50_latency_s == 2.0
    assert summary.errors == 1
    assert summary.to_json()["accuracy"] == 0.5


def test_the_summary_needs_one_score_and_latency_per_item() -> None:
    with pytest.raises(ValueError, match="one each"):
        summarize_answers([_item(refuse=True)], [], [])
