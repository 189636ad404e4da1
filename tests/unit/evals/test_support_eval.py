"""evals.support: every mode over the items, in item order, with the concurrency asked for."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from evals.dataset import load_dataset
from evals.support import evaluate_support, support_table, write_support_report
from kubeai.errors import ModelNotFoundError

DATASET = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "customer_service"


@dataclass(frozen=True)
class _Reply:
    text: str
    latency_s: float


async def test_questions_run_concurrently_and_records_keep_item_order(tmp_path: Path) -> None:
    dataset = load_dataset(DATASET)
    flight = {"now": 0, "most": 0}

    async def ask(question: str, mode: str) -> _Reply:
        if mode == "lora":
            raise ModelNotFoundError("The server does not serve 'cs-assistant'.")
        flight["now"] += 1
        flight["most"] = max(flight["most"], flight["now"])
        await asyncio.sleep(0.01)
        flight["now"] -= 1
        return _Reply("I don't know.", 2.0)

    result = await evaluate_support(dataset, ask, ["prompt", "lora"], limit=6, concurrency=3)
    assert flight["most"] == 3
    ids = [item.id for item in dataset.items[:6]]
    assert [r["item_id"] for r in result.records] == ids + ids
    prompt = result.summaries["prompt"]["all"]
    assert prompt.refusal_recall == 1.0 and prompt.p50_latency_s == 2.0 and prompt.errors == 0
    assert result.summaries["lora"]["all"].errors == 6 and result.summaries["lora"]["all"].accuracy == 0.0
    assert "| lora | all | 6 | 0.00 |" in support_table(result)
    markdown, data = write_support_report(result, tmp_path)
    assert "(error): " in markdown.read_text(encoding="utf-8") and data.is_file()
