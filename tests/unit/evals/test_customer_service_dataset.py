"""The customer-service held-out set: it loads, it is balanced, and it is no copy of the FAQ it tests."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from evals.dataset import eval_questions, load_dataset
from evals.items import CustomerServiceItem, Language
from finetune.clean import CleaningContext, decontaminate
from finetune.examples import QueryExample
from kubeai.errors import DatasetError
from kubeai.language import detect_language

DATASET = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "customer_service"
DOCS = "finetune.data.customer_service.docs"


def _items() -> tuple[CustomerServiceItem, ...]:
    return load_dataset(DATASET).items_of(CustomerServiceItem)


def _faq_questions() -> list[tuple[Language, str]]:
    questions: list[tuple[Language, str]] = []
    languages: tuple[Language, ...] = ("en", "zh")
    for language in languages:
        text = resources.files(DOCS).joinpath(f"faq_{language}.md").read_text(encoding="utf-8")
        questions += [(language, line.strip()) for line in re.findall(r"^###\s+(.+)$", text, flags=re.M)]
    return questions


def test_the_set_loads_bilingual_with_a_quarter_to_refuse() -> None:
    items = _items()
    assert len(items) >= 40
    assert {item.language for item in items} == {"en", "zh"}
    refused = [item for item in items if item.should_refuse]
    assert 0.2 <= len(refused) / len(items) <= 0.35
    assert all(detect_language(item.question) == item.language for item in items)
    assert all(item.facts for item in items if not item.should_refuse)


def test_no_item_near_duplicates_a_faq_question() -> None:
    faq = _faq_questions()
    assert len(faq) >= 20
    examples = tuple(
        QueryExample(question=question, language=language, query=None, intent="faq") for language, question in faq
    )
    held_out = tuple(item.question for item in _items())
    kept = decontaminate(examples, CleaningContext(eval_questions=held_out)).kept
    assert [e.question for e in examples if e not in kept] == []


def test_training_decontaminates_against_the_set() -> None:
    questions = eval_questions(DATASET.parent)
    assert {item.question for item in _items()} <= set(questions)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "question": "q?", "language": "en"}', "should_refuse"),
        ('{"id": "x", "question": "q?", "language": "en", "should_refuse": true, "facts": ["a"]}', "no facts"),
        ('{"id": "x", "question": "q?", "language": "en", "facts": [["a", " "]]}', "non-empty"),
    ],
)
def test_an_item_needs_facts_or_a_refusal(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "dataset.yaml").write_text("name: cs\nversion: '1'\nkind: customer_service\nitems: q.jsonl\n")
    (tmp_path / "q.jsonl").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path)


def test_a_fact_written_as_a_string_is_one_alternative(tmp_path: Path) -> None:
    (tmp_path / "dataset.yaml").write_text("name: cs\nversion: '1'\nkind: customer_service\nitems: q.jsonl\n")
    (tmp_path / "q.jsonl").write_text(
        '{"id": "x", "question": "保修几年", "language": "zh", "facts": ["2年", ["两年", "二年"]]}\n', encoding="utf-8"
    )
    (item,) = load_dataset(tmp_path).items_of(CustomerServiceItem)
    assert item.facts == (("2年",), ("两年", "二年"))
