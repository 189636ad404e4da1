"""The adapter store: versions on disk, routes in one atomic JSON file, hot-loading before routing, the CLI."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from app import runtime
from app.cli import app
from kubeai.config import AdapterSpec, LLMConfig, ModelCard, ModelRegistryConfig, ProjectConfig, ServingConfig
from kubeai.errors import ModelServerError, ModelServerUnavailableError, ServingError
from serving.adapters import ROUTES_FILE, AdapterStore, activate, active_model, roll_back
from serving.client import ModelClient
from serving.launcher import plan_launch
from serving.registry import ADAPTER_CARD_FILE, ModelRegistry

ROLE = "metrics:demo_ecommerce"


def version(
    root: Path,
    name: str,
    *,
    day: int = 1,
    role: str | None = ROLE,
    passed: bool | None = True,
    rank: int = 8,
    **extra: Any,
) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": "LORA"}))
    card: dict[str, Any] = {"name": name, "created": f"2025-03-{day:02d}T10:00:00+00:00", **extra}
    if role is not None:
        card["role"] = role
    if passed is not None:
        card["gate"] = {"passed": passed, "candidate": {"accuracy": 0.8}, "incumbent": {"accuracy": 0.7}}
    (path / ADAPTER_CARD_FILE).write_text(json.dumps(card))
    return path


@pytest.fixture
def store(tmp_path: Path) -> AdapterStore:
    root = tmp_path / "adapters"
    for day, name in enumerate(("v1", "v2", "v3"), start=1):
        version(root, name, day=day, data_hash=f"h{day}", recipe={"r": 8})
    return AdapterStore(root)


class FakeServer:
    """The two calls `activate` makes of a model server; raises `fail` on load when given."""

    def __init__(self, *, fail: Exception | None = None, served: tuple[str, ...] = ()) -> None:
        self.fail = fail
        self.served = list(served)
        self.loaded: list[tuple[str, Path]] = []

    async def load_adapter(self, name: str, path: Path) -> None:
        if self.fail is not None:
            raise self.fail
        self.loaded.append((name, path))
        self.served.append(name)

    async def models(self) -> list[str]:
        return list(self.served)


def test_versions_are_listed_newest_first_and_staging_folders_are_skipped(store: AdapterStore) -> None:
    version(store.root, "other", day=9, role="metrics:logistics", passed=None, unknown_key=[1, 2])
    version(store.root, ".v4-staging", day=10)
    (store.root / "half").mkdir()
    (store.root / "half" / "adapter_config.json").write_text("{}")
    assert [v.name for v in store.versions()] == ["other", "v3", "v2", "v1"]
    assert [v.name for v in store.versions(ROLE)] == ["v3", "v2", "v1"]
    other = store.get("other")
    assert (other.role, other.gate_passed, other.card["unknown_key"]) == ("metrics:logistics", None, [1, 2])
    assert other.created == datetime(2025, 3, 9, 10, tzinfo=UTC)
    assert store.get("v2").card["data_hash"] == "h2"
    assert AdapterStore(store.root / "absent").versions() == []


def test_a_card_without_created_dates_from_its_file(tmp_path: Path) -> None:
    path = version(tmp_path, "bare", role=None, passed=None)
    (path / ADAPTER_CARD_FILE).write_text(json.dumps({"name": "bare"}))
    bare = AdapterStore(tmp_path).get("bare")
    assert (bare.role, bare.gate_passed) == (None, None)
    assert abs(bare.created.timestamp() - (path / ADAPTER_CARD_FILE).stat().st_mtime) < 1


@pytest.mark.parametrize("name", ["nope", "../adapters/v1", ".v1", ""])
def test_unknown_names_are_refused(store: AdapterStore, name: str) -> None:
    with pytest.raises(ServingError, match=r"No adapter version .* `kubeai adapters list` shows"):
        store.get(name)
    with pytest.raises(ServingError, match="No adapter version"):
        store.promote(name)


def test_a_card_that_is_not_json_is_one_sentence_naming_it(store: AdapterStore) -> None:
    (store.root / "v2" / ADAPTER_CARD_FILE).write_text("[1, 2")
    with pytest.raises(ServingError, match=r"Adapter card .*v2/kubeai_card\.json is not readable JSON"):
        store.versions()


def test_promote_history_and_rollback(store: AdapterStore) -> None:
    assert store.active(ROLE) is None and active_model(store, ROLE) is None and store.history(ROLE) == []
    for name in ("v1", "v2", "v3"):
        assert store.promote(name).name == name
    assert active_model(store, ROLE) == "v3"
    assert [v.name for v in store.history(ROLE)] == ["v3", "v2", "v1"]
    assert json.loads(store.routes_file.read_text()) == {ROLE: {"current": "v3", "previous": ["v2", "v1"]}}
    assert store.routed() == [("v3", store.root / "v3")]

    store.promote("v3")  # promoting the current version changes nothing
    assert [v.name for v in store.history(ROLE)] == ["v3", "v2", "v1"]

    assert store.rollback(ROLE).name == "v2"
    assert [v.name for v in store.history(ROLE)] == ["v2", "v1"]
    store.promote("v1")  # an earlier version promoted again is not listed twice
    assert [v.name for v in store.history(ROLE)] == ["v1", "v2"]
    assert store.rollback(ROLE).name == "v2"
    with pytest.raises(ServingError, match=r"Role 'metrics:demo_ecommerce' has no earlier version to roll back to"):
        store.rollback(ROLE)
    with pytest.raises(ServingError, match=r"No adapter was promoted for role 'metrics:other'"):
        store.rollback("metrics:other")
    assert sorted(p.name for p in store.root.iterdir() if p.name.startswith(".routes.json")) == []


def test_roles_come_from_the_card_or_the_caller(store: AdapterStore) -> None:
    version(store.root, "plain", role=None, passed=None)
    with pytest.raises(ServingError, match=r"Adapter 'plain' names no role in its kubeai_card\.json"):
        store.promote("plain")
    with pytest.raises(ServingError, match=r"trained for role 'metrics:demo_ecommerce', not 'metrics:logistics'"):
        store.promote("v1", role="metrics:logistics")
    store.promote("plain", role="style")
    store.promote("v1")
    assert store.current() == {ROLE: "v1", "style": "plain"}
    assert sorted(store.routed()) == [("plain", store.root / "plain"), ("v1", store.root / "v1")]


def test_a_failed_gate_needs_force(store: AdapterStore) -> None:
    version(store.root, "bad", day=5, passed=False)
    with pytest.raises(
        ServingError,
        match=r"Adapter 'bad' did not pass its eval gate \(candidate accuracy 0\.800, incumbent accuracy 0\.700\); "
        r"retrain it, or promote it anyway with --force\.",
    ):
        store.promote("bad")
    assert not store.routes_file.exists()
    assert store.promote("bad", force=True).gate_passed is False
    assert active_model(store, ROLE) == "bad"


def test_an_adapter_above_the_servers_rank_is_refused(store: AdapterStore) -> None:
    version(store.root, "wide", day=5, rank=64)
    with pytest.raises(ServingError, match=r"rank 64, above serving\.max_lora_rank=16"):
        store.promote("wide", max_lora_rank=16)
    assert store.promote("wide", max_lora_rank=64).name == "wide"


@pytest.mark.parametrize(
    "text", ["{not json", "[]", '{"r": "v1"}', '{"r": {"current": "v1"}}', '{"r": {"current": "../x", "previous": []}}']
)
def test_a_corrupt_routes_file_is_one_sentence_naming_it(store: AdapterStore, text: str) -> None:
    store.routes_file.write_text(text)
    message = rf"{store.routes_file} is not valid routes JSON .*; fix or delete it and promote again\."
    with pytest.raises(ServingError, match=message):
        store.active(ROLE)
    with pytest.raises(ServingError, match=message):
        store.promote("v1")
    with pytest.raises(ServingError, match=message):
        active_model(store, ROLE)
    assert store.routes_file.read_text() == text


def test_deleted_versions_are_skipped_on_rollback_and_named_when_routed(store: AdapterStore) -> None:
    for name in ("v1", "v2", "v3"):
        store.promote(name)
    for file in (store.root / "v2").iterdir():
        file.unlink()
    assert [v.name for v in store.history(ROLE)] == ["v3", "v1"]
    assert store.rollback(ROLE).name == "v1"
    assert json.loads(store.routes_file.read_text())[ROLE] == {"current": "v1", "previous": []}
    (store.root / "v1" / "adapter_config.json").unlink()
    with pytest.raises(ServingError, match=r"Role 'metrics:demo_ecommerce' is routed to adapter 'v1', but .* holds"):
        active_model(store, ROLE)


async def test_activate_loads_first_then_routes(store: AdapterStore) -> None:
    server = FakeServer()
    done = await activate(store, "v2", client=server)
    assert (done.version.name, done.role, done.loaded) == ("v2", ROLE, True)
    assert server.loaded == [("v2", (store.root / "v2").resolve())]
    assert active_model(store, ROLE) == "v2"


@pytest.mark.parametrize(
    "error",
    [
        ModelServerError("The model server refused POST /load_lora_adapter (HTTP 500): boom."),
        ServingError("boom"),
    ],
)
async def test_a_failing_load_leaves_the_routes_unchanged(store: AdapterStore, error: Exception) -> None:
    store.promote("v1")
    before = store.routes_file.read_bytes()
    with pytest.raises(type(error), match="boom"):
        await activate(store, "v3", client=FakeServer(fail=error))
    assert store.routes_file.read_bytes() == before
    with pytest.raises(type(error), match="boom"):
        await activate(store, "v2", client=FakeServer(fail=error))
    store.promote("v2")
    before = store.routes_file.read_bytes()
    with pytest.raises(type(error), match="boom"):
        await roll_back(store, ROLE, client=FakeServer(fail=error))
    assert store.routes_file.read_bytes() == before
    assert [p.name for p in store.root.iterdir() if p.name.startswith(f".{ROUTES_FILE}")] == []


async def test_a_gate_refusal_never_reaches_the_server(store: AdapterStore) -> None:
    version(store.root, "bad", day=5, passed=False)
    server = FakeServer()
    with pytest.raises(ServingError, match="did not pass its eval gate"):
        await activate(store, "bad", client=server)
    assert server.loaded == []
    assert (await activate(store, "bad", client=server, force=True)).loaded


async def test_without_a_server_the_route_is_written_for_the_next_start(store: AdapterStore) -> None:
    down = FakeServer(fail=ModelServerUnavailableError("Cannot reach the model server."))
    done = await activate(store, "v1", client=down)
    assert done.loaded is False
    assert active_model(store, ROLE) == "v1"
    await activate(store, "v2", client=down)
    back = await roll_back(store, ROLE, client=down)
    assert (back.version.name, back.loaded) == ("v1", False)
    assert active_model(store, ROLE) == "v1"


async def test_an_adapter_the_server_already_serves_counts_as_loaded(store: AdapterStore) -> None:
    refused = ModelServerError("The lora adapter 'v1' has already been loaded.")
    done = await activate(store, "v1", client=FakeServer(fail=refused, served=("base", "v1")))
    assert done.loaded is True
    with pytest.raises(ModelServerError, match="already been loaded"):
        await activate(store, "v2", client=FakeServer(fail=refused, served=("base", "v1")))
    assert active_model(store, ROLE) == "v1"


async def test_roll_back_loads_the_previous_version(store: AdapterStore) -> None:
    server = FakeServer()
    await activate(store, "v1", client=server)
    await activate(store, "v2", client=server)
    back = await roll_back(store, ROLE, client=server)
    assert (back.version.name, back.loaded) == ("v1", True)
    assert [name for name, _ in server.loaded] == ["v1", "v2", "v1"]
    assert active_model(store, ROLE) == "v1"


# The launcher


def model_dir(tmp_path: Path) -> Path:
    path = tmp_path / "model"
    path.mkdir()
    shape = {"max_position_embeddings": 2048, "num_hidden_layers": 2, "num_attention_heads": 2, "hidden_size": 64}
    (path / "config.json").write_text(json.dumps(shape))
    return path


def registry_with(path: Path) -> ModelRegistry:
    spec = AdapterSpec(name="style", base="smollm2-135m", path=path, card=ModelCard(description="style"))
    return ModelRegistry(ModelRegistryConfig(adapters=(spec,)))


def test_the_launcher_serves_routed_adapters_once(store: AdapterStore, tmp_path: Path) -> None:
    style = version(tmp_path / "registered", "style", role=None)
    store.promote("v2")
    routed = [*store.routed(), ("style", style), ("v2", store.root / "v2")]
    plan = plan_launch(
        ServingConfig(device="cpu"), registry_with(style), model_dir(tmp_path), python="py", routed=routed
    )
    argv = list(plan.argv)
    start = argv.index("--lora-modules") + 1
    assert argv[start : start + 2] == [f"style={style}", f"v2={store.root / 'v2'}"]
    assert argv.count("--lora-modules") == 1
    assert plan.served == ("smollm2-135m", "style", "v2")


def test_the_launcher_refuses_routed_adapters_it_cannot_serve(tmp_path: Path) -> None:
    style = version(tmp_path / "registered", "style", role=None)
    other = version(tmp_path / "elsewhere", "style")
    wide = version(tmp_path / "elsewhere", "wide", rank=64)
    base = version(tmp_path / "elsewhere", "smollm2-135m")
    serving, model = ServingConfig(device="cpu", max_lora_rank=16), model_dir(tmp_path)
    for clash in (other, base):
        with pytest.raises(ServingError, match=r"Routed adapter .* has the name of another registered model"):
            plan_launch(serving, registry_with(style), model, routed=[(clash.name, clash)])
    with pytest.raises(ServingError, match=r"Routed adapter 'wide' has LoRA rank 64, above serving\.max_lora_rank=16"):
        plan_launch(serving, registry_with(style), model, routed=[("wide", wide)])
    with pytest.raises(ServingError, match="Adapter 'gone' is missing"):
        plan_launch(serving, registry_with(style), model, routed=[("gone", tmp_path / "gone")])


def test_the_runtime_keeps_versions_in_the_data_dir(tmp_path: Path) -> None:
    config = ProjectConfig(data_dir=tmp_path)
    assert runtime.adapter_store(config).root == tmp_path / "adapters"


# The CLI


@pytest.fixture
def project(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for day, name in enumerate(("v1", "v2"), start=1):
        version(data / "adapters", name, day=day)
    version(data / "adapters", "bad", day=3, passed=False)
    config = tmp_path / "kubeai.yaml"
    config.write_text(f"data_dir: {data}\nllm:\n  base_url: http://127.0.0.1:9/v1\n  max_retries: 0\n")
    return config


def cli(config: Path, *args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, ["--config", str(config), "adapters", *args])
    error = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.stdout, error


def test_cli_list_promote_and_rollback_without_a_server(project: Path) -> None:
    code, out, _ = cli(project, "list")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["name", "role", "created", "gate", "candidate", "incumbent"]
    assert lines[1].split() == ["bad", ROLE, "2025-03-03", "10:00", "failed", "0.800", "0.700"]
    assert [line.split()[0] for line in lines[2:4]] == ["v2", "v1"]

    code, _, error = cli(project, "promote", "bad")
    assert isinstance(error, ServingError) and "did not pass its eval gate" in str(error)

    code, out, _ = cli(project, "promote", "v1")
    assert code == 0
    assert out.splitlines() == [
        f"promoted v1 for {ROLE}",
        "no server at http://127.0.0.1:9/v1; `kubeai serve` loads v1 when it starts",
    ]
    assert cli(project, "promote", "bad", "--force")[0] == 0
    code, out, _ = cli(project, "list", "--role", ROLE)
    assert [line.split()[:2] for line in out.splitlines()[1:4]] == [["*", "bad"], ["v2", ROLE], ["v1", ROLE]]

    code, out, _ = cli(project, "rollback", ROLE)
    assert code == 0
    assert out.splitlines()[0] == f"rolled {ROLE} back to v1"
    _, out, _ = cli(project, "list", "--json")
    rows = {row["name"]: row for row in json.loads(out)["versions"]}
    assert rows["v1"]["active_for"] == [ROLE] and rows["bad"]["active_for"] == []
    assert rows["bad"]["gate_passed"] is False and rows["bad"]["candidate_accuracy"] == 0.8
    _, _, error = cli(project, "rollback", ROLE)
    assert isinstance(error, ServingError) and "no earlier version" in str(error)

    _, out, _ = cli(project, "list", "--role", "metrics:nothing")
    assert out.startswith("No adapter versions in ")


def test_cli_promote_hot_loads_into_a_running_server(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requests: list[tuple[str, dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, text="Success: LoRA adapter added successfully.")

    def client(config: ProjectConfig, *, base_url: str | None = None) -> ModelClient:
        llm = LLMConfig(base_url="http://model.test/v1", max_retries=0)
        return ModelClient(llm, default_model="base", transport=httpx.MockTransport(handler))

    monkeypatch.setattr(runtime, "model_client", client)
    code, out, _ = cli(project, "promote", "v2")
    assert code == 0
    assert out.splitlines()[1] == "hot-loaded v2 into the server at http://model.test/v1"
    path, body = requests[0]
    assert path == "/v1/load_lora_adapter"
    assert body["lora_name"] == "v2" and body["lora_path"].endswith("adapters/v2")
