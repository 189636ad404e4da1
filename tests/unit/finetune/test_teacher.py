"""The teacher's paraphrases: the seeded sample, each rejection reason, the report, and a failing teacher."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ValidationError

from finetune.examples import Language, QueryExample
from finetune.teacher import (
    MAX_CONCURRENT,
    REJECTION_REASONS,
    Paraphrases,
    check_paraphrase,
    paraphrase_examples,
    paraphraser,
    sample_questions,
)
from knowledge.catalog import Catalog, demo_catalog_path, load_catalog
from kubeai.config import LLMConfig, TeacherConfig
from kubeai.errors import (
    ConfigError,
    KubeAIError,
    ModelNotFoundError,
    ModelOutputError,
    ModelServerError,
    ModelServerUnavailableError,
    ModelTimeoutError,
    TrainingError,
)
from serving.client import ModelClient, Structured, Usage
from serving.launcher import free_port
from tests.unit.fakes import scripted_client

T = TypeVar("T", bound=BaseModel)

URL = "http://teacher.test:8000/v1"

EAST_LAST_MONTH = {
    "metrics": ["gmv"],
    "filters": [{"dimension": "region", "values": ["east_china"]}],
    "time_range": "last_month",
}
HUADONG_LAST_MONTH = {
    "metrics": ["gmv"],
    "filters": [{"dimension": "region", "values": ["华东"]}],
    "time_range": "last_month",
}
TOP_5_IN_2025 = {
    "metrics": ["gmv"],
    "dimensions": ["region"],
    "order_by": [{"target": "gmv"}],
    "limit": 5,
    "time_range": {"start": "2025-01-01", "end": "2025-12-31"},
}

EN = "What was GMV for East China last month?"
ZH = "上个月华东的GMV是多少？"
TOP = "Top 5 regions by GMV in 2025"
FORECAST = "Forecast GMV for next month."


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(demo_catalog_path())


def ex(
    question: str, query: dict[str, Any] | None = EAST_LAST_MONTH, *, language: Language = "en", intent: str = "filter"
) -> QueryExample:
    return QueryExample(question=question, language=language, query=query, intent=intent)


EXAMPLES = [
    ex(EN),
    ex(ZH, HUADONG_LAST_MONTH, language="zh"),
    ex(TOP, TOP_5_IN_2025, intent="top"),
    ex(FORECAST, None, intent="forecast"),
]


@dataclass(frozen=True)
class Call:
    question: str
    messages: list[BaseMessage]
    model: str | None
    max_tokens: int | None


class FakeTeacher:
    """A teacher endpoint with canned answers per question, validated against the schema as ModelClient does.

    A reply is a list of paraphrases, or a raw string sent as the model's text; ``error`` is raised on every call.
    """

    base_url = URL

    def __init__(
        self,
        replies: Mapping[str, list[str] | str] | None = None,
        *,
        default: Callable[[str], list[str] | str] | None = None,
        error: ModelServerError | None = None,
    ) -> None:
        self.replies = dict(replies or {})
        self.default = default
        self.error = error
        self.calls: list[Call] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def structured(
        self,
        messages: Sequence[BaseMessage],
        schema: type[T],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> Structured[T]:
        question = str(messages[-1].content).removeprefix("## Question").strip()
        self.calls.append(Call(question, list(messages), model, max_tokens))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.001)
        self.in_flight -= 1
        if self.error is not None:
            raise self.error
        reply = self.replies[question] if self.default is None else self.replies.get(question, self.default(question))
        raw = reply if isinstance(reply, str) else json.dumps({"paraphrases": reply}, ensure_ascii=False)
        try:
            value = schema.model_validate_json(raw)
        except ValidationError:
            raise ModelOutputError("garbage", url=URL, model=model, raw=raw) from None
        return Structured(value=value, raw=raw, model=model or "teacher", usage=Usage(), latency_s=0.0)


async def run(
    catalog: Catalog,
    examples: Sequence[QueryExample],
    teacher: FakeTeacher,
    *,
    paraphrases: int = 3,
    max_questions: int = 100,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[QueryExample], dict[str, Any]]:
    return await paraphrase_examples(
        examples,
        client=teacher,
        model="big-teacher",
        catalog=catalog,
        paraphrases=paraphrases,
        max_questions=max_questions,
        seed=seed,
        progress=progress,
    )


# --- the checks, one reason at a time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "paraphrase", "reason"),
    [
        (EXAMPLES[0], "How much GMV did East China bring in last month?", None),
        (EXAMPLES[0], "上个月华东的GMV是多少？", "language"),
        (EXAMPLES[0], "  what was gmv for EAST CHINA   last month? ", "unchanged"),
        (EXAMPLES[0], "What was GMV for the eastern region last month?", "values"),
        (EXAMPLES[0], "What was GMV for East Chinatown last month?", "values"),
        (EXAMPLES[0], "What was GMV for East China this month?", "period"),
        (EXAMPLES[0], "What was GMV for East China over the previous month?", None),
        (EXAMPLES[0], "What was GMV for East China in the last 3 months?", "numbers"),
        (EXAMPLES[1], "华东地区上个月的GMV有多少？", None),
        (EXAMPLES[1], "上月华东GMV多少？", None),
        (EXAMPLES[1], "上个月华南的GMV是多少？", "values"),
        (EXAMPLES[1], "本月华东的GMV是多少？", "period"),
        (EXAMPLES[2], "Which 5 regions had the highest GMV in 2025?", None),
        (EXAMPLES[2], "Top five regions by GMV in 2025", "numbers"),
        (EXAMPLES[2], "Top 3 regions by GMV in 2025", "numbers"),
        (EXAMPLES[2], "Top 5 regions by GMV in 2024", "numbers"),
        (EXAMPLES[3], "Predict GMV for 2030 and beyond.", None),
        (EXAMPLES[3], "预测下个月的GMV。", "language"),
        (EXAMPLES[3], "forecast gmv for next month.", "unchanged"),
    ],
)
def test_check_paraphrase(catalog: Catalog, original: QueryExample, paraphrase: str, reason: str | None) -> None:
    assert check_paraphrase(original, paraphrase, catalog) == reason


def test_a_value_said_as_stored_with_underscores_must_stay(catalog: Catalog) -> None:
    original = ex("GMV of east_china last month")
    assert check_paraphrase(original, "last month's GMV of east_china", catalog) is None
    assert check_paraphrase(original, "last month's GMV of east china", catalog) is None
    assert check_paraphrase(original, "last month's GMV of the east", catalog) == "values"


def test_a_value_the_question_does_not_name_is_not_required(catalog: Catalog) -> None:
    # The stored value is Chinese, the English question names it in English: nothing to compare.
    original = ex(EN, HUADONG_LAST_MONTH)
    assert check_paraphrase(original, "How much GMV did the east bring in last month?", catalog) is None


def test_a_one_character_chinese_value_must_stay(catalog: Catalog) -> None:
    query = {"metrics": ["gmv"], "filters": [{"dimension": "gender", "values": ["男"]}]}
    original = ex("男性用户的GMV是多少？", query, language="zh")
    assert check_paraphrase(original, "男性用户贡献了多少GMV？", catalog) is None
    assert check_paraphrase(original, "女性用户贡献了多少GMV？", catalog) == "values"


# --- the whole stage ------------------------------------------------------------------------------------------------


async def test_kept_paraphrases_become_teacher_examples_and_every_reason_is_counted(catalog: Catalog) -> None:
    teacher = FakeTeacher(
        {
            EN: [
                "How much GMV did East China bring in last month?",
                "How much GMV did East China bring in last month?",  # a repeat counts as unchanged
                "What was GMV for the eastern region last month?",
            ],
            ZH: ["华东地区上个月的GMV有多少？", "本月华东的GMV是多少？", "What was GMV for East China last month?"],
            TOP: ["Which 5 regions had the highest GMV in 2025?", "Top 3 regions by GMV in 2025", TOP.lower()],
            FORECAST: "this is not JSON",
        }
    )
    kept, report = await run(catalog, EXAMPLES, teacher)

    assert [e.question for e in kept] == [
        "How much GMV did East China bring in last month?",
        "华东地区上个月的GMV有多少？",
        "Which 5 regions had the highest GMV in 2025?",
    ]
    for added, original in zip(kept, EXAMPLES[:3], strict=True):
        assert added.source == "teacher"
        assert (added.query, added.intent, added.language) == (original.query, original.intent, original.language)
    assert report == {
        "model": "big-teacher",
        "asked": 4,
        "proposed": 9,
        "kept": 3,
        "rejected": {"language": 1, "unchanged": 2, "values": 1, "numbers": 1, "period": 1, "output": 1},
    }
    assert tuple(report["rejected"]) == REJECTION_REASONS


async def test_abstentions_are_paraphrased_with_only_the_language_check(catalog: Catalog) -> None:
    teacher = FakeTeacher({FORECAST: ["Predict GMV for 2030 and beyond.", "预测下个月的GMV。"]})
    kept, report = await run(catalog, [EXAMPLES[3]], teacher, paraphrases=2)
    assert [(e.question, e.query, e.intent, e.source) for e in kept] == [
        ("Predict GMV for 2030 and beyond.", None, "forecast", "teacher")
    ]
    assert report["rejected"]["language"] == 1


@pytest.mark.parametrize("garbage", ["not json", '{"paraphrases": []}', '{"paraphrases": ["ok"]}', '{"other": 1}'])
async def test_garbage_output_is_counted_not_raised(catalog: Catalog, garbage: str) -> None:
    teacher = FakeTeacher({EN: garbage, ZH: ["华东地区上个月的GMV有多少？"]})
    kept, report = await run(catalog, EXAMPLES[:2], teacher)
    assert [e.question for e in kept] == ["华东地区上个月的GMV有多少？"]
    assert report["rejected"]["output"] == 1
    assert (report["asked"], report["proposed"], report["kept"]) == (2, 1, 1)


async def test_garbage_from_the_real_client_is_counted(catalog: Catalog) -> None:
    client, _chat = scripted_client("the teacher rambles instead of answering")
    kept, report = await paraphrase_examples(
        [EXAMPLES[0]], client=client, model="big", catalog=catalog, paraphrases=1, max_questions=5, seed=1
    )
    assert kept == []
    assert report["rejected"]["output"] == 1


async def test_the_real_client_sends_the_prompt_schema_and_model(catalog: Catalog) -> None:
    client, chat = scripted_client({"paraphrases": ["How much GMV did East China bring in last month?"]})
    kept, _report = await paraphrase_examples(
        [EXAMPLES[0]], client=client, model="big", catalog=catalog, paraphrases=1, max_questions=5, seed=1
    )
    assert [e.question for e in kept] == ["How much GMV did East China bring in last month?"]
    assert chat.models == ["big"]
    assert EN in str(chat.prompts[0][-1].content)
    schema = json.dumps(chat.formats[0])
    assert '"minItems": 1' in schema
    assert '"maxItems": 5' in schema


async def test_the_prompt_asks_for_the_same_language_and_the_count(catalog: Catalog) -> None:
    teacher = FakeTeacher(default=lambda _q: "garbage")
    await run(catalog, EXAMPLES[:2], teacher, paraphrases=2)
    by_question = {call.question: call for call in teacher.calls}
    english, chinese = by_question[EN], by_question[ZH]
    assert "Write in English" in str(english.messages[0].content)
    assert "Write in Chinese" in str(chinese.messages[0].content)
    assert "a list of 2 different rewordings" in str(english.messages[0].content)
    assert {english.model, chinese.model} == {"big-teacher"}
    assert english.max_tokens is not None
    assert english.max_tokens >= 2 * 100


async def test_only_as_many_paraphrases_as_asked_are_considered(catalog: Catalog) -> None:
    teacher = FakeTeacher(
        {EN: ["How much GMV did East China bring in last month?", "East China GMV, last month, please."]}
    )
    kept, report = await run(catalog, [EXAMPLES[0]], teacher, paraphrases=1)
    assert [e.question for e in kept] == ["How much GMV did East China bring in last month?"]
    assert report["proposed"] == 1


async def test_at_most_four_questions_at_once_and_progress_counts_up(catalog: Catalog) -> None:
    examples = [ex(f"What was GMV for East China last month, case {i}?") for i in range(12)]
    teacher = FakeTeacher(default=lambda q: [q.replace("What was", "Tell me")])
    seen: list[tuple[int, int]] = []
    kept, report = await run(catalog, examples, teacher, progress=lambda done, total: seen.append((done, total)))
    assert teacher.most_in_flight == MAX_CONCURRENT
    assert seen == [(i, 12) for i in range(1, 13)]
    assert report["kept"] == len(kept) == 12
    assert [e.question for e in kept] == [e.question.replace("What was", "Tell me") for e in examples]


async def test_max_questions_limits_what_is_asked(catalog: Catalog) -> None:
    examples = [ex(f"What was GMV for East China last month, case {i}?") for i in range(12)]
    teacher = FakeTeacher(default=lambda q: [q.replace("What was", "Tell me")])
    _kept, report = await run(catalog, examples, teacher, max_questions=5)
    assert report["asked"] == len(teacher.calls) == 5


@pytest.mark.parametrize(("paraphrases", "max_questions"), [(0, 10), (6, 10), (1, 0)])
async def test_bad_arguments_are_refused(catalog: Catalog, paraphrases: int, max_questions: int) -> None:
    with pytest.raises(ValueError, match="paraphrases must be 1 to 5"):
        await run(catalog, EXAMPLES, FakeTeacher(), paraphrases=paraphrases, max_questions=max_questions)


# --- a teacher that fails -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ModelServerUnavailableError("down", url=URL), f"Cannot reach the teacher model server at {URL}; start it"),
        (
            ModelNotFoundError("missing", url=URL, available=("small",)),
            f"The teacher model server at {URL} does not serve 'big-teacher' \\(it serves: small\\)",
        ),
        (ModelTimeoutError("slow", url=URL), f"The teacher model server at {URL} did not answer 'big-teacher' in time"),
        (
            ModelServerError(f"The model server at {URL} rejected the request (HTTP 400): bad.", url=URL),
            f"The teacher 'big-teacher' failed: The model server at {URL} rejected",
        ),
    ],
)
async def test_a_failing_teacher_stops_the_run_with_one_sentence(
    catalog: Catalog, error: ModelServerError, message: str
) -> None:
    teacher = FakeTeacher(error=error)
    examples = [ex(f"What was GMV for East China last month, case {i}?") for i in range(20)]
    with pytest.raises(TrainingError, match=message) as caught:
        await run(catalog, examples, teacher)
    assert "\n" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert len(teacher.calls) <= MAX_CONCURRENT  # the questions still waiting were cancelled, not asked


async def test_an_unreachable_real_server_names_its_url(catalog: Catalog) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = ModelClient(LLMConfig(base_url=url, max_retries=0, timeout_s=5), default_model="big")
    with pytest.raises(TrainingError, match=f"Cannot reach the teacher model server at {re.escape(url)};"):
        await paraphrase_examples(
            EXAMPLES, client=client, model="big", catalog=catalog, paraphrases=1, max_questions=10, seed=1
        )


def test_paraphraser_runs_the_stage_synchronously_against_the_configured_url(catalog: Catalog) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    stage = paraphraser(TeacherConfig(base_url=url, model="big", timeout_s=5), catalog, seed=7)
    began = time.perf_counter()
    with pytest.raises(TrainingError, match=f"Cannot reach the teacher model server at {re.escape(url)};"):
        stage([EXAMPLES[0]])
    assert time.perf_counter() - began < 30


def test_paraphraser_refuses_a_url_that_is_not_http(catalog: Catalog) -> None:
    with pytest.raises(ConfigError, match=r"finetune\.teacher\.base_url 'gpu-box:8000' is not an http") as caught:
        paraphraser(TeacherConfig(base_url="gpu-box:8000", model="big"), catalog, seed=7)
    assert caught.value.field == "finetune.teacher.base_url"
    assert isinstance(caught.value, KubeAIError)


# --- the schema -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "texts", [[], ["one is fine"] * 6, ["abc"], ["x" * 201]], ids=["none", "six", "too-short", "too-long"]
)
def test_the_schema_bounds_the_answer(texts: list[str]) -> None:
    with pytest.raises(ValidationError):
        Paraphrases(paraphrases=texts)
    assert Paraphrases(paraphrases=["abcd", "y" * 200]).paraphrases == ["abcd", "y" * 200]


# --- the seeded sample ----------------------------------------------------------------------------------------------


def population() -> list[QueryExample]:
    sizes = {("en", "total"): 40, ("en", "breakdown"): 20, ("zh", "total"): 30, ("zh", "unanswerable"): 10}
    out = []
    for (language, intent), size in sizes.items():
        lang: Language = "en" if language == "en" else "zh"
        out += [ex(f"{language} {intent} question {i}", None, language=lang, intent=intent) for i in range(size)]
    return out


def strata(examples: Sequence[QueryExample]) -> Counter[tuple[str, str]]:
    return Counter((e.language, e.intent) for e in examples)


def test_the_sample_keeps_each_language_and_intent_in_proportion() -> None:
    chosen = sample_questions(population(), 20, seed=7)
    assert strata(chosen) == {("en", "total"): 8, ("en", "breakdown"): 4, ("zh", "total"): 6, ("zh", "unanswerable"): 2}


def test_the_sample_is_seeded_and_keeps_the_input_order() -> None:
    examples = population()
    order = {e.question: i for i, e in enumerate(examples)}
    first = sample_questions(examples, 20, seed=7)
    assert [e.question for e in sample_questions(examples, 20, seed=7)] == [e.question for e in first]
    assert [e.question for e in sample_questions(examples, 20, seed=8)] != [e.question for e in first]
    positions = [order[e.question] for e in first]
    assert positions == sorted(positions)


def test_a_small_group_is_still_represented() -> None:
    examples = [*population(), ex("the only one of its kind", None, language="en", intent="rare")]
    assert strata(sample_questions(examples, 10, seed=7))[("en", "rare")] == 1


def test_more_groups_than_questions_takes_the_largest_groups() -> None:
    assert strata(sample_questions(population(), 2, seed=7)) == {("en", "total"): 1, ("zh", "total"): 1}


def test_a_sample_as_large_as_the_examples_takes_them_all() -> None:
    examples = population()
    assert sample_questions(examples, len(examples), seed=7) == examples
    assert sample_questions(examples, 1000, seed=7) == examples
