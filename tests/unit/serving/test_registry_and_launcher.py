import json
from pathlib import Path

import pytest

from kubeai.config import AdapterSpec, ModelCard, ModelRegistryConfig, ServingConfig
from kubeai.errors import ModelNotFoundError, ServingError
from serving.launcher import plan_launch
from serving.registry import ModelRegistry, read_adapter_rank


def adapter_dir(tmp_path: Path, name: str, rank: int = 8, peft_type: str = "LORA") -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": peft_type}))
    return path


def registry(tmp_path: Path, *ranks: int) -> ModelRegistry:
    adapters = tuple(
        AdapterSpec(
            name=f"a{i}",
            base="smollm2-135m",
            path=adapter_dir(tmp_path, f"a{i}", rank),
            card=ModelCard(
                description=f"adapter {i}",
                skills=("summarize",) if i == 0 else ("translate",),
                languages=("en", "zh"),
            ),
        )
        for i, rank in enumerate(ranks)
    )
    return ModelRegistry(ModelRegistryConfig(adapters=adapters, agents={"planner": "a0"} if ranks else {}))


def test_registry_lookup_and_filters(tmp_path: Path) -> None:
    reg = registry(tmp_path, 8, 16)
    assert [m.name for m in reg] == ["smollm2-135m", "a0", "a1"]
    assert reg.base.kind == "base"
    assert reg.for_agent("planner").name == "a0"
    assert reg.for_agent("anyone").name == "smollm2-135m"
    assert [m.name for m in reg.candidates(skill="summarize")] == ["smollm2-135m", "a0"]
    assert [m.name for m in reg.candidates(language="zh")] == ["a0", "a1"]
    with pytest.raises(ModelNotFoundError, match="registered models are: smollm2-135m, a0, a1"):
        reg.get("nope")


def test_adapter_checks(tmp_path: Path) -> None:
    assert read_adapter_rank(adapter_dir(tmp_path, "ok", 16), name="ok") == 16
    with pytest.raises(ServingError, match="missing"):
        read_adapter_rank(tmp_path / "absent", name="absent")
    with pytest.raises(ServingError, match="LoRA adapters only"):
        read_adapter_rank(adapter_dir(tmp_path, "ia3", peft_type="IA3"), name="ia3")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{not json")
    with pytest.raises(ServingError, match="not a PEFT LoRA config"):
        read_adapter_rank(broken, name="broken")
    big = tmp_path / "big"
    big.mkdir()
    with pytest.raises(ServingError, match=r"rank 32, above serving\.max_lora_rank=16"):
        registry(big, 32).check_adapters(max_lora_rank=16)


def test_launch_plan_serves_base_and_adapters_on_cpu(tmp_path: Path) -> None:
    reg = registry(tmp_path, 8)
    plan = plan_launch(ServingConfig(port=8123, device="cpu", cpu_kv_cache_gib=2), reg, tmp_path / "model", python="py")
    argv = list(plan.argv)
    assert argv[:3] == ["py", "-m", "vllm.entrypoints.openai.api_server"]
    assert argv[argv.index("--served-model-name") + 1] == "smollm2-135m"
    assert argv[argv.index("--port") + 1] == "8123"
    assert "--enable-lora" in argv
    assert argv[argv.index("--lora-modules") + 1] == f"a0={tmp_path / 'a0'}"
    assert argv[argv.index("--tool-call-parser") + 1] == "hermes"
    assert plan.env["VLLM_TARGET_DEVICE"] == "cpu"
    assert plan.env["VLLM_CPU_KVCACHE_SPACE"] == "2"
    assert plan.env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert plan.served == ("smollm2-135m", "a0")
    assert plan.base_url == "http://127.0.0.1:8123/v1"
    compact = json.loads(argv[argv.index("--structured-outputs-config") + 1])
    assert compact == {"backend": "xgrammar", "disable_any_whitespace": True}
    loose = plan_launch(ServingConfig(device="cpu", compact_json=False), reg, tmp_path / "model", python="py")
    assert "--structured-outputs-config" not in loose.argv


def test_launch_plan_refuses_a_missing_adapter(tmp_path: Path) -> None:
    spec = AdapterSpec(name="gone", base="smollm2-135m", path=tmp_path / "gone", card=ModelCard(description="d"))
    reg = ModelRegistry(ModelRegistryConfig(adapters=(spec,)))
    with pytest.raises(ServingError, match="Adapter 'gone' is missing"):
        plan_launch(ServingConfig(device="cpu"), reg, tmp_path)


def test_gpu_device_without_vllm_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServingError, match="pip install vllm"):
        plan_launch(ServingConfig(device="gpu"), registry(tmp_path), tmp_path)
