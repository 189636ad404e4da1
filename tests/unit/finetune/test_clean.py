"""The cleaning stages of fine-tuning data: each stage alone, the pipeline in order, and its report."""

from __future__ import annotations

import json
from typing import Any

import datasketch
import pytest

from finetune.clean import (
    REMOVAL_REASONS,
    SHINGLE_SIZES,
    STAGES,
    CleaningConfig,
    CleaningContext,
    CleaningResult,
    clean_examples,
    decontaminate,
    drop_exact_duplicates,
    drop_near_duplicates,
    filter_language,
    filter_length,
    normalize_questions,
    normalize_text,
    shingles,
    tidy_text,
)
from finetune.examples import Language, QueryExample
from kubeai.errors import TrainingError

GMV_2025 = {"metrics": ["gmv"], "time_range": {"start": "2025-01-01", "end": "2025-12-31"}}
GMV_LAST_MONTH = {"metrics": ["gmv"], "time_range": "last_month"}
GMV_THIS_MONTH = {"metrics": ["gmv"], "time_range": "this_month"}
GMV_BY_REGION = {"metrics": ["gmv"], "dimensions": ["region"], "time_range": "last_month"}
REFUNDS = {"metrics": ["refund_count"], "time_range": "last_week"}
ORDERS_BY_CHANNEL = {"metrics": ["order_count"], "dimensions": ["channel"], "time_range": "this_week"}

EVAL_EN = "What was our total GMV in 2025?"
EVAL_ZH = "上个月一共成交了多少钱？"


def ex(
    question: str, query: dict[str, Any] | None = GMV_LAST_MONTH, *, language: Language | None = None
) -> QueryExample:
    lang: Language = language or ("zh" if any("\u4e00" <= c <= "\u9fff" for c in question) else "en")
    return QueryExample(question=question, language=lang, query=query, intent="total")


def run(stage: Any, examples: list[QueryExample], **context: Any) -> tuple[list[str], dict[str, int]]:
    output = stage(tuple(examples), CleaningContext(**context))
    return [e.question for e in output.kept], dict(output.removed)


# --- configuration -----------------------------------------------------------------------------------------------


def test_default_config() -> None:
    config = CleaningConfig()
    assert (config.min_chars, config.max_chars) == (4, 200)
    assert (config.near_duplicate_threshold, config.decontamination_threshold) == (0.9, 0.6)
    assert config.num_perm == 128


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_chars", 0),
        ("min_chars", 2.5),
        ("max_chars", 3),
        ("near_duplicate_threshold", 0.0),
        ("near_duplicate_threshold", 1.5),
        ("decontamination_threshold", -0.1),
        ("decontamination_threshold", True),
        ("num_perm", 8),
        ("num_perm", 4096),
        ("seed", -1),
        ("seed", 2**32),
    ],
)
def test_invalid_config_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(TrainingError, match=f"`{field}`"):
        CleaningConfig(**{field: value})


def test_config_is_frozen() -> None:
    config = CleaningConfig()
    with pytest.raises(AttributeError):
        config.min_chars = 1  # type: ignore[misc]


# --- stage 1: normalize ------------------------------------------------------------------------------------------


def test_normalize_text() -> None:
    assert normalize_text("  What   was\tＧＭＶ\nlast month？ ") == "What was GMV last month?"
    assert normalize_text("上个月\u3000各地区的成交额，是多少？") == "上个月 各地区的成交额,是多少?"
    assert normalize_text("成交额。退款、订单") == "成交额。退款、订单"  # NFKC leaves these Chinese marks


def test_normalize_stage_tidies_whitespace_and_keeps_what_users_type() -> None:
    questions = (" GMV  last month ", "GMV last month", "ＧＭＶ", "上个月\u3000各地区的成交额，是多少？")
    output = normalize_questions(tuple(ex(q) for q in questions), CleaningContext())
    # Training text keeps its characters: Chinese users type full-width ，？, and NFKC would make them ASCII.
    assert [e.question for e in output.kept] == [
        "GMV last month",
        "GMV last month",
        "ＧＭＶ",
        "上个月 各地区的成交额，是多少？",
    ]
    assert output.changed == 2
    assert dict(output.removed) == {}
    assert tidy_text("ＧＭＶ，多少？") == "ＧＭＶ，多少？" != normalize_text("ＧＭＶ，多少？")


def test_full_width_and_ascii_punctuation_are_still_one_question_for_duplicates_and_decontamination() -> None:
    asked = "上个月各地区的成交额是多少？"
    same = ex("上个月各地区的成交额是多少?", GMV_BY_REGION)
    output = drop_exact_duplicates((ex(asked, GMV_BY_REGION), same), CleaningContext())
    assert [e.question for e in output.kept] == [asked] and output.removed["exact_duplicate"] == 1
    result = clean_examples([ex("上个月总共成交了多少钱?")], eval_questions=[EVAL_ZH])
    assert result.removed["decontaminated"] == 1


# --- stage 2: language -------------------------------------------------------------------------------------------


def test_language_stage_drops_mislabelled_examples() -> None:
    examples = [
        ex("What was GMV last month?"),
        ex("What was GMV last month?", language="zh"),
        ex("上个月的成交额是多少？"),
        ex("上个月的成交额是多少？", language="en"),
        ex("上个月GMV是多少？"),  # a metric's English name inside a Chinese question is still Chinese
    ]
    kept, removed = run(filter_language, examples)
    assert kept == ["What was GMV last month?", "上个月的成交额是多少？", "上个月GMV是多少？"]
    assert removed == {"language": 2}


# --- stage 3: length ---------------------------------------------------------------------------------------------


def test_length_stage_keeps_the_inclusive_range() -> None:
    examples = [ex("GMV"), ex("GMV?"), ex("x" * 200), ex("x" * 201), ex("成交额？"), ex("成交额")]
    kept, removed = run(filter_length, examples)
    assert kept == ["GMV?", "x" * 200, "成交额？"]
    assert removed == {"length": 3}
    kept, removed = run(filter_length, examples, config=CleaningConfig(min_chars=3, max_chars=3))
    assert kept == ["GMV", "成交额"]
    assert removed == {"length": 4}


# --- stage 4: exact duplicates -----------------------------------------------------------------------------------


def test_exact_duplicates_keep_the_first_copy() -> None:
    reordered = {"time_range": "last_month", "metrics": ["gmv"]}  # JSON-equal to GMV_LAST_MONTH
    examples = [ex("What was GMV last month?"), ex("Refunds?", REFUNDS), ex("what was gmv LAST month?", reordered)]
    kept, removed = run(drop_exact_duplicates, examples)
    assert kept == ["What was GMV last month?", "Refunds?"]
    assert removed == {"exact_duplicate": 1, "conflicting": 0}


def test_exact_duplicates_with_different_queries_are_all_dropped() -> None:
    examples = [
        ex("GMV recently?", GMV_LAST_MONTH),
        ex("上个月的成交额是多少？"),
        ex("GMV recently?", GMV_THIS_MONTH),
        ex("gmv recently?", GMV_LAST_MONTH),
        ex("上个月的成交额是多少？"),
        ex("Weather last month?", None),
        ex("Weather last month?", GMV_LAST_MONTH),  # abstain versus a query is a conflict too
    ]
    kept, removed = run(drop_exact_duplicates, examples)
    assert kept == ["上个月的成交额是多少？"]
    assert removed == {"exact_duplicate": 1, "conflicting": 5}


# --- shingles ----------------------------------------------------------------------------------------------------


def test_shingle_sizes_by_language() -> None:
    assert SHINGLE_SIZES == {"en": 4, "zh": 2}
    assert shingles("GMV, last-month!") == shingles("gmv last month")
    assert shingles("GMV 2025") == {"gmv ", "mv 2", "v 20", " 202", "2025"}
    assert shingles("上个月 GMV？") == {"上个", "个月", "月g", "gm", "mv"}
    assert shingles("ab") == {"ab"}
    assert shingles("?!…") == frozenset()


# --- stage 5: near duplicates ------------------------------------------------------------------------------------


def test_near_duplicates_with_the_same_query_are_removed() -> None:
    examples = [
        ex("What was GMV last month?"),
        ex("what was gmv last month"),  # not an exact duplicate: the question mark differs
        ex("上个月各地区的成交额分别是多少？", GMV_BY_REGION),
        ex("上个月各地区的成交额分别是多少", GMV_BY_REGION),
        ex("请问上个月各个地区的成交额分别是多少？", GMV_BY_REGION),
        ex("请问上个月各个地区的成交额分别是多少呢？", GMV_BY_REGION),  # Jaccard 0.94: near, not equal
    ]
    kept, removed = run(drop_near_duplicates, examples)
    assert kept == [
        "What was GMV last month?",
        "上个月各地区的成交额分别是多少？",
        "请问上个月各个地区的成交额分别是多少？",
    ]
    assert removed == {"near_duplicate": 3}


def test_near_duplicates_with_different_queries_survive() -> None:
    examples = [
        ex("What was GMV last month?", GMV_LAST_MONTH),
        ex("What was GMV this month?", GMV_THIS_MONTH),
        ex("what was gmv this month", GMV_LAST_MONTH),  # near the second, but it asks the first one's query
        ex("上个月的成交额是多少？", GMV_LAST_MONTH),
        ex("本月的成交额是多少？", GMV_THIS_MONTH),
    ]
    kept, removed = run(drop_near_duplicates, examples)
    assert kept == [e.question for e in examples]
    assert removed == {"near_duplicate": 0}


def test_rewordings_below_the_threshold_survive() -> None:
    examples = [ex("What was GMV last month?"), ex("What was the GMV last month?")]  # Jaccard 0.69
    assert run(drop_near_duplicates, examples)[0] == [e.question for e in examples]
    strict = CleaningConfig(near_duplicate_threshold=0.6)
    assert run(drop_near_duplicates, examples, config=strict)[0] == ["What was GMV last month?"]


def test_near_duplicates_come_from_the_datasketch_lsh(monkeypatch: pytest.MonkeyPatch) -> None:
    queried: list[int] = []

    class SpyLSH(datasketch.MinHashLSH):  # type: ignore[misc]
        def query(self, minhash: datasketch.MinHash) -> list[Any]:
            found = super().query(minhash)
            queried.append(len(found))
            return list(found)

    monkeypatch.setattr(datasketch, "MinHashLSH", SpyLSH)
    examples = [ex("What was GMV last month?"), ex("what was gmv last month"), ex("Refunds last week?", REFUNDS)]
    assert run(drop_near_duplicates, examples)[1] == {"near_duplicate": 1}
    assert len(queried) == 3  # one query per example
    assert queried[1] >= 1  # the second example found the first as a candidate

    class BlindLSH(datasketch.MinHashLSH):  # type: ignore[misc]
        def query(self, minhash: datasketch.MinHash) -> list[Any]:
            return []

    monkeypatch.setattr(datasketch, "MinHashLSH", BlindLSH)
    assert run(drop_near_duplicates, examples)[1] == {"near_duplicate": 0}  # no candidate, no removal


@pytest.mark.parametrize("num_perm", [16, 128, 256])
@pytest.mark.parametrize("threshold", [0.3, 0.6, 0.9, 1.0])
def test_lsh_bands_find_a_pair_at_the_threshold(threshold: float, num_perm: int) -> None:
    from finetune.clean import CANDIDATE_RECALL, _lsh_params

    bands, rows = _lsh_params(threshold, num_perm)
    assert bands >= 2
    assert bands * rows <= num_perm
    assert 1 - (1 - threshold**rows) ** bands >= CANDIDATE_RECALL


# --- stage 6: decontamination ------------------------------------------------------------------------------------


def test_decontamination_in_english() -> None:
    examples = [
        ex("What was total GMV in 2025?", GMV_2025),
        ex("what was our total GMV in 2025", GMV_2025),
        ex("How many refunds were paid last week?", REFUNDS),
        ex("What was our total order count in 2025?", {"metrics": ["order_count"]}),  # another metric: 0.51
    ]
    kept, removed = run(decontaminate, examples, eval_questions=(EVAL_EN, EVAL_ZH))
    assert kept == ["How many refunds were paid last week?", "What was our total order count in 2025?"]
    assert removed == {"decontaminated": 2}


def test_decontamination_in_chinese() -> None:
    examples = [
        ex("上个月一共成交了多少钱"),
        ex("上个月总共成交了多少钱？"),
        ex("本周各渠道的订单量", ORDERS_BY_CHANNEL),
        ex("上个月各地区的成交额是多少？", GMV_BY_REGION),
    ]
    kept, removed = run(decontaminate, examples, eval_questions=(EVAL_EN, EVAL_ZH))
    assert kept == ["本周各渠道的订单量", "上个月各地区的成交额是多少？"]
    assert removed == {"decontaminated": 2}


def test_decontamination_ignores_the_query_and_normalizes_eval_questions() -> None:
    examples = [ex("What was our total GMV in 2025?", None), ex("How many refunds were paid last week?", REFUNDS)]
    kept, removed = run(decontaminate, examples, eval_questions=("  WHAT was our total ＧＭＶ in 2025？ ",))
    assert (kept, removed) == (["How many refunds were paid last week?"], {"decontaminated": 1})
    assert run(decontaminate, examples)[1] == {"decontaminated": 0}  # no eval questions, nothing to remove


# --- the pipeline ------------------------------------------------------------------------------------------------


def test_stages_run_in_the_documented_order() -> None:
    assert [stage.__name__ for stage in STAGES] == [
        "normalize_questions",
        "filter_language",
        "filter_length",
        "drop_exact_duplicates",
        "drop_near_duplicates",
        "decontaminate",
    ]


def test_clean_examples_runs_every_stage_and_reports() -> None:
    examples = [
        ex("  What was GMV   last month? "),  # normalized, kept
        ex("What was GMV this month?", GMV_THIS_MONTH),  # a one-slot variant: kept
        ex("What was GMV last month?"),  # exact duplicate once normalized
        ex("what was gmv last month"),  # near duplicate, same query
        ex("上个月的成交额是多少？", language="en"),  # wrong language
        ex("GMV"),  # too short
        ex("GMV recently?", GMV_LAST_MONTH),  # conflicting
        ex("GMV recently?", GMV_THIS_MONTH),  # conflicting
        ex("What was total GMV in 2025?", GMV_2025),  # contaminated
        ex("上个月总共成交了多少钱？"),  # contaminated
        ex("上个月各地区的成交额是多少？", GMV_BY_REGION),  # kept
        ex("上个月各地区的成交额是多少", GMV_BY_REGION),  # near duplicate
        ex("本周各渠道的订单量", ORDERS_BY_CHANNEL),  # kept
        ex("ＨＯＷ many refunds were paid last week?", REFUNDS),  # kept as written
    ]
    result = clean_examples(examples, eval_questions=[EVAL_EN, EVAL_ZH])
    assert isinstance(result, CleaningResult)
    assert [e.question for e in result.kept] == [
        "What was GMV last month?",
        "What was GMV this month?",
        "上个月各地区的成交额是多少？",  # the full-width question mark as the user typed it
        "本周各渠道的订单量",
        "ＨＯＷ many refunds were paid last week?",
    ]
    assert result.removed == {
        "language": 1,
        "length": 1,
        "exact_duplicate": 1,
        "conflicting": 2,
        "near_duplicate": 2,
        "decontaminated": 2,
    }
    assert list(result.removed) == list(REMOVAL_REASONS)
    assert result.normalized == 1  # the padded question; full-width characters are kept as written
    assert result.input_count == len(examples) == len(result.kept) + sum(result.removed.values())
    assert result.kept[-1].query == REFUNDS
    report = result.to_json()
    assert json.loads(json.dumps(report)) == {
        "input_count": 14,
        "kept_count": 5,
        "normalized": 1,
        "removed": result.removed,
    }


def test_every_reason_is_reported_even_when_nothing_is_removed() -> None:
    result = clean_examples(iter([ex("What was GMV last month?")]), eval_questions=())
    assert result.removed == dict.fromkeys(REMOVAL_REASONS, 0)
    assert (result.input_count, result.normalized, len(result.kept)) == (1, 0, 1)
    empty = clean_examples([], eval_questions=[EVAL_EN])
    assert (empty.kept, empty.input_count) == ((), 0)


def test_clean_examples_uses_the_given_config() -> None:
    examples = [ex("What was GMV last month?"), ex("What was the GMV last month?")]
    assert len(clean_examples(examples, eval_questions=()).kept) == 2
    strict = CleaningConfig(near_duplicate_threshold=0.6, max_chars=24)
    result = clean_examples(examples, eval_questions=(), config=strict)
    assert [e.question for e in result.kept] == ["What was GMV last month?"]
    assert result.removed["length"] == 1


def test_one_string_of_eval_questions_is_refused() -> None:
    with pytest.raises(TrainingError, match="eval_questions"):
        clean_examples([ex("What was GMV last month?")], eval_questions=EVAL_EN)
