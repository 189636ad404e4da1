"""The fine-tuning pipeline end to end: data from the demo catalog and warehouse, a tiny LoRA adapter trained with
the real base model, promoted into the real vLLM server, and a question answered through it.

The adapter is tiny (a few steps on two layers) so the test stays within CI's budget; it proves the plumbing
(training format = serving format, hot-loading, routing), not accuracy, which `kubeai onboard` measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.metrics import MetricsAgent, metrics_role
from app import runtime
from app.onboarding import EVAL_DATASETS, update_card
from evals.dataset import eval_questions
from finetune.examples import examples_hash
from finetune.lora import ChatExample, LoraTrainingConfig, train_lora
from finetune.pipeline import build_data, train_adapter
from knowledge.catalog import demo_catalog_path, load_catalog
from kubeai.config import FinetuneConfig, LoraRecipe, ModelCard, ProjectConfig
from serving.adapters import AdapterStore, activate, roll_back
from tests.integration.support import LiveServer
from tools.warehouse import open_runner

pytestmark = pytest.mark.integration

TINY = FinetuneConfig(
    per_metric=4,
    lora=LoraRecipe(rank=8, alpha=16, top_layers=2, max_steps=3, batch_size=4, max_length=192),
)


@pytest.fixture(scope="module")
def base_dir(project_config: ProjectConfig) -> Path:
    return runtime.prepare_models(project_config).base_dir


async def test_a_tiny_adapter_is_trained_promoted_and_answers(
    live_server: LiveServer, agent_config: ProjectConfig, demo_warehouse: Path, base_dir: Path, tmp_path: Path
) -> None:
    catalog = load_catalog(demo_catalog_path())
    runner = open_runner(str(demo_warehouse))
    try:
        data = build_data(catalog, runner, recipe=TINY, eval_questions=eval_questions(EVAL_DATASETS), folder=tmp_path)
    finally:
        runner.close()
    assert data.train and data.report.data_hash == examples_hash(data.train)
    store = AdapterStore(tmp_path / "adapters")
    for name in ("tiny-metrics-a", "tiny-metrics-b"):
        report = train_adapter(
            catalog,
            data,
            base_model_dir=base_dir,
            out_dir=store.root / name,
            name=name,
            role=metrics_role(catalog),
            recipe=TINY,
        )
        assert report.steps == 3
        update_card(store.root / name, {"gate": {"passed": True, "reason": "integration test"}})
    card = json.loads((store.root / "tiny-metrics-b" / "kubeai_card.json").read_text("utf-8"))
    assert card["role"] == "metrics:demo_ecommerce" and card["data_hash"] == data.report.data_hash

    client = live_server.client()
    first = await activate(store, "tiny-metrics-a", client=client)
    second = await activate(store, "tiny-metrics-b", client=client)
    assert first.loaded and second.loaded
    assert {"tiny-metrics-a", "tiny-metrics-b"} <= set(await client.models())

    config = agent_config.model_copy(
        update={"data_dir": tmp_path, "llm": agent_config.llm.model_copy(update={"base_url": live_server.base_url})}
    )
    async with MetricsAgent.open(config, llm=client) as agent:
        assert agent.context.tuned_model == "tiny-metrics-b"
        result = await agent.ask("上个月各地区的GMV是多少？")
    # The first attempt went to the adapter with its short prompt (the base model's prompt is over 1,000 tokens).
    first_prompt = result.prompt_fit[0]
    assert first_prompt["node"] == "generate" and first_prompt["tokens"] < 200, result.prompt_fit
    assert result.answer

    back = await roll_back(store, metrics_role(catalog), client=client)
    assert back.version.name == "tiny-metrics-a" and store.active(metrics_role(catalog)).name == "tiny-metrics-a"


def test_an_interrupted_run_resumes_to_the_same_adapter(base_dir: Path, tmp_path: Path) -> None:
    examples = [
        ChatExample(messages=(("user", f"How much GMV in month {i}?"), ("assistant", f'{{"month":{i}}}')))
        for i in range(12)
    ]
    config = LoraTrainingConfig(rank=8, alpha=16, top_layers=1, max_steps=4, batch_size=3, max_length=64, seed=3)
    card = ModelCard(description="resume test")

    class Stop(Exception):
        pass

    def stop_after_two(step: int, _total: int, _loss: float) -> None:
        if step == 2:
            raise Stop

    with pytest.raises(Stop):
        train_lora(
            base_dir, examples, tmp_path / "a", name="a", card=card, config=config,
            progress=stop_after_two, checkpoint_dir=tmp_path / "ckpt", checkpoint_every=2,
        )  # fmt: skip
    assert not (tmp_path / "a").exists()  # nothing half-written
    resumed = train_lora(
        base_dir, examples, tmp_path / "a", name="a", card=card, config=config,
        checkpoint_dir=tmp_path / "ckpt", checkpoint_every=2,
    )  # fmt: skip
    straight = train_lora(base_dir, examples, tmp_path / "b", name="b", card=card, config=config)
    assert resumed.resumed_from == 2 and resumed.steps == straight.steps == 4
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-4)
    weights_a = (tmp_path / "a" / "adapter_model.safetensors").read_bytes()
    weights_b = (tmp_path / "b" / "adapter_model.safetensors").read_bytes()
    assert weights_a == weights_b
    assert not (tmp_path / "ckpt").exists()  # the checkpoint is removed once the adapter is saved
