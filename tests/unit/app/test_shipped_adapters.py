"""`kubeai prepare` installs the shipped adapters once and routes a role only when nothing serves it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import runtime
from kubeai.config import ProjectConfig
from serving.adapters import AdapterStore


def shipped_folder(root: Path, name: str, role: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": 8, "peft_type": "LORA"}), "utf-8")
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    card = {"name": name, "role": role, "gate": {"passed": True}}
    (folder / "kubeai_card.json").write_text(json.dumps(card), "utf-8")
    return folder


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shipped"
    shipped_folder(root, "demo-metrics", "metrics:demo_ecommerce")
    monkeypatch.setattr(runtime.resources, "files", lambda _package: root)
    return root


def test_a_shipped_adapter_is_copied_once_and_routed(shipped: Path, tmp_path: Path) -> None:
    config = ProjectConfig(data_dir=tmp_path / "data")
    assert runtime.install_shipped_adapters(config) == ["demo-metrics"]
    store = AdapterStore(tmp_path / "data" / "adapters")
    active = store.active("metrics:demo_ecommerce")
    assert active is not None and active.name == "demo-metrics"
    assert (active.path / "adapter_model.safetensors").read_bytes() == b"weights"
    assert runtime.install_shipped_adapters(config) == []  # already there: nothing copied again


def test_a_teams_own_promotion_is_never_overridden(shipped: Path, tmp_path: Path) -> None:
    config = ProjectConfig(data_dir=tmp_path / "data")
    store = AdapterStore(tmp_path / "data" / "adapters")
    shipped_folder(store.root, "team-metrics", "metrics:demo_ecommerce")
    store.promote("team-metrics")
    runtime.install_shipped_adapters(config)
    active = store.active("metrics:demo_ecommerce")
    assert active is not None and active.name == "team-metrics"
    assert (store.root / "demo-metrics").is_dir()  # installed, available to promote by hand


def test_a_shipped_adapter_that_failed_its_gate_is_installed_not_routed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shipped"
    folder = shipped_folder(root, "demo-metrics", "metrics:demo_ecommerce")
    card = {
        "name": "demo-metrics",
        "role": "metrics:demo_ecommerce",
        "gate": {"passed": False, "reason": "2 more false abstentions"},
    }
    (folder / "kubeai_card.json").write_text(json.dumps(card), "utf-8")
    monkeypatch.setattr(runtime.resources, "files", lambda _package: root)
    said: list[str] = []
    assert runtime.install_shipped_adapters(ProjectConfig(data_dir=tmp_path / "data"), progress=said.append) == [
        "demo-metrics"
    ]
    assert AdapterStore(tmp_path / "data" / "adapters").active("metrics:demo_ecommerce") is None
    assert any("not routed: 2 more false abstentions" in line for line in said)
