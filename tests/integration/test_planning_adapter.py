"""The planning adapter end to end: synthetic planning conversations (plan prompt without demonstrations), a tiny
LoRA adapter trained on them with the real base model by the metrics adapter's trainer, promoted for
``planning:<catalog>`` into the real vLLM server, and the planner writing its plan with it.

The adapter is tiny (two steps on the top layer) so the test stays within CI's budget; it proves the plumbing
(the served prompt is the trained prompt, lengths are checked, hot-loading and routing), not planning quality,
which ``kubeai finetune train --task planning`` measures and gates.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest

from agents.metrics import MetricsAgent
from agents.planner import PlannerAgent, planning_role
from app import runtime
from app.onboarding import update_card
from finetune.lora import example_length
from finetune.planning_adapter import train_planning_adapter
from finetune.planning_data import chat_example, synthesize_plans
from graphs.planner import DemoBank
from knowledge.catalog import demo_catalog_path, load_catalog
from kubeai.config import FinetuneConfig, LoraRecipe, PlanningFinetuneConfig, ProjectConfig
from kubeai.errors import TrainingError
from serving.adapters import AdapterStore, activate
from serving.client import Messages, ModelClient, Structured
from tests.integration.support import LiveServer
from tools.registry import TaskOutput
from tools.toolbox import planner_registry

pytestmark = pytest.mark.integration

TINY = LoraRecipe(rank=8, alpha=16, top_layers=1, max_steps=2, batch_size=2, max_length=1152)


def recipe(lora: LoraRecipe) -> FinetuneConfig:
    return FinetuneConfig(planning=PlanningFinetuneConfig(lora=lora))


@pytest.fixture(scope="module")
def base_dir(project_config: ProjectConfig) -> Path:
    return runtime.prepare_models(project_config).base_dir


@pytest.fixture(scope="module")
def conversations(project_config: ProjectConfig) -> list[Any]:
    async def not_run(question: str) -> TaskOutput:
        raise AssertionError("nothing runs while writing training data")

    client = runtime.model_client(project_config)
    tools = planner_registry(llm=client, knowledge=cast(Any, object()), ask_metrics=not_run)
    examples, _ = synthesize_plans(load_catalog(demo_catalog_path()), tools, per_shape=1, seed=11)
    bank = DemoBank.bundled()
    return [chat_example(example, tools, bank) for example in examples[::4][:4]]


def test_a_tiny_planning_adapter_trains_and_a_too_short_max_length_stops_with_one_sentence(
    base_dir: Path, conversations: list[Any], tmp_path: Path
) -> None:
    transformers = pytest.importorskip("transformers")
    tokenizer = transformers.AutoTokenizer.from_pretrained(base_dir)
    lengths = [example_length(tokenizer, c) for c in conversations]
    assert all(700 < n <= TINY.max_length for n in lengths), lengths

    with pytest.raises(TrainingError, match=r"4 of 4 training examples are longer than max_length=512 tokens"):
        train_planning_adapter(
            conversations, base_model_dir=base_dir, out_dir=tmp_path / "short", name="short", role="planning:x",
            recipe=recipe(TINY.model_copy(update={"max_length": 512})), catalog="x",
        )  # fmt: skip
    assert not (tmp_path / "short").exists()

    report = train_planning_adapter(
        conversations, base_model_dir=base_dir, out_dir=tmp_path / "tiny", name="tiny", role="planning:x",
        recipe=recipe(TINY), catalog="x",
    )  # fmt: skip
    assert report.steps == 2 and report.examples == 4
    card = json.loads((tmp_path / "tiny" / "kubeai_card.json").read_text("utf-8"))
    assert (card["role"], card["task"], card["demos_k"]) == ("planning:x", "planning", 0)
    assert card["training"]["strict_length"] is True and card["training"]["max_length"] == 1152


class Recording(ModelClient):
    """The real client, noting which model each structured call was sent to."""

    asked: list[str | None]

    async def structured_json(
        self,
        messages: Messages,
        schema: Mapping[str, Any],
        *,
        name: str,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> Structured[dict[str, Any]]:
        self.asked.append(model)
        return await super().structured_json(messages, schema, name=name, model=model, max_tokens=max_tokens)


async def test_a_promoted_planning_adapter_writes_the_plan_on_the_real_server(
    live_server: LiveServer, agent_config: ProjectConfig, base_dir: Path, conversations: list[Any], tmp_path: Path
) -> None:
    catalog = load_catalog(demo_catalog_path())
    store = AdapterStore(tmp_path / "adapters")
    # A name of its own per run: vLLM keeps the first path it loaded under a name, and a reused server would serve
    # an earlier run's deleted folder under this one (its engine dies on the missing files).
    name = f"tiny-planning-it-{uuid.uuid4().hex[:8]}"
    train_planning_adapter(
        conversations, base_model_dir=base_dir, out_dir=store.root / name, name=name, role=planning_role(catalog),
        recipe=recipe(TINY), catalog=catalog.name,
    )  # fmt: skip
    update_card(store.root / name, {"gate": {"passed": True, "reason": "integration test"}})
    activation = await activate(store, name, client=live_server.client())
    assert activation.loaded and activation.role == "planning:demo_ecommerce"

    config = agent_config.model_copy(
        update={"data_dir": tmp_path, "llm": agent_config.llm.model_copy(update={"base_url": live_server.base_url})}
    )
    client = Recording(config.llm, default_model=config.models.base.name)
    client.asked = []
    try:
        async with (
            MetricsAgent.open(config, llm=client) as metrics,
            PlannerAgent.open(config, llm=client, metrics_agent=metrics, documents=False) as planner,
        ):
            assert planner.context.plan_model == name and planner.context.demos_k == 0
            run = await planner.plan("Show last month's GMV by region as a bar chart.")
    finally:  # the folder is the test's tmp_path: the server must not keep serving it after the test
        await live_server.client().unload_adapter(name)
    assert client.asked and client.asked[0] == name, "the served adapter wrote the plan"
    assert run.tasks and not run.demo_ids
