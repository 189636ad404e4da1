import json
from pathlib import Path

import pytest

from kubeai.config import AdapterSpec, ModelCard, ModelRegistryConfig, ServingConfig
from kubeai.errors import ModelNotFoundError, ServingError
from serving.launcher import cpu_flags, plan_launch, resolve_dtype, resolve_max_model_len
from serving.registry import ModelRegistry, read_adapter_rank


def adapter_dir(tmp_path: Path, name: str, rank: int = 8, peft_type: str = "LORA") -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": peft_type}))
    return path


SMOLLM2_SHAPE = {
    "max_position_embeddings": 8192,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "hidden_size": 576,
    "dtype": "bfloat16",
}


def model_dir(tmp_path: Path, **config: object) -> Path:
    path = tmp_path / "model"
    path.mkdir(exist_ok=True)
    (path / "config.json").write_text(json.dumps({**SMOLLM2_SHAPE, **config}))
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
    serving = ServingConfig(port=8123, device="cpu", cpu_kv_cache_gib=2)
    plan = plan_launch(serving, reg, model_dir(tmp_path), python="py")
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
    assert plan.max_model_len == 8192 and argv[argv.index("--max-model-len") + 1] == "8192"
    compact = json.loads(argv[argv.index("--structured-outputs-config") + 1])
    assert compact == {"backend": "xgrammar", "disable_any_whitespace": True}
    loose = plan_launch(ServingConfig(device="cpu", compact_json=False), reg, model_dir(tmp_path), python="py")
    assert "--structured-outputs-config" not in loose.argv


def test_launch_plan_refuses_a_missing_adapter(tmp_path: Path) -> None:
    spec = AdapterSpec(name="gone", base="smollm2-135m", path=tmp_path / "gone", card=ModelCard(description="d"))
    reg = ModelRegistry(ModelRegistryConfig(adapters=(spec,)))
    with pytest.raises(ServingError, match="Adapter 'gone' is missing"):
        plan_launch(ServingConfig(device="cpu"), reg, tmp_path)


def test_gpu_device_without_vllm_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServingError, match="pip install vllm"):
        plan_launch(ServingConfig(device="gpu"), registry(tmp_path), tmp_path)


def test_auto_context_length_is_the_models_limit_when_the_kv_cache_holds_it(tmp_path: Path) -> None:
    # SmolLM2-135M: 2 x 30 layers x 3 KV heads x 64 dims x 2 bytes = 23,040 bytes a token; 1 GiB holds 46,603.
    assert resolve_max_model_len(ServingConfig(), model_dir(tmp_path), device="cpu") == 8192


def test_auto_context_length_is_capped_by_the_kv_cache(tmp_path: Path) -> None:
    # A 128k-context model of the same shape: 46,603 tokens / 4 sequences = 11,650, rounded down to 11,520.
    path = model_dir(tmp_path, max_position_embeddings=131072)
    assert resolve_max_model_len(ServingConfig(), path, device="cpu") == 11520
    assert resolve_max_model_len(ServingConfig(cpu_kv_cache_gib=4), path, device="cpu") == 46592
    assert resolve_max_model_len(ServingConfig(dtype="float32"), path, device="cpu") == 5632
    assert resolve_max_model_len(ServingConfig(), path, device="gpu") == 131072  # vLLM sizes a GPU cache itself


def test_an_explicit_context_length_wins(tmp_path: Path) -> None:
    assert resolve_max_model_len(ServingConfig(max_model_len=2048), tmp_path, device="cpu") == 2048
    assert ServingConfig.model_validate({"max_model_len": "auto"}).max_model_len == "auto"


def test_auto_context_length_needs_the_models_config(tmp_path: Path) -> None:
    with pytest.raises(ServingError, match=r"set serving\.max_model_len to a number"):
        resolve_max_model_len(ServingConfig(), tmp_path, device="cpu")
    huge = model_dir(tmp_path, num_hidden_layers=30_000)
    with pytest.raises(ServingError, match=r"raise serving\.cpu_kv_cache_gib"):
        resolve_max_model_len(ServingConfig(), huge, device="cpu")


def test_auto_dtype_is_float32_on_a_cpu_without_bfloat16_instructions(tmp_path: Path) -> None:
    avx2 = frozenset({"avx", "avx2", "fma"})
    assert resolve_dtype(ServingConfig(), device="cpu", flags=avx2) == "float32"
    assert resolve_dtype(ServingConfig(), device="cpu", flags=avx2 | {"avx512_bf16"}) == "bfloat16"
    assert resolve_dtype(ServingConfig(), device="cpu", flags=avx2 | {"amx_bf16"}) == "bfloat16"
    assert resolve_dtype(ServingConfig(dtype="bfloat16"), device="cpu", flags=avx2) == "bfloat16"
    assert resolve_dtype(ServingConfig(), device="gpu", flags=avx2) == "auto"  # vLLM chooses on a GPU
    # float32 doubles a KV-cache token, so an auto context length counts 4 bytes a value.
    path = model_dir(tmp_path, max_position_embeddings=131072)
    assert resolve_max_model_len(ServingConfig(), path, device="cpu", dtype="float32") == 5632


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()
