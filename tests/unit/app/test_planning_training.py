"""The planning adapter's gate and promotion: the decision goes into the adapter's card, a pass routes the
planner's role to it (loaded into the server first), a drop on any planning set leaves the routes as they were."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from app.planning_training import gate_and_promote
from finetune.gate import PlanScore
from kubeai.config import ProjectConfig
from serving.adapters import AdapterStore
from serving.client import ModelClient
from serving.registry import ADAPTER_CARD_FILE

ROLE = "planning:demo_ecommerce"


class Server:
    """The two calls `activate` makes of a model server."""

    def __init__(self) -> None:
        self.loaded: list[str] = []

    async def load_adapter(self, name: str, path: Path) -> None:
        self.loaded.append(name)

    async def models(self) -> list[str]:
        return list(self.loaded)


def trained(root: Path, name: str) -> None:
    path = root / name
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": 16, "peft_type": "LORA"}))
    card = {"name": name, "created": "2026-12-01T10:00:00+00:00", "role": ROLE, "task": "planning", "demos_k": 0}
    (path / ADAPTER_CARD_FILE).write_text(json.dumps(card))


def scores(planning: tuple[float, float], heldout: tuple[float, float]) -> list[PlanScore]:
    return [
        PlanScore(dataset="planning", items=50, node_f1=planning[0], edge_f1=planning[1], valid_plan=1.0),
        PlanScore(dataset="planning_heldout", items=31, node_f1=heldout[0], edge_f1=heldout[1], valid_plan=1.0),
    ]


BASE = scores((0.55, 0.25), (0.65, 0.33))


def test_a_passing_adapter_is_recorded_loaded_and_routed(tmp_path: Path) -> None:
    config = ProjectConfig(data_dir=tmp_path)
    store = AdapterStore(tmp_path / "adapters")
    trained(store.root, "plan-v1")
    server = Server()
    lines: list[str] = []
    decision, promoted = gate_and_promote(
        config, store, "plan-v1", scores((0.9, 0.7), (0.8, 0.5)), BASE, role=ROLE,
        client=cast(ModelClient, server), progress=lines.append,
    )  # fmt: skip
    assert decision.passed and promoted
    assert server.loaded == ["plan-v1"] and store.active(ROLE) is not None
    card: dict[str, Any] = json.loads((store.root / "plan-v1" / ADAPTER_CARD_FILE).read_text("utf-8"))
    assert card["gate"]["passed"] is True and card["gate"]["candidate"][1]["dataset"] == "planning_heldout"
    assert any(line.startswith("promoted plan-v1 for planning:demo_ecommerce") for line in lines)


def test_a_regression_on_the_held_out_set_blocks_promotion(tmp_path: Path) -> None:
    config = ProjectConfig(data_dir=tmp_path)
    store = AdapterStore(tmp_path / "adapters")
    trained(store.root, "plan-v1")
    server = Server()
    decision, promoted = gate_and_promote(
        config, store, "plan-v1", scores((0.99, 0.95), (0.6, 0.4)), BASE, role=ROLE, client=cast(ModelClient, server)
    )
    assert not decision.passed and not promoted
    assert "node F1 on planning_heldout fell" in decision.reason
    assert server.loaded == [] and store.active(ROLE) is None, "the routes are as they were"
    card = json.loads((store.root / "plan-v1" / ADAPTER_CARD_FILE).read_text("utf-8"))
    assert card["gate"]["passed"] is False, "the failed gate is on the card, so a later promote is refused"
