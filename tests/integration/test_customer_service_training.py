"""The customer-service adapter end to end: pairs from the shipped docs and logs, a tiny LoRA adapter trained with
the real base model and the project's trainer, hot-loaded into the real vLLM server and asked a question.

The adapter is tiny (2 steps on two layers); the test proves the plumbing (the written train.jsonl is the trainer's
format, the card records the data report, the server takes the adapter and answers through it), not accuracy,
which `kubeai cs eval` measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from app import runtime
from app.onboarding import EVAL_DATASETS
from evals.dataset import eval_questions
from finetune.chatlogs import load_chats, shipped_chats_path
from finetune.lora import LoraTrainingConfig
from finetune.support_docs import load_sections, shipped_docs_path
from finetune.support_pairs import SUPPORT_SYSTEM_PROMPT, build_support_data, write_support_data
from finetune.support_train import SUPPORT_ROLE, train_support_adapter
from kubeai.config import ProjectConfig
from serving.registry import ADAPTER_CARD_FILE
from tests.integration.support import LiveServer

pytestmark = pytest.mark.integration

TINY = LoraTrainingConfig(rank=8, alpha=16, top_layers=2, max_steps=2, batch_size=2, max_length=320)


async def test_a_tiny_support_adapter_is_trained_loaded_and_answers(
    live_server: LiveServer, project_config: ProjectConfig, tmp_path: Path
) -> None:
    data = build_support_data(
        load_chats(shipped_chats_path()),
        load_sections(shipped_docs_path()),
        eval_questions=eval_questions(EVAL_DATASETS),
    )
    write_support_data(tmp_path / "data", data)
    base_dir = runtime.prepare_models(project_config).base_dir
    out_dir = tmp_path / "adapters" / "cs-itest"
    report = train_support_adapter(
        tmp_path / "data", base_model_dir=base_dir, out_dir=out_dir, config=TINY, name="cs-itest"
    )
    assert report.steps == 2 and report.final_loss > 0
    card = json.loads((out_dir / ADAPTER_CARD_FILE).read_text("utf-8"))
    assert card["role"] == SUPPORT_ROLE
    assert card["data"]["kept_pairs"] == len(data.pairs)
    assert len(card["training"]["losses"]) == 2

    client = live_server.client()
    await client.load_adapter("cs-itest", out_dir.resolve())
    try:
        assert "cs-itest" in await client.models()
        answer = await client.complete(
            [SystemMessage(content=SUPPORT_SYSTEM_PROMPT), HumanMessage(content="How long is the warranty?")],
            model="cs-itest",
            max_tokens=40,
        )
        assert answer.text.strip() and answer.model == "cs-itest"
    finally:
        await client.unload_adapter("cs-itest")
