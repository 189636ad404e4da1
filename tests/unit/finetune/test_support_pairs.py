"""Customer-service pairs: sections and facts of the documents, the consistency check, synthesis, cleaning, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.dataset import eval_questions
from finetune.chatlogs import ChatTurn, Conversation, load_chats, scrub_pii, shipped_chats_path
from finetune.lora import load_examples
from finetune.support_docs import consistency, facts, load_sections, parse_markdown, shipped_docs_path
from finetune.support_pairs import (
    SUPPORT_SYSTEM_PROMPT,
    SupportData,
    build_support_data,
    doc_pairs,
    read_pairs,
    write_support_data,
)

DATASETS = Path(__file__).resolve().parents[3] / "evals" / "datasets"
SECTIONS = load_sections(shipped_docs_path())


def chat(cid: str, question: str, answer: str, language: str = "en") -> Conversation:
    turns = (ChatTurn(role="customer", text=question), ChatTurn(role="agent", text=answer))
    return Conversation(id=cid, language=language, turns=turns)


def test_markdown_splits_into_faq_manual_and_item_sections() -> None:
    text = (
        "# Title\n\nIntro.\n\n## Orders\n\n### How long is the warranty?\n\nTwo years\nfrom delivery.\n\n"
        "## Error codes\n\n- E1: fan fault. Unplug it\n  for 1 minute.\n- E2: filter missing.\n\n"
        "## 保修\n\n保修 2 年，\n滤网不保修。\n"
    )
    sections = parse_markdown(text, stem="faq_en", language="en")
    assert [(s.kind, s.title, s.text) for s in sections] == [
        ("faq", "How long is the warranty?", "Two years from delivery."),
        ("item", "E1", "E1: fan fault. Unplug it for 1 minute."),
        ("item", "E2", "E2: filter missing."),
        ("manual", "保修", "保修 2 年，滤网不保修。"),
    ]
    assert sections[1].id == "faq_en#3.E1"


def test_facts_are_error_codes_and_numbers_with_units() -> None:
    assert facts("A 2-year warranty; E3 means a sensor fault. It costs $39 and ships in 3-5 business days.") == {
        "2 year",
        "e3",
        "$39",
        "3 business day",
        "5 business day",
    }
    assert facts("保修 2 年，滤网 199 元，1-3 天送达，型号 AP3") == {"2 年", "199 元", "1 天", "3 天"}


@pytest.mark.parametrize(
    ("answer", "language", "reason"),
    [
        ("Replace the AF-3 filter every 6 months, or sooner when the Filter light turns red.", "en", None),
        ("You should replace the filter every 12 months.", "en", "contradicts_docs"),
        ("The warranty is 1 year from the date of purchase.", "en", "contradicts_docs"),
        ("E6 means the water tank is empty; refill it and restart.", "en", "contradicts_docs"),
        ("We will send you a coupon for your next purchase of our kitchen line.", "en", "ungrounded"),
        ("AF-3 滤网每 6 个月更换一次。", "zh", None),
        ("支持 15 天无理由退货，商品需未使用。", "zh", "contradicts_docs"),
    ],
)
def test_consistency_with_the_documents(answer: str, language: str, reason: str | None) -> None:
    assert consistency(answer, SECTIONS, language=language).reason == reason


def test_every_doc_pair_is_answered_by_its_own_section_in_its_language() -> None:
    pairs = doc_pairs(SECTIONS)
    by_id = {s.id: s for s in SECTIONS}
    assert len(pairs) == 2 * len(SECTIONS)
    assert {p.language for p in pairs} == {"en", "zh"}
    for pair in pairs:
        section = by_id[pair.provenance["section"]]
        assert pair.answer == section.text
        assert pair.language == section.language
        check = consistency(pair.answer, SECTIONS, language=pair.language)
        assert check.reason is None
    questions = {p.question for p in pairs}
    assert "What does the manual say about replacing the filter?" in questions
    assert "My purifier shows E3, what should I do?" in questions
    assert "净化器显示E3怎么办？" in questions


def test_duplicates_contradictions_and_a_planted_eval_question_are_removed() -> None:
    held_out = "how often do i actually need to swap the filter thing in this purifier"
    assert held_out in eval_questions(DATASETS)
    answer = "Replace the AF-3 filter every 6 months, or sooner when the Filter light turns red."
    conversations = [
        chat("c1", "How often do I need to change the filter?", answer),
        chat("c2", "How often do I need to change the filter?", answer),  # exported twice
        chat("c3", "how often do I need to change the filter??", answer),  # retyped
        chat("c4", "how often do i actually need to swap the filter in this purifier?", answer),  # the eval question
        chat("c5", "How long is the warranty?", "The warranty is 1 year from the date of purchase."),
        chat("c6", "你们卖手机吗？", "抱歉，我只能解答 AeroPure 产品相关的问题。", language="zh"),
    ]
    data = build_support_data(conversations, SECTIONS, eval_questions=[held_out])
    report = data.report
    assert report["log_pairs"]["removed"] == {"unanswered": 0, "contradicts_docs": 1, "ungrounded": 0}
    assert report["refusals"] == 1
    removed = report["cleaning"]["removed"]
    assert removed["exact_duplicate"] == 1
    assert removed["near_duplicate"] >= 1
    assert removed["decontaminated"] >= 1
    logs = [p for p in data.pairs if p.source == "logs"]
    assert [p.provenance["conversation"] for p in logs] == ["c1"]
    assert all("swap" not in p.question for p in data.pairs)
    assert report["cleaning"]["input_count"] == report["candidates"]
    assert report["kept_pairs"] == report["candidates"] - sum(removed.values())
    refusal = next(p for p in data.pairs if p.source == "refusal")
    assert refusal.language == "zh" and "说明书" in refusal.answer


@pytest.fixture(scope="module")
def shipped() -> SupportData:
    return build_support_data(load_chats(shipped_chats_path()), SECTIONS, eval_questions=eval_questions(DATASETS))


def test_the_shipped_data_becomes_clean_grounded_pairs(shipped: SupportData) -> None:
    report = shipped.report
    assert report["method"] == "templates and logs (no teacher)"
    assert report["log_pairs"]["removed"]["contradicts_docs"] >= 9  # the wrong answers the logs were written with
    assert set(report["by_source"]) == {"docs", "logs", "refusal"}
    assert report["by_language"]["en"] > 100 and report["by_language"]["zh"] > 100
    for pair in shipped.pairs:
        text = pair.question + " " + pair.answer
        assert scrub_pii(text)[0] == text, text
        if pair.source != "refusal":
            assert consistency(pair.answer, SECTIONS, language=pair.language).reason is None
    held_out = {q.casefold() for q in eval_questions(DATASETS)}
    assert not any(p.question.casefold() in held_out for p in shipped.pairs)


def test_written_files_load_in_the_trainers_format(shipped: SupportData, tmp_path: Path) -> None:
    paths = write_support_data(tmp_path, shipped)
    examples = load_examples(paths["train"])
    assert len(examples) == len(shipped.pairs)
    first = examples[0]
    assert [role for role, _ in first.messages] == ["system", "user", "assistant"]
    assert first.messages[0][1] == SUPPORT_SYSTEM_PROMPT
    assert first.language in ("en", "zh")
    assert read_pairs(paths["pairs"]) == list(shipped.pairs)
    report = json.loads(paths["report"].read_text("utf-8"))
    assert len(report["data_hash"]) == 64
    assert report["kept_pairs"] == len(shipped.pairs)
