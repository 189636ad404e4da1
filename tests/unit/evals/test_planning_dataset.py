"""The bundled planning set and the planner's demonstration bank: well formed, balanced and apart from each other.

Tool names, task types and argument fields are hard-coded from the planner tools spec; a stricter check against
the real tool registry lives with the planner.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals import PlanningItem, load_dataset

ROOT = Path(__file__).parents[3]
DATASET = load_dataset(ROOT / "evals" / "datasets" / "planning")
ITEMS = DATASET.items_of(PlanningItem)
DEMOS_PATH = ROOT / "graphs" / "planner" / "demos" / "demos.jsonl"
DEMOS: list[dict[str, Any]] = [
    json.loads(line) for line in DEMOS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()
]

TASK_TYPES = {
    "metric_query": "metric_query",
    "doc_qa": "doc_qa",
    "summarize": "summarize",
    "translate": "translate",
    "classify": "classify",
    "extract": "extract",
    "calculate": "calculate",
    "table_join": "table",
    "table_filter": "table",
    "table_top": "table",
    "table_pivot": "table",
    "table_compare": "table",
    "chart": "chart",
}
"""Tool name -> task type, as the registry declares them."""

FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "metric_query": (frozenset({"question"}), frozenset()),
    "doc_qa": (frozenset({"question"}), frozenset()),
    "summarize": (frozenset({"text", "language"}), frozenset()),
    "translate": (frozenset({"text", "target_language"}), frozenset()),
    "classify": (frozenset({"text", "labels"}), frozenset()),
    "extract": (frozenset({"text", "fields"}), frozenset()),
    "calculate": (frozenset({"expression"}), frozenset()),
    "table_join": (frozenset({"left", "right"}), frozenset({"on", "how"})),
    "table_filter": (frozenset({"table", "column", "op", "value"}), frozenset()),
    "table_top": (frozenset({"table"}), frozenset({"column", "n", "order"})),
    "table_pivot": (frozenset({"table", "index", "columns", "values"}), frozenset({"agg"})),
    "table_compare": (frozenset({"left", "right"}), frozenset({"on"})),
    "chart": (frozenset({"table"}), frozenset({"kind", "title"})),
}
"""Tool name -> (required model-facing fields, optional ones)."""

CHOICES = {
    "language": {"en", "zh"},
    "target_language": {"en", "zh"},
    "how": {"inner", "left", "outer"},
    "op": {"==", "!=", ">", ">=", "<", "<=", "contains"},
    "order": {"desc", "asc"},
    "agg": {"sum", "mean", "count", "min", "max"},
    "kind": {"auto", "bar", "line"},
}
REF_FIELDS = ("left", "right", "table")
TASK_ID = re.compile(r"^t[0-9]{1,2}$")
RESOURCE = re.compile(r"<resource>-(t[0-9]{1,2})")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def test_size_languages_and_ids() -> None:
    assert DATASET.manifest.kind == "planning"
    assert len(ITEMS) >= 40
    languages = Counter(item.language for item in ITEMS)
    assert languages["en"] >= 20
    assert languages["zh"] >= 20
    ids = [item.id for item in ITEMS]
    assert len(set(ids)) == len(ids)
    for item in ITEMS:
        assert item.id.startswith(f"plan-{item.language}-"), item.id
        assert item.tags, item.id


def test_plans_vary_in_size() -> None:
    sizes = Counter(len(item.tasks) for item in ITEMS)
    assert sum(count for size, count in sizes.items() if size <= 2) >= 8
    assert sum(count for size, count in sizes.items() if 3 <= size <= 4) >= 15
    assert sum(count for size, count in sizes.items() if size >= 5) >= 10


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.id)
def test_gold_tasks_use_known_tools_with_their_types(item: PlanningItem) -> None:
    for position, task in enumerate(item.tasks, start=1):
        assert task.id == f"t{position}"
        assert task.tool in TASK_TYPES, f"{item.id} {task.id}: unknown tool {task.tool!r}"
        assert task.type == TASK_TYPES[task.tool], f"{item.id} {task.id}: {task.tool} has type {task.type!r}"
        earlier = {f"t{index}" for index in range(1, position)}
        assert set(task.depends_on) <= earlier, f"{item.id} {task.id} depends on a later task"


def test_gold_graphs_cover_every_tool() -> None:
    used = {task.tool for item in ITEMS for task in item.tasks}
    assert used == set(TASK_TYPES)


def test_demo_bank_is_balanced_and_covers_every_tool() -> None:
    assert len(DEMOS) >= 20
    languages = Counter(demo["language"] for demo in DEMOS)
    assert languages["en"] == languages["zh"]
    ids = [demo["id"] for demo in DEMOS]
    assert len(set(ids)) == len(ids)
    assert {task["tool"] for demo in DEMOS for task in demo["tasks"]} == set(TASK_TYPES)


@pytest.mark.parametrize("demo", DEMOS, ids=lambda demo: demo["id"])
def test_demo_tasks_are_valid_plans(demo: dict[str, Any]) -> None:
    assert set(demo) == {"id", "request", "language", "tasks"}
    assert demo["language"] in {"en", "zh"}
    assert demo["request"].strip()
    assert demo["tasks"]
    for position, task in enumerate(demo["tasks"], start=1):
        where = f"{demo['id']} {task.get('id')}"
        assert set(task) == {"id", "tool", "args", "dep"}, where
        assert task["id"] == f"t{position}", where
        assert task["tool"] in FIELDS, f"{where}: unknown tool {task['tool']!r}"
        required, optional = FIELDS[task["tool"]]
        args = task["args"]
        assert required <= set(args) <= required | optional, f"{where}: fields {sorted(args)}"
        earlier = {f"t{index}" for index in range(1, position)}
        deps = task["dep"]
        assert len(set(deps)) == len(deps), where
        assert set(deps) <= earlier, f"{where}: dep {deps} names a task that is not earlier"
        referenced = _referenced(args)
        assert referenced <= set(deps), f"{where}: refers to {sorted(referenced)} but dep is {deps}"
        _check_values(where, args)


def test_demo_requests_are_not_in_the_dataset() -> None:
    requests = {_normal(item.request) for item in ITEMS}
    for demo in DEMOS:
        assert _normal(demo["request"]) not in requests, demo["id"]


def _referenced(args: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for name, value in args.items():
        if name in REF_FIELDS:
            assert isinstance(value, str)
            assert TASK_ID.match(value), f"{name}={value!r} is not a task id"
            found.add(value)
        elif isinstance(value, str):
            found.update(RESOURCE.findall(value))
    return found


def _check_values(where: str, args: dict[str, Any]) -> None:
    for name, value in args.items():
        if name in CHOICES:
            assert value in CHOICES[name], f"{where}: {name}={value!r}"
    for name in ("question", "text"):
        if name in args:
            limit = 300 if name == "question" else 2000
            assert 1 <= len(args[name]) <= limit, f"{where}: {name} length"
    if "expression" in args:
        assert 1 <= len(args["expression"]) <= 200, where
    if "labels" in args:
        labels = args["labels"]
        assert 2 <= len(labels) <= 8, where
        assert all(1 <= len(label) <= 40 for label in labels), where
    if "fields" in args:
        fields = args["fields"]
        assert 1 <= len(fields) <= 8, where
        assert all(FIELD_NAME.match(field) for field in fields), where
    if "on" in args:
        assert isinstance(args["on"], list), where
        assert len(args["on"]) <= 4, where
    if "n" in args:
        assert isinstance(args["n"], int), where
        assert 1 <= args["n"] <= 100, where
    if "title" in args:
        assert len(args["title"]) <= 120, where


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())
