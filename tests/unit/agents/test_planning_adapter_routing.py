"""Routing the planner to its adapter: the version promoted for ``planning:<catalog>`` writes the plans, without
demonstrations, while selection and the answer stay with the planner's model. The real planner graph, metrics
agent and adapter store; the model is scripted and records which model each call went to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.metrics import MetricsAgent
from agents.planner import PlannerAgent, planning_adapter, planning_role
from knowledge.catalog import demo_catalog_path, load_catalog
from kubeai.config import ProjectConfig
from serving.adapters import AdapterStore
from serving.registry import ADAPTER_CARD_FILE
from tests.unit.configs import agent_config
from tests.unit.fakes import scripted_client

ROLE = planning_role(load_catalog(demo_catalog_path()))
PLAN = {"tasks": [{"id": "t1", "tool": "metric_query", "args": {"question": "GMV by region last month"}, "dep": []}]}


def promoted(config: ProjectConfig, name: str, *, role: str = ROLE) -> None:
    """A trained version on disk whose card passed the gate, routed for ``role``."""
    path = config.data_dir / "adapters" / name
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": 8, "peft_type": "LORA"}))
    card: dict[str, Any] = {"name": name, "created": "2026-12-01T10:00:00+00:00", "role": role}
    card["gate"] = {"passed": True}
    (path / ADAPTER_CARD_FILE).write_text(json.dumps(card))
    AdapterStore(config.data_dir / "adapters").promote(name, role=role)


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> ProjectConfig:
    return agent_config(tmp_path, warehouse)


def test_the_role_is_per_catalog_and_auto_none_or_a_name_choose_the_adapter(config: ProjectConfig) -> None:
    catalog = load_catalog(demo_catalog_path())
    assert planning_role(catalog) == "planning:demo_ecommerce"
    assert planning_adapter(config, catalog) is None, "nothing promoted: the planner keeps its model and demos"
    promoted(config, "plan-v1")
    promoted(config, "metrics-v1", role="metrics:demo_ecommerce")
    assert planning_adapter(config, catalog) == "plan-v1", "the metrics adapter's route is not the planner's"
    assert planning_adapter(config, None) is None, "no metric tool, no catalog: the adapter does not apply"
    off = config.model_copy(update={"planner": config.planner.model_copy(update={"adapter": "none"})})
    assert planning_adapter(off, catalog) is None
    named = config.model_copy(update={"planner": config.planner.model_copy(update={"adapter": "plan-x"})})
    assert planning_adapter(named, catalog) == "plan-x"


async def test_a_promoted_planning_adapter_writes_the_plan_without_demonstrations(config: ProjectConfig) -> None:
    promoted(config, "plan-v1")
    client, chat = scripted_client(PLAN, default_model="base")
    async with (
        MetricsAgent.open(config, llm=client) as metrics,
        PlannerAgent.open(config, llm=client, metrics_agent=metrics, documents=False) as planner,
    ):
        assert planner.context.plan_model == "plan-v1" and planner.context.demos_k == 0
        run = await planner.plan("Show last month's GMV by region")

    assert [report.task.tool for report in run.tasks] == ["metric_query"] and not run.demo_ids
    assert chat.models[0] == "plan-v1", "the plan was asked of the adapter"
    system = str(chat.prompts[0][0].content)
    assert "metric_query(question: string)" in system and "## Examples" not in system
    assert all(model != "plan-v1" for model in chat.models[1:]), "selection and answers stay with the base"


async def test_a_named_planner_model_is_not_rerouted(config: ProjectConfig) -> None:
    promoted(config, "plan-v1")
    client, chat = scripted_client(PLAN, default_model="base")
    async with (
        MetricsAgent.open(config, llm=client) as metrics,
        PlannerAgent.open(config, llm=client, metrics_agent=metrics, documents=False, model="base") as planner,
    ):
        assert planner.context.plan_model is None and planner.context.demos_k == 2
        await planner.plan("Show last month's GMV by region")
    assert chat.models[0] == "base", "an evaluation that names the model measures that model"
