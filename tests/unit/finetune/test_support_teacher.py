"""The customer-service teacher: questions and a reply per section, each checked against the documents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

import pytest
from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from finetune.chatlogs import ChatTurn, Conversation
from finetune.support_docs import DocSection
from finetune.support_pairs import build_support_data
from finetune.support_teacher import check_question, propose_pairs
from kubeai.errors import ModelServerUnavailableError, TrainingError
from serving.client import Structured
from tests.unit.fakes import scripted_client

T = TypeVar("T", bound=BaseModel)

FILTER = DocSection(
    id="faq_en#9",
    language="en",
    kind="faq",
    title="How often should I replace the filter?",
    text="Replace the AF-3 filter every 6 months, or sooner when the Filter light turns red.",
)
WARRANTY_ZH = DocSection(
    id="faq_zh#20", language="zh", kind="faq", title="保修多久？", text="自签收之日起保修 2 年，滤网不在保修范围内。"
)


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("When does the AF-3 need swapping?", None),
        ("Is it every 6 months that I change the filter?", None),
        ("Do I change the filter every 12 months?", "facts"),
        ("滤网多久换一次？", "language"),
        ("how often should I replace the filter?", "unchanged"),
        ("When does the AF-3 need swapping?  ", "unchanged"),
    ],
)
def test_check_question(question: str, reason: str | None) -> None:
    assert check_question(FILTER, question, {"when does the af-3 need swapping?"} if "  " in question else set()) == (
        reason
    )


async def test_kept_questions_share_a_checked_reply_and_every_rejection_is_counted() -> None:
    client, chat = scripted_client(
        {
            "questions": ["When does the AF-3 need swapping?", "Do I change it every 12 months?", "滤网多久换？"],
            "answer": "Every 6 months, or sooner when the Filter light turns red.",
        },
        {"questions": ["质保期多长？"], "answer": "保修 3 年。"},  # a figure the section does not state
    )
    kept, report = await propose_pairs(
        [FILTER, WARRANTY_ZH], client=client, model="big", count=3, max_sections=10, seed=1
    )
    assert [(p.question, p.answer, p.source) for p in kept] == [
        ("When does the AF-3 need swapping?", "Every 6 months, or sooner when the Filter light turns red.", "teacher"),
        ("质保期多长？", WARRANTY_ZH.text, "teacher"),
    ]
    assert kept[0].provenance == {"section": "faq_en#9", "model": "big"}
    assert report["rejected"] == {"language": 1, "unchanged": 0, "facts": 1, "output": 0, "answer": 1}
    assert (report["asked"], report["proposed"], report["kept"]) == (2, 4, 2)
    assert chat.models == ["big", "big"]
    prompt = str(chat.prompts[0][-1].content)
    assert FILTER.text in prompt
    assert '"maxItems": 5' in json.dumps(chat.formats[0])


async def test_garbage_costs_its_section_only() -> None:
    client, _chat = scripted_client("the teacher rambles", {"questions": ["保修是几年？"], "answer": "保修 2 年。"})
    kept, report = await propose_pairs(
        [FILTER, WARRANTY_ZH], client=client, model="big", count=1, max_sections=10, seed=1
    )
    assert [p.question for p in kept] == ["保修是几年？"]
    assert report["rejected"]["output"] == 1


class DownTeacher:
    base_url = "http://teacher.invalid/v1"

    async def structured(
        self,
        messages: Sequence[BaseMessage],
        schema: type[T],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> Structured[T]:
        raise ModelServerUnavailableError("down", url=self.base_url)


async def test_an_unreachable_teacher_stops_with_one_sentence_naming_it() -> None:
    with pytest.raises(TrainingError, match=r"Cannot reach the teacher model server at http://teacher\.invalid/v1"):
        await propose_pairs([FILTER], client=DownTeacher(), model="big", count=1, max_sections=5, seed=1)


def test_teacher_pairs_go_through_the_same_cleaning_as_the_rest() -> None:
    def teacher(sections: Sequence[DocSection]) -> tuple[list[Any], dict[str, Any]]:
        from finetune.support_pairs import SupportPair

        pairs = [
            SupportPair(
                question=q, answer=FILTER.text, language="en", source="teacher", provenance={"section": FILTER.id}
            )
            for q in (
                "When does the AF-3 need swapping?",
                "when does the AF-3 need swapping??",
                "how often do i actually need to swap the filter thing",
            )
        ]
        return pairs, {"model": "big", "asked": 1, "proposed": 3, "kept": 3, "rejected": {}}

    conversations = [
        Conversation(
            id="c1",
            language="en",
            turns=(
                ChatTurn(role="customer", text="Is the filter washable?"),
                ChatTurn(role="agent", text="Our blender line ships with a free recipe book."),
            ),
        )
    ]
    data = build_support_data(
        conversations,
        [FILTER],
        eval_questions=["how often do i actually need to swap the filter thing in this purifier"],
        teacher=teacher,
    )
    taught = [p.question for p in data.pairs if p.source == "teacher"]
    assert taught == ["When does the AF-3 need swapping?"]
    assert data.report["method"] == "teacher"
    assert data.report["teacher"]["model"] == "big"
    assert data.report["log_pairs"]["removed"]["ungrounded"] == 1
