"""Run summaries: answers cut off or prompts too long are counted; several datasets of one kind are kept apart."""

from __future__ import annotations

from typing import Any

from evals.report import summarize_run, terminal_table


def _record(item: str, *, cut_off: bool = False, too_long: bool = False) -> dict[str, Any]:
    return {
        "item_id": item,
        "variant": "m/rag",
        "model": "m",
        "strategy": "rag",
        "kind": "metrics_qa",
        "language": "en",
        "difficulty": "easy",
        "expect_abstention": False,
        "abstained": False,
        "correct": not (cut_off or too_long),
        "exact_match": None,
        "chart_valid": None,
        "error": None,
        "latency_s": 1.0,
        "tokens": {},
        "cut_off": cut_off,
        "prompt_too_long": too_long,
    }


def test_cut_off_answers_and_prompts_too_long_are_counted_and_shown() -> None:
    summary = summarize_run([_record("a"), _record("b", cut_off=True), _record("c", too_long=True)])
    variant = summary["variants"]["m/rag"]
    assert (variant["cut_off"], variant["prompt_too_long"]) == (1, 1)
    assert "cut off" in terminal_table(summary)


def test_records_from_before_the_counts_existed_count_as_not_cut_off() -> None:
    old = _record("a")
    del old["cut_off"], old["prompt_too_long"]
    assert summarize_run([old])["variants"]["m/rag"]["cut_off"] == 0


def test_two_datasets_of_one_kind_are_reported_apart() -> None:
    demo = [{**_record("a"), "dataset": "metrics_qa"}, {**_record("b"), "dataset": "metrics_qa"}]
    other = [{**_record("c", cut_off=True), "dataset": "logistics_qa"}]
    variants = summarize_run([*demo, *other])["variants"]
    assert set(variants) == {"metrics_qa: m/rag", "logistics_qa: m/rag"}
    assert variants["metrics_qa: m/rag"]["items"] == 2
    assert variants["logistics_qa: m/rag"]["cut_off"] == 1
    assert set(summarize_run(demo)["variants"]) == {"m/rag"}  # one dataset: named by the variant alone
