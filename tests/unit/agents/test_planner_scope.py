"""A scoped planner: its metric tasks go through the metrics agent with the caller's row scope, and nothing else it
can run reads warehouse rows. The real planner graph, metrics agent, SQL gate and DuckDB; the model is scripted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.metrics import MetricsAgent
from agents.planner import METRIC_TOOL, ROW_FREE_TOOLS, PlannerAgent
from graphs.planner import Context, DemoBank
from kubeai.config import ProjectConfig
from kubeai.errors import ConfigError
from tests.unit.configs import agent_config
from tests.unit.fakes import scripted_client
from tests.unit.graphs.planner_support import models, registry, scripted
from tools.registry import TaskOutput
from tools.toolbox import planner_registry

EAST = "华东"
# The model's SQL asks for every region and tries to lift any filter.
EVERY_REGION = {
    "sql": "SELECT r.region_name, SUM(o.paid_amount) AS gmv FROM orders o JOIN cities c ON o.city_id = c.city_id "
    "JOIN regions r ON c.region_id = r.region_id WHERE r.region_name <> '华东' OR 1=1 GROUP BY 1"
}
ANSWER = {"answer": "GMV by region is in [t1].", "sources": ["t1"]}
PLAN = [{"id": "t1", "tool": METRIC_TOOL, "args": {"question": "GMV by region"}, "dep": []}]


@pytest.fixture
def config(tmp_path: Path, warehouse: Path) -> ProjectConfig:
    return agent_config(tmp_path, warehouse)


async def test_a_scoped_planner_runs_metric_tasks_with_the_scope_and_the_planner_itself_stays_unscoped(
    config: ProjectConfig,
) -> None:
    client, _ = scripted_client(EVERY_REGION, ANSWER, EVERY_REGION, ANSWER, default_model="fake")
    async with (
        MetricsAgent.open(config, llm=client) as metrics,
        PlannerAgent.open(config, llm=client, metrics_agent=metrics, documents=False) as planner,
    ):
        scoped = planner.scoped({"region": (EAST,)})
        east = await scoped.run("GMV by region", plan=PLAN)
        everyone = await planner.run("GMV by region", plan=PLAN)

    assert planner.metrics is metrics, "the planner uses the metrics agent it was given"
    assert scoped.metrics is not metrics and scoped.context.tools is not planner.context.tools
    task = east.tasks[0]
    assert task.status in ("ok", "changed"), task.text
    assert task.table is not None and set(task.table.iloc[:, 0]) == {EAST}
    assert EAST in without_models_filter(task.details["sql"]), "the scope's filter is in the SQL that ran"
    unscoped = everyone.tasks[0]
    assert unscoped.table is not None and len(set(unscoped.table.iloc[:, 0])) > 1
    assert EAST not in without_models_filter(unscoped.details["sql"])


def without_models_filter(sql: object) -> str:
    """The SQL that ran, less the model's own (lifted) mention of 华东."""
    return str(sql).replace("<> '华东'", "")


async def test_an_empty_scope_is_the_planner_and_an_unknown_dimension_is_refused(config: ProjectConfig) -> None:
    client, _ = scripted_client(default_model="fake")
    async with (
        MetricsAgent.open(config, llm=client) as metrics,
        PlannerAgent.open(config, llm=client, metrics_agent=metrics, documents=False) as planner,
    ):
        assert planner.scoped({}) is planner
        with pytest.raises(ConfigError, match="planet"):
            planner.scoped({"planet": ("mars",)})


async def test_a_scoped_planner_refuses_tools_that_could_read_rows_without_the_scope() -> None:
    async def ask(question: str) -> TaskOutput:
        return TaskOutput(text=question)

    client, _ = scripted()
    # A planner whose metric_query is not backed by a metrics agent, and one with a tool of unknown reach.
    unbacked = PlannerAgent(
        context=Context(
            tools=planner_registry(llm=client, knowledge=None, ask_metrics=ask), llm=client, models=models()
        )
    )
    with pytest.raises(ConfigError, match="metric_query"):
        unbacked.scoped({"region": (EAST,)})
    unknown = PlannerAgent(context=Context(tools=registry(), llm=client, models=models(), demos=DemoBank(())))
    with pytest.raises(ConfigError, match="step"):
        unknown.scoped({"region": (EAST,)})


def test_every_planner_tool_is_either_the_scoped_metric_tool_or_reads_no_rows() -> None:
    async def ask(question: str) -> Any:
        raise AssertionError(question)

    client, _ = scripted()
    names = set(planner_registry(llm=client, knowledge=None, ask_metrics=ask).names())
    assert METRIC_TOOL in names
    assert names - {METRIC_TOOL} <= ROW_FREE_TOOLS, "a new tool must be judged: does it read warehouse rows?"
