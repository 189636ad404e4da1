"""Dataset manifests and items: the bundled sets load, and every malformed input names its file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals import (
    DocQAItem,
    MetricsQAItem,
    PlanningItem,
    RetrievalItem,
    load_dataset,
)
from evals.dataset import eval_questions
from kubeai.errors import DatasetError

DATASETS = Path(__file__).parents[3] / "evals" / "datasets"

MANIFEST = "name: mine\nversion: '1'\nkind: {kind}\nitems: items.jsonl\n"
QA = {"id": "q1", "question": "GMV in 2025?", "language": "en", "gold_sql": "SELECT 1"}
PLAN = {
    "id": "p1",
    "request": "Chart last month's GMV by region and explain the refund policy",
    "language": "en",
    "tasks": [
        {"id": "t1", "type": "metric_query", "tool": "metric_query"},
        {"id": "t2", "type": "chart", "tool": "chart", "depends_on": ["t1"]},
        {"id": "t3", "type": "doc_search", "tool": "doc_search"},
        {"id": "t4", "type": "summarize", "depends_on": ["t2", "t3"]},
    ],
}


def _write(tmp_path: Path, records: list[Any], *, kind: str = "metrics_qa") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "dataset.yaml").write_text(MANIFEST.format(kind=kind), encoding="utf-8")
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    (tmp_path / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def _error(path: Path) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    return info.value


def test_bundled_datasets_load() -> None:
    qa = load_dataset(DATASETS / "metrics_qa")
    assert qa.manifest.kind == "metrics_qa"
    assert str(qa.manifest.reference_date) == "2025-12-31"
    assert len(qa.items_of(MetricsQAItem)) >= 30
    assert qa.warehouse_location() == "demo"
    assert qa.catalog_path() is not None
    assert qa.catalog_path().name == "catalog.yaml"  # type: ignore[union-attr]
    retrieval = load_dataset(DATASETS / "retrieval" / "dataset.yaml")
    assert len(retrieval.items_of(RetrievalItem)) == 68
    docqa = load_dataset(DATASETS / "docqa")
    assert len(docqa.items_of(DocQAItem)) == 32
    with pytest.raises(DatasetError, match="holds docqa items"):
        docqa.items_of(MetricsQAItem)


def test_planning_items_and_relative_locations(tmp_path: Path) -> None:
    root = _write(tmp_path, [PLAN], kind="planning")
    manifest = root / "dataset.yaml"
    manifest.write_text(manifest.read_text() + "catalog: cat.yaml\nwarehouse: wh/demo.duckdb\n", encoding="utf-8")
    dataset = load_dataset(root)
    (item,) = dataset.items_of(PlanningItem)
    assert [t.depends_on for t in item.tasks] == [(), ("t1",), (), ("t2", "t3")]
    assert dataset.catalog_path() == (root / "cat.yaml").resolve()
    assert dataset.warehouse_location() == str((root / "wh" / "demo.duckdb").resolve())


def test_gold_result_rows_must_fit_columns(tmp_path: Path) -> None:
    good = {**QA, "gold_sql": None, "gold_result": {"columns": ["region", "gmv"], "rows": [["华东", 1.5]]}}
    assert load_dataset(_write(tmp_path, [good])).items[0].gold_result is not None  # type: ignore[union-attr]
    bad = {**good, "gold_result": {"columns": ["region", "gmv"], "rows": [["华东"]]}}
    error = _error(_write(tmp_path, [bad]))
    assert "line 1" in str(error)
    assert "one value per column" in str(error)


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        ({**QA, "gold_sql": None}, "give gold_sql or gold_result"),
        ({**QA, "expect_abstention": True}, "carries no gold_sql"),
        ({**QA, "language": "fr"}, "field language"),
        ({**QA, "difficulty": "trivial"}, "field difficulty"),
        ({**QA, "gold_sq": "SELECT 1"}, "field gold_sq"),
        ({"id": "q1", "language": "en", "gold_sql": "SELECT 1"}, "field question"),
        ({**QA, "question": "   "}, "field question"),
        ({**QA, "gold_sql": ""}, "field gold_sql"),
        ({**QA, "gold_result": {"columns": ["a"], "rows": [[{"nested": 1}]]}}, "row 0 value 0 is a dict"),
        ({**QA, "gold_result": {"columns": [], "rows": []}}, "field gold_result.columns"),
    ],
)
def test_invalid_item_names_file_line_and_field(tmp_path: Path, record: dict[str, Any], needle: str) -> None:
    root = _write(tmp_path, [{**QA, "id": "ok"}, "", record])
    error = _error(root)
    assert error.file == str(root / "items.jsonl")
    assert error.line == 3
    assert "line 3" in str(error)
    assert needle in str(error)


@pytest.mark.parametrize(
    ("tasks", "needle"),
    [
        ([{"id": "a", "type": "x", "depends_on": ["b"]}], "unknown tasks"),
        ([{"id": "a", "type": "x", "depends_on": ["b"]}, {"id": "b", "type": "y", "depends_on": ["a"]}], "cycle"),
        ([{"id": "a", "type": "x", "depends_on": ["a"]}], "cycle"),
        ([{"id": "a", "type": "x"}, {"id": "a", "type": "y"}], "unique"),
        ([], "field tasks"),
    ],
)
def test_invalid_task_graphs(tmp_path: Path, tasks: list[dict[str, Any]], needle: str) -> None:
    error = _error(_write(tmp_path, [{**PLAN, "tasks": tasks}], kind="planning"))
    assert error.line == 1
    assert needle in str(error)


def test_malformed_lines(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, [QA, '{"id": "q2", "question": '], kind="metrics_qa"))
    assert (error.line, "not valid JSON" in str(error)) == (2, True)
    error = _error(_write(tmp_path, [QA, '["a list"]']))
    assert (error.line, "not an object" in str(error)) == (2, True)
    error = _error(_write(tmp_path, [QA, {**QA, "question": "again"}]))
    assert error.line == 2
    assert "repeats id 'q1' from line 1" in str(error)
    assert "holds no items" in str(_error(_write(tmp_path, [""])))


def test_binary_and_non_utf8_items_files(tmp_path: Path) -> None:
    root = _write(tmp_path, [QA])
    (root / "items.jsonl").write_bytes(json.dumps(QA).encode() + b"\n\x00\x01\x02")
    error = _error(root)
    assert (error.line, "binary" in str(error)) == (2, True)
    (root / "items.jsonl").write_bytes(json.dumps(QA).encode() + b"\n" + "问题".encode("gbk") + b"\n")
    error = _error(root)
    assert (error.line, "not valid UTF-8" in str(error)) == (2, True)


def test_chinese_text_and_bom_are_read(tmp_path: Path) -> None:
    root = _write(tmp_path, [{**QA, "question": "上个月的成交额是多少？", "language": "zh"}])
    data = (root / "items.jsonl").read_bytes()
    (root / "items.jsonl").write_bytes(b"\xef\xbb\xbf" + data)
    (item,) = load_dataset(root).items_of(MetricsQAItem)
    assert item.question == "上个月的成交额是多少？"


def test_manifest_errors(tmp_path: Path) -> None:
    assert "No dataset manifest" in str(_error(tmp_path))
    root = _write(tmp_path, [QA])
    manifest = root / "dataset.yaml"
    manifest.write_text("name: mine\nversion: '1'\nkind: [unclosed\n", encoding="utf-8")
    error = _error(root)
    assert "not valid YAML" in str(error)
    assert error.line is not None
    manifest.write_text(MANIFEST.format(kind="sql"), encoding="utf-8")
    assert "field kind" in str(_error(root))
    manifest.write_text("- a list\n", encoding="utf-8")
    assert "YAML mapping" in str(_error(root))
    manifest.write_text(MANIFEST.format(kind="metrics_qa").replace("'1'", "1.2") + "extra: 1\n", encoding="utf-8")
    assert "field extra" in str(_error(root))
    manifest.write_text(MANIFEST.format(kind="metrics_qa").replace("items.jsonl", "missing.jsonl"), encoding="utf-8")
    error = _error(root)
    assert "does not exist" in str(error)
    assert error.file == str(root / "missing.jsonl")


def test_numeric_version_is_accepted(tmp_path: Path) -> None:
    root = _write(tmp_path, [QA])
    (root / "dataset.yaml").write_text(MANIFEST.format(kind="metrics_qa").replace("'1'", "2"), encoding="utf-8")
    assert load_dataset(root / "dataset.yaml").manifest.version == "2"


def test_eval_questions_of_the_bundled_datasets() -> None:
    questions = eval_questions(DATASETS)
    assert len(questions) > 100
    assert "What was our total GMV in 2025?" in questions
    assert "上个月一共成交了多少钱？" in questions
    planning = load_dataset(DATASETS / "planning").items_of(PlanningItem)
    assert planning[0].request in questions


def test_eval_questions_reads_every_kind_under_a_folder(tmp_path: Path) -> None:
    _write(tmp_path / "qa", [QA])
    _write(tmp_path / "nested" / "plan", [PLAN], kind="planning")
    docqa = {"id": "d1", "question": "退款政策是什么？", "language": "zh", "expected_sources": ["refunds.md"]}
    _write(tmp_path / "docs", [docqa], kind="docqa")
    retrieval = {"id": "r1", "question": "Sales by area", "language": "en", "expected_ids": ["metric:gmv"]}
    _write(tmp_path / "retrieval", [retrieval], kind="retrieval")
    tool_call = {
        "id": "t1",
        "category": "simple",
        "question": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Area of a circle?"}],
        "functions": [{"name": "area", "parameters": {"type": "dict", "properties": {}}}],
        "ground_truth": [{"area": {}}],
    }
    _write(tmp_path / "tools", [tool_call], kind="tool_calling")
    assert eval_questions(tmp_path) == [
        "退款政策是什么？",
        PLAN["request"],
        "GMV in 2025?",
        "Sales by area",
        "Area of a circle?",
    ]


def test_eval_questions_of_an_empty_folder_and_a_broken_dataset(tmp_path: Path) -> None:
    assert eval_questions(tmp_path) == []
    _write(tmp_path / "bad", ['{"id": "q1"'])
    with pytest.raises(DatasetError, match="not valid JSON"):
        eval_questions(tmp_path)
