"""The planner's toolbox: all thirteen tools registered in order, with schemas a model can be shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from knowledge.index import KnowledgeBase
from knowledge.stores.sqlite import SQLiteVectorStore
from kubeai.config import LLMConfig
from kubeai.errors import MetricQueryError, ModelServerUnavailableError, ToolError
from serving.client import ModelClient
from tools.registry import TaskInputs, TaskOutput, ToolRegistry
from tools.toolbox import planner_registry

ORDER = (
    "metric_query",
    "doc_qa",
    "summarize",
    "translate",
    "classify",
    "extract",
    "calculate",
    "table_join",
    "table_filter",
    "table_top",
    "table_pivot",
    "table_compare",
    "chart",
)
MODEL_BACKED = {"doc_qa", "summarize", "translate", "classify", "extract"}
GMV = TaskOutput(text="GMV by region.", table=pd.DataFrame({"region": ["华东", "华北"], "gmv": [1200.0, 800.0]}))


def client() -> ModelClient:
    return ModelClient(LLMConfig(), default_model="base")


async def answer(question: str) -> TaskOutput:
    return TaskOutput(text=f"answered: {question}", table=GMV.table, details={"sql": "SELECT 1"})


@pytest.fixture
def full(tmp_path: Path) -> Iterator[ToolRegistry]:
    store = SQLiteVectorStore(tmp_path / "kb.sqlite")
    with KnowledgeBase(embeddings=DeterministicFakeEmbedding(size=16), store=store) as kb:
        yield planner_registry(llm=client(), knowledge=kb, ask_metrics=answer)


def test_all_thirteen_tools_are_registered_in_the_planners_order(full: ToolRegistry) -> None:
    assert full.names() == ORDER
    assert {name for name in ORDER if full.needs_model(name)} == MODEL_BACKED


def test_metric_query_and_doc_qa_need_their_backends() -> None:
    tools = planner_registry(llm=client(), knowledge=None, ask_metrics=None)
    assert tools.names() == ORDER[2:]


def test_every_tool_shows_the_model_a_valid_json_schema_without_inputs(full: ToolRegistry) -> None:
    for tool in full:
        schema = full.args_model(tool.name).model_json_schema()
        jsonschema.Draft202012Validator.check_schema(schema)
        json.dumps(schema, ensure_ascii=False)
        assert "inputs" not in schema.get("properties", {}), tool.name
        assert "inputs" not in tool.args, tool.name  # tool.args is the tool_call_schema's properties
        assert schema.get("description"), tool.name
        for name, prop in schema.get("properties", {}).items():
            assert len(str(prop.get("description", ""))) <= 120, (tool.name, name)
        assert len(tool.description) <= 200, tool.name


def test_declared_references_are_task_id_fields(full: ToolRegistry) -> None:
    for tool in full:
        properties = full.args_model(tool.name).model_json_schema().get("properties", {})
        for ref in (tool.metadata or {}).get("references", ()):
            assert properties[ref].get("pattern") == "^t[0-9]{1,2}$", (tool.name, ref)


async def test_metric_query_passes_the_filled_question_to_ask(full: ToolRegistry) -> None:
    inputs = TaskInputs(task_id="t2", results={"t1": TaskOutput(text="华东")})
    out = await full.run("metric_query", {"question": " <resource>-t1上个月的GMV是多少？ "}, inputs)
    assert out.text == "answered: 华东上个月的GMV是多少？"
    assert out.table is GMV.table and out.details["sql"] == "SELECT 1"


async def test_metric_query_rewords_project_errors_and_lets_an_unreachable_server_through() -> None:
    async def unknown_metric(_question: str) -> TaskOutput:
        raise MetricQueryError("Metric 'profit' is not in the catalog; use gmv or aov.")

    async def server_down(_question: str) -> TaskOutput:
        raise ModelServerUnavailableError("Cannot reach the model server at http://x/v1.")

    tools = planner_registry(llm=client(), knowledge=None, ask_metrics=unknown_metric)
    with pytest.raises(ToolError, match="Metric 'profit' is not in the catalog") as info:
        await tools.run("metric_query", {"question": "profit?"}, TaskInputs())
    assert info.value.tool == "metric_query"
    tools = planner_registry(llm=client(), knowledge=None, ask_metrics=server_down)
    with pytest.raises(ModelServerUnavailableError):
        await tools.run("metric_query", {"question": "gmv?"}, TaskInputs())


def test_metric_query_question_is_bounded(full: ToolRegistry) -> None:
    assert full.check_args("metric_query", {"question": ""})
    assert full.check_args("metric_query", {"question": "x" * 301})
    assert not full.check_args("metric_query", {"question": "各地区GMV"})
    assert full.task_type("metric_query") == "metric_query"
