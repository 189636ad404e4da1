from pathlib import Path

import pytest

from kubeai.config import ProjectConfig, load_config
from kubeai.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kubeai.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert isinstance(config, ProjectConfig)
    assert config.llm.base_url == "http://127.0.0.1:8000/v1"
    assert config.models.base.name == "smollm2-135m"
    assert config.data_dir == tmp_path / ".kubeai"


def test_repository_config_is_valid() -> None:
    config = load_config(REPO / "kubeai.yaml", environ={})
    assert config.models.names() == ("smollm2-135m", "kubeai-style")
    adapter = config.models.adapters[0]
    assert adapter.path == REPO / ".kubeai" / "adapters" / "kubeai-style"
    assert "zh" in adapter.card.languages


def test_environment_overrides_nested_fields_with_yaml_scalars(tmp_path: Path) -> None:
    path = write(tmp_path, "serving:\n  port: 8000\n")
    env = {
        "KUBEAI_SERVING__PORT": "8100",
        "KUBEAI_SERVING__ENFORCE_EAGER": "false",
        "KUBEAI_LLM__BASE_URL": "http://h:1/v1/",
    }
    config = load_config(path, environ=env)
    assert config.serving.port == 8100
    assert config.serving.enforce_eager is False
    assert config.llm.base_url == "http://h:1/v1"


def test_kubeai_config_variable_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  timeout_s: 5\n")
    assert load_config(environ={"KUBEAI_CONFIG": str(path)}).llm.timeout_s == 5


def test_bad_value_from_file_names_field_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  timeout_s: soon\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.field == "llm.timeout_s"
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_value_from_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KUBEAI_SERVING__PORT") as info:
        load_config(write(tmp_path, ""), environ={"KUBEAI_SERVING__PORT": "99999"})
    assert info.value.field == "serving.port"


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"`llm\.base_ulr`.*unknown field"):
        load_config(write(tmp_path, "llm:\n  base_ulr: http://x\n"), environ={})


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line 2"):
        load_config(write(tmp_path, "llm:\n  base_url: a: b\n"), environ={})


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- a\n- b\n"), environ={})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("models:\n  agents: {metrics: nosuch}\n", "not registered"),
        (
            "models:\n  adapters:\n    - {name: a, base: other, path: x, card: {description: d}}\n",
            "names base 'other'",
        ),
        (
            "models:\n  adapters:\n    - {name: smollm2-135m, base: smollm2-135m, path: x, card: {description: d}}\n",
            "registered twice",
        ),
        ("serving:\n  max_lora_rank: 12\n", "serving.max_lora_rank"),
        ("vector_store:\n  backend: weaviate\n", "needs url"),
        ("embeddings:\n  provider: openai\n", "needs base_url"),
    ],
)
def test_registry_and_section_rules(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, text), environ={})


def test_model_for_agent_defaults_to_base(tmp_path: Path) -> None:
    text = (
        "models:\n  adapters:\n    - {name: style, base: smollm2-135m, path: a, card: {description: d}}\n"
        "  agents: {planner: style}\n"
    )
    config = load_config(write(tmp_path, text), environ={})
    assert config.models.model_for("planner") == "style"
    assert config.models.model_for("metrics") == "smollm2-135m"
    assert config.models.adapters[0].path == tmp_path / "a"
