"""The metrics agent with the catalog's fine-tuned adapter, on scripted fake models and a real demo warehouse.

The first attempt asks the adapter with the short prompt it was trained on; it may decline a question the
catalog cannot answer; a failed answer is repaired by the base model with the full prompt. Which adapter is
used comes from ``metrics_agent.adapter``: a name, ``none``, or ``auto`` (the one promoted for the catalog).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.metrics import MetricsAgent, metrics_role
from knowledge.catalog import Catalog
from kubeai.config import ProjectConfig
from serving.adapters import AdapterStore
from serving.registry import ADAPTER_CARD_FILE
from tests.unit.fakes import ScriptedChat, scripted_client

ADAPTER = "demo-adapter"
BASE = "base-model"
QUESTION = "What was GMV by region last month?"
GMV_BY_REGION = {"metrics": ["gmv"], "dimensions": ["region"], "time_range": "last_month"}


def project(tmp_path: Path, warehouse: Path, **agent: Any) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "data_dir": str(tmp_path),
            "warehouse": {"url": str(warehouse), "max_rows": 200},
            "metrics_agent": {"rag": False, "strategy": "structured", **agent},
        }
    )


def calls(chat: ScriptedChat) -> list[tuple[str, str]]:
    """Each model call: the model it went to and its system prompt."""
    assert len(chat.models) == len(chat.prompts)
    return [(model, str(prompt[0].content)) for model, prompt in zip(chat.models, chat.prompts, strict=True)]


def promoted_adapter(data_dir: Path, name: str, *, role: str) -> None:
    """A trained adapter's folder in the project's store, promoted for ``role`` (as ``kubeai onboard`` does)."""
    root = data_dir / "adapters"
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": 8, "peft_type": "LORA"}))
    card = {
        "name": name,
        "created": "2025-03-01T10:00:00+00:00",
        "role": role,
        "gate": {"passed": True, "candidate": {"accuracy": 0.8}, "incumbent": {"accuracy": 0.7}},
    }
    (folder / ADAPTER_CARD_FILE).write_text(json.dumps(card))
    AdapterStore(root).promote(name)


async def test_the_adapter_gets_the_short_prompt_and_its_query_is_answered(
    tmp_path: Path, warehouse: Path, catalog: Catalog
) -> None:
    client, chat = scripted_client(GMV_BY_REGION, default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse), llm=client, tuned_model=ADAPTER) as agent:
        assert agent.context.tuned_model == ADAPTER
        result = await agent.ask(QUESTION)
    assert not result.abstained, result.reason
    assert result.path == "structured"
    assert result.query is not None and result.query["metrics"] == ["gmv"]
    assert result.query["dimensions"] == ["region"] and result.query["time_range"] == "last_month"
    assert result.sql is not None and "LIMIT 200" in result.sql.upper()
    assert len(result.frame) >= 5 and set(result.frame.columns) == {"region", "gmv"}
    [(model, system)] = calls(chat)
    assert model == ADAPTER
    assert catalog.name in system and catalog.reference_date.isoformat() in system
    assert "## Instruction" not in system  # not the base model's long prompt
    user = str(chat.prompts[0][-1].content)
    assert user.splitlines()[0] == QUESTION
    metrics_line = next(line for line in user.splitlines() if line.startswith("Metrics: "))
    assert metrics_line.startswith("Metrics: gmv")  # the metric the question names comes first
    assert len(metrics_line.removeprefix("Metrics: ").split(", ")) <= 5
    assert "Dimensions" not in user  # the adapter learned them; the schema admits the retrieved ones
    # The structured-output schema offers "unanswerable", and of the shown metrics only the one the question names.
    schema = json.dumps(chat.formats[0], ensure_ascii=False)
    assert "unanswerable" in schema and "gmv" in schema and "order_count" not in schema


async def test_an_unanswerable_answer_abstains_without_asking_again(tmp_path: Path, warehouse: Path) -> None:
    client, chat = scripted_client({"unanswerable": True}, default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse), llm=client, tuned_model=ADAPTER) as agent:
        result = await agent.ask("What was the employee headcount last month?")
    assert result.abstained
    assert result.reason == "the metric catalog holds nothing that answers this question"
    assert result.sql is None and result.frame.empty
    assert [model for model, _ in calls(chat)] == [ADAPTER]


async def test_an_unanswerable_answer_in_chinese_gives_a_chinese_reason(tmp_path: Path, warehouse: Path) -> None:
    client, chat = scripted_client({"unanswerable": True}, default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse), llm=client, tuned_model=ADAPTER) as agent:
        result = await agent.ask("上个月各地区的碳排放量是多少？")
    assert result.abstained and result.language == "zh"
    assert "指标目录" in result.reason
    assert len(chat.prompts) == 1


async def test_an_unanswerable_answer_to_a_question_naming_a_metric_is_asked_again(
    tmp_path: Path, warehouse: Path
) -> None:
    # The adapter and the catalog disagree (这星期GMV names a catalog metric): the base model's repair decides,
    # so a plain metric question is not declined. The price: "GMV per employee headcount" is answered with GMV.
    client, chat = scripted_client({"unanswerable": True}, GMV_BY_REGION, default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse), llm=client, tuned_model=ADAPTER) as agent:
        result = await agent.ask(QUESTION)
    assert not result.abstained, result.reason
    assert result.query is not None and result.query["metrics"] == ["gmv"]
    (first, _), (second, system) = calls(chat)
    assert (first, second) == (ADAPTER, BASE) and "## Instruction" in system
    assert "names the catalog metric(s) gmv" in str(chat.prompts[1][-1].content)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"metrics": ["profit"], "time_range": "last_month"}, id="unknown-name"),
        pytest.param("this is not json", id="not-json"),
        pytest.param(
            {"metrics": ["gmv"], "dimensions": ["order_date"], "time_range": "last_month"}, id="compile-error-no-grain"
        ),
    ],
)
async def test_a_failed_adapter_answer_is_repaired_by_the_base_model(
    tmp_path: Path, warehouse: Path, bad: str | dict[str, Any]
) -> None:
    client, chat = scripted_client(bad, GMV_BY_REGION, default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse), llm=client, tuned_model=ADAPTER) as agent:
        result = await agent.ask(QUESTION)
    assert not result.abstained, result.reason
    assert result.query is not None and result.query["dimensions"] == ["region"]
    (first, _), (second, system) = calls(chat)
    assert (first, second) == (ADAPTER, BASE)
    assert "## Instruction" in system
    assert "Your previous attempt failed" in str(chat.prompts[1][-1].content)


async def test_adapter_from_the_configuration_by_name(tmp_path: Path, warehouse: Path) -> None:
    client, chat = scripted_client(GMV_BY_REGION, default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse, adapter=ADAPTER), llm=client) as agent:
        assert agent.context.tuned_model == ADAPTER
        await agent.ask(QUESTION)
    assert [model for model, _ in calls(chat)] == [ADAPTER]


async def test_adapter_none_never_asks_an_adapter(tmp_path: Path, warehouse: Path, catalog: Catalog) -> None:
    promoted_adapter(tmp_path, "demo-v1", role=metrics_role(catalog))  # promoted, and still not used
    client, chat = scripted_client(GMV_BY_REGION, default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse, adapter="none"), llm=client) as agent:
        assert agent.context.tuned_model is None
        result = await agent.ask(QUESTION)
    assert not result.abstained, result.reason
    [(model, system)] = calls(chat)
    assert model == BASE and "## Instruction" in system


async def test_adapter_auto_uses_the_one_promoted_for_the_catalog(
    tmp_path: Path, warehouse: Path, catalog: Catalog
) -> None:
    assert metrics_role(catalog) == "metrics:demo_ecommerce"
    promoted_adapter(tmp_path, "demo-v2", role=metrics_role(catalog))
    client, chat = scripted_client(GMV_BY_REGION, default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse, adapter="auto"), llm=client) as agent:
        assert agent.context.tuned_model == "demo-v2"
        result = await agent.ask(QUESTION)
    assert not result.abstained, result.reason
    assert [model for model, _ in calls(chat)] == ["demo-v2"]


async def test_adapter_auto_without_a_promotion_uses_the_base_model(tmp_path: Path, warehouse: Path) -> None:
    promoted_adapter(tmp_path, "logistics-v1", role="metrics:logistics_parcels")  # another catalog's adapter
    client, _ = scripted_client(default_model=BASE)
    async with MetricsAgent.open(project(tmp_path, warehouse), llm=client) as agent:
        assert agent.context.tuned_model is None
