"""Chat log cleaning: personal data scrubbed per kind in both languages, the turn filters, and the pairing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from finetune.chatlogs import (
    ChatTurn,
    Conversation,
    exchanges,
    load_chats,
    scrub_pii,
    shipped_chats_path,
    turn_filter,
)
from kubeai.errors import TrainingError

PHONE_LIKE = re.compile(r"\d(?:[\s().-]?\d){6,}")
EMAIL_LIKE = re.compile(r"\S+@\S+\.\w+")


@pytest.mark.parametrize(
    ("text", "scrubbed", "kind"),
    [
        ("My email is jane.doe@gmail.com.", "My email is [EMAIL].", "email"),
        ("我的邮箱是wang.xm@163.com，滤网多少钱？", "我的邮箱是[EMAIL]，滤网多少钱？", "email"),
        ("Order #AP5868482693. Where is it?", "Order [ORDER_ID]. Where is it?", "order_id"),
        ("订单号AP1234567890，还没发货", "订单号[ORDER_ID]，还没发货", "order_id"),
        ("Call me at (415) 555-0134 please", "Call me at [PHONE] please", "phone"),
        ("call +1 415 555 0199 or 212.555.0147", "call [PHONE] or [PHONE]", "phone"),
        ("我的手机号是13812345678，谢谢", "我的手机号是[PHONE]，谢谢", "phone"),
        ("电话 +86 137-2233-4455 或 139 1234 5678", "电话 [PHONE] 或 [PHONE]", "phone"),
        (
            "I live at 77 Ocean Ave, Apt 5, San Diego, CA 92101. Ship there",
            "I live at [ADDRESS]. Ship there",
            "address",
        ),
        ("send it to 1428 Elm Street, Springfield, IL 62704", "send it to [ADDRESS]", "address"),
        ("我家地址是上海市浦东新区世纪大道100号3栋502室，", "我家地址是[ADDRESS]，", "address"),
        ("寄到广东省深圳市南山区科技园路1号", "寄到[ADDRESS]", "address"),
        ("My name is Jane Doe. Help", "My name is [NAME]. Help", "name"),
        ("Hi Jane, the filter lasts 6 months.", "Hi [NAME], the filter lasts 6 months.", "name"),
        ("我叫王小明，滤网怎么换？", "我叫[NAME]，滤网怎么换？", "name"),
        ("李女士您好，保修 2 年。", "[NAME]您好，保修 2 年。", "name"),
    ],
)
def test_each_kind_of_personal_data_becomes_its_placeholder(text: str, scrubbed: str, kind: str) -> None:
    out, counts = scrub_pii(text)
    assert out == scrubbed
    assert set(counts) == {kind}


def test_product_figures_are_not_taken_for_personal_data() -> None:
    text = "CADR 320 m³/h, 100-240 V, 4,320 hours, E3, AF-3, 2.4 GHz, 3-5 business days, 26 × 26 × 55 cm"
    assert scrub_pii(text) == (text, {})


def test_nothing_in_the_shipped_logs_looks_like_a_phone_or_email_after_scrubbing() -> None:
    chats = load_chats(shipped_chats_path())
    raw = [turn.text for chat in chats for turn in chat.turns]
    assert sum(bool(PHONE_LIKE.search(t)) for t in raw) >= 20  # the logs do hold personal data
    assert sum(bool(EMAIL_LIKE.search(t)) for t in raw) >= 20
    for text in raw:
        out, _counts = scrub_pii(text)
        assert not PHONE_LIKE.search(out), out
        assert not EMAIL_LIKE.search(out), out
        assert not re.search(r"AP\d{6,}", out), out


@pytest.mark.parametrize(
    ("text", "language", "reason", "kept"),
    [
        ("Hello there!", "en", "greeting", None),
        ("您好", "zh", "greeting", None),
        ("Hi, thanks for contacting AeroPure support.", "en", "greeting", None),
        ("Great, thanks a lot.", "en", "thanks", None),
        ("ok thanks", "en", "thanks", None),
        ("好的，谢谢！", "zh", "thanks", None),
        ("ok", "en", "too_short", None),
        ("？", "zh", "too_short", None),
        ("嗯", "zh", "too_short", None),
        ("Are you hiring?", "en", "off_topic", None),
        ("今天北京天气怎么样？", "zh", "off_topic", None),
        ("Hi, how often should I replace the filter?", "en", None, "how often should I replace the filter?"),
        ("it says e2 and won't start", "en", None, "it says e2 and won't start"),
        ("[NAME]您好，保修 2 年。", "zh", None, "保修 2 年。"),
        ("晚上开着吵不吵？", "zh", None, "晚上开着吵不吵？"),
    ],
)
def test_turn_filter(text: str, language: str, reason: str | None, kept: str | None) -> None:
    why, out = turn_filter(ChatTurn(role="customer", text=text), language)
    assert why == reason
    if kept is not None:
        assert out == kept


def chat(cid: str, *turns: tuple[str, str], language: str = "en") -> Conversation:
    return Conversation(
        id=cid,
        language=language,
        turns=tuple(ChatTurn(role=role, text=text) for role, text in turns),  # type: ignore[arg-type]
    )


def test_exchanges_pair_each_question_with_its_answer_across_a_short_turn() -> None:
    conversations = [
        chat(
            "c1",
            ("customer", "Hi"),
            ("agent", "Hello! How can I help you today?"),
            ("customer", "My email is a.b@c.com. How long is the warranty?"),
            ("customer", "?"),
            ("agent", "Hi Jane, the warranty lasts 2 years from delivery."),
            ("customer", "Are you hiring?"),
            ("agent", "Sorry, I can only help with questions about AeroPure products."),
            ("customer", "How loud is sleep mode?"),
        ),
    ]
    found, off_topic, counts = exchanges(conversations)
    assert [(e.question, e.answer) for e in found] == [
        ("My email is [EMAIL]. How long is the warranty?", "the warranty lasts 2 years from delivery."),
        ("How loud is sleep mode?", ""),
    ]
    assert [e.question for e in off_topic] == ["Are you hiring?"]
    assert counts["turns"] == 8
    assert counts["pii"] == {"email": 1, "order_id": 0, "phone": 0, "address": 0, "name": 1}
    assert counts["turns_removed"] == {"greeting": 2, "thanks": 0, "too_short": 1, "off_topic": 2}
    assert counts["turns_kept"] == 3


def test_the_shipped_logs_hold_the_mess_the_example_promises() -> None:
    chats = load_chats(shipped_chats_path())
    _found, off_topic, counts = exchanges(chats)
    assert counts["conversations"] >= 100
    assert counts["turns"] >= 500
    assert {"en", "zh"} == {c.language for c in chats}
    assert all(counts["pii"][kind] >= 10 for kind in counts["pii"])
    assert all(value > 0 for value in counts["turns_removed"].values())
    assert off_topic
    exported_twice = [c.turns for c in chats]
    assert len(exported_twice) > len({json.dumps([t.text for t in turns]) for turns in exported_twice})


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_text('{"id": "c1", "language": "en", "turns": []}\n{"id": "c2"}\n', encoding="utf-8")
    with pytest.raises(TrainingError, match="line 2"):
        load_chats(path)
