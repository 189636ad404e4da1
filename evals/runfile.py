"""Run files: which datasets to evaluate, with which models and strategies, how fast, and where to write.

A run file is YAML validated whole before anything runs; a problem raises :class:`~kubeai.errors.ConfigError`
whose ``field`` names the offending key::

    name: demo                        # names the run folder: <output_dir>/<name>
    datasets: [../datasets/metrics_qa, ../datasets/planning]  # relative to this file's folder
    models: [smollm2-135m]            # registry names (base model or adapters); empty = the base model
    strategies: [prompt, rag, plan]   # see STRATEGIES; each evaluates the datasets of its kind
    concurrency: 4                    # requests in flight at once
    limit: null                       # first N items of each dataset (null = all)
    output_dir: ../../.kubeai/evals   # relative to this file's folder (null = <data_dir>/evals)
    warehouse: null                   # override the dataset's warehouse (a DuckDB path or a URL)

Every (model, strategy) pair is one variant. A strategy belongs to one dataset kind (``metrics_qa`` strategies
set the metrics agent, ``planning`` strategies the planner), and each dataset is run with the strategies of its
kind only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.dataset import DatasetKind
from kubeai.errors import ConfigError

__all__ = [
    "STRATEGIES",
    "PlanStrategySpec",
    "RunFile",
    "Strategy",
    "StrategyName",
    "StrategySpec",
    "Variant",
    "load_runfile",
    "strategies_for",
]

StrategyName = Literal[
    "prompt", "structured", "sql_fewshot", "rag", "rag_cot", "rag_lora", "auto", "plan", "plan_zeroshot"
]


@dataclass(frozen=True, kw_only=True)
class StrategySpec:
    """How one evaluation strategy sets the metrics agent (``metrics_qa`` datasets).

    Attributes:
        kind: The dataset kind the strategy evaluates.
        strategy: ``metrics_agent.strategy``: ``sql`` (the model writes SQL), ``structured`` (the model fills a
            metric query that code compiles to SQL) or ``auto`` (structured, free SQL on the last attempt).
        rag: ``metrics_agent.rag``: retrieve metric definitions and few-shot examples from the vector store
            (off: the whole catalog and its first examples go into the prompt).
        chain_of_thought: ``metrics_agent.chain_of_thought``: the model writes its reasoning before its answer.
        description: One line for reports.
        tuned: Ask the adapter fine-tuned on the dataset's catalog first (``metrics_agent.adapter``, by default
            the one promoted for the catalog); off, the agent uses the base model only, whatever is promoted.
    """

    kind: ClassVar[DatasetKind] = "metrics_qa"
    strategy: Literal["auto", "structured", "sql"]
    rag: bool
    chain_of_thought: bool
    description: str
    tuned: bool = False


@dataclass(frozen=True, kw_only=True)
class PlanStrategySpec:
    """How one evaluation strategy sets the planner (``planning`` datasets).

    Attributes:
        kind: The dataset kind the strategy evaluates.
        demos: Retrieved demonstrations shown to the planner (0: zero-shot).
        description: One line for reports.
    """

    kind: ClassVar[DatasetKind] = "planning"
    demos: int
    description: str


Strategy = StrategySpec | PlanStrategySpec


STRATEGIES: dict[str, Strategy] = {
    "prompt": StrategySpec(
        strategy="sql",
        rag=False,
        chain_of_thought=False,
        description="free SQL from the whole catalog in the prompt, no retrieval",
    ),
    "structured": StrategySpec(
        strategy="structured",
        rag=False,
        chain_of_thought=False,
        description="structured metric query compiled to SQL, whole catalog in the prompt, no retrieval",
    ),
    "sql_fewshot": StrategySpec(
        strategy="sql",
        rag=True,
        chain_of_thought=False,
        description="free SQL with retrieved definitions and retrieved few-shot examples",
    ),
    "rag": StrategySpec(
        strategy="structured",
        rag=True,
        chain_of_thought=False,
        description="structured metric query with retrieved definitions",
    ),
    "rag_cot": StrategySpec(
        strategy="structured",
        rag=True,
        chain_of_thought=True,
        description="structured metric query with retrieved definitions and chain of thought",
    ),
    "rag_lora": StrategySpec(
        strategy="auto",
        rag=True,
        chain_of_thought=False,
        tuned=True,
        description="retrieved names to the catalog's fine-tuned adapter (LoRA); repairs as the agent's default",
    ),
    "auto": StrategySpec(
        strategy="auto",
        rag=True,
        chain_of_thought=False,
        description="the agent's default: structured with retrieval, free SQL on the last attempt",
    ),
    "plan": PlanStrategySpec(demos=2, description="the planner's default: two retrieved demonstrations"),
    "plan_zeroshot": PlanStrategySpec(demos=0, description="the planner without demonstrations"),
}


def strategies_for(kind: str) -> tuple[str, ...]:
    """The names of the strategies that evaluate datasets of ``kind``, in :data:`STRATEGIES` order."""
    return tuple(name for name, spec in STRATEGIES.items() if spec.kind == kind)


class RunFile(BaseModel):
    """A validated run file; relative paths are already resolved against the file's folder.

    Attributes:
        name: Names the run folder (letters, digits, ``_ . -``).
        datasets: Dataset folders (``metrics_qa`` or ``planning`` kind).
        models: Registry model names; empty means the configured base model.
        strategies: Strategy names from :data:`STRATEGIES`; each runs on the datasets of its kind.
        concurrency: Questions or requests in flight at once.
        limit: Evaluate only the first ``limit`` items of each dataset.
        output_dir: Where run folders go; ``None`` means ``<data_dir>/evals``.
        warehouse: A warehouse (DuckDB path or URL) used instead of the datasets' own.
        description: Free text for reports.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    datasets: tuple[Path, ...] = Field(min_length=1)
    models: tuple[str, ...] = ()
    strategies: tuple[StrategyName, ...] = Field(min_length=1)
    concurrency: int = Field(default=4, ge=1, le=64)
    limit: int | None = Field(default=None, ge=1)
    output_dir: Path | None = None
    warehouse: str | None = None
    description: str = ""

    def variants(self, base_model: str) -> tuple[Variant, ...]:
        """Every (model, strategy) pair, models first; ``base_model`` stands in for an empty ``models``."""
        models = self.models or (base_model,)
        return tuple(
            Variant(model=m, strategy=s) for m in dict.fromkeys(models) for s in dict.fromkeys(self.strategies)
        )


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One model with one strategy."""

    model: str
    strategy: str

    @property
    def name(self) -> str:
        """``model/strategy``, as reports show it."""
        return f"{self.model}/{self.strategy}"

    @property
    def slug(self) -> str:
        """A file-name-safe form of :attr:`name`."""
        return "".join(c if c.isalnum() or c in "_.-" else "_" for c in f"{self.model}__{self.strategy}")

    @property
    def spec(self) -> Strategy:
        """How this variant sets the metrics agent or the planner."""
        return STRATEGIES[self.strategy]

    @property
    def kind(self) -> DatasetKind:
        """The dataset kind this variant evaluates."""
        return self.spec.kind


_STRATEGY_KINDS = tuple(dict.fromkeys(spec.kind for spec in STRATEGIES.values()))


def load_runfile(path: str | Path) -> RunFile:
    """Read and validate a run file.

    Args:
        path: The YAML file.

    Returns:
        The run file, with ``datasets`` and ``output_dir`` made absolute against the file's folder.

    Raises:
        ConfigError: The file is missing, not UTF-8 YAML, or a field is wrong; ``field`` names it.
    """
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the run file {file} ({exc.strerror or exc}); pass an existing YAML file.", source=str(file)
        ) from None
    if b"\x00" in text:
        raise ConfigError(f"The run file {file} is binary; pass a YAML text file.", source=str(file))
    try:
        raw: Any = yaml.safe_load(text.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"The run file {file} is not UTF-8; save it as UTF-8.", source=str(file)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"The run file {file} is not valid YAML{where}; fix its syntax.", source=str(file)) from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"The run file {file} must be a mapping of fields (name, datasets, strategies, ...).", source=str(file)
        )
    try:
        runfile = RunFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "(root)"
        message = error["msg"]
        if error["type"] == "literal_error" and field.startswith("strategies"):
            menu = " or ".join(f"{', '.join(strategies_for(k))} ({k} datasets)" for k in _STRATEGY_KINDS)
            message = f"unknown strategy; choose from {menu}"
        raise ConfigError(
            f"The run file {file} field {field}: {message}; fix that field.", field=field, source=str(file)
        ) from None
    root = file.resolve().parent
    return runfile.model_copy(
        update={
            "datasets": tuple((root / d).resolve() for d in runfile.datasets),
            "output_dir": (root / runfile.output_dir).resolve() if runfile.output_dir is not None else None,
        }
    )
