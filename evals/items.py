"""The item models of the evaluation datasets: one pydantic model per dataset kind.

Every model forbids unknown fields, so a typo in a JSONL file is an error naming the line rather than a silently
ignored key. ``docs/evals.md`` documents each format with examples.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from tools.metric_query import DateRange, MetricQuery

__all__ = [
    "AppItem",
    "CustomerServiceItem",
    "DatasetItem",
    "DocQAItem",
    "GoldResult",
    "Language",
    "MetricsQAItem",
    "PlanTask",
    "PlanningItem",
    "RetrievalItem",
    "ToolCallingItem",
    "ToolMessage",
]

Language = Literal["en", "zh"]
Difficulty = Literal["easy", "medium", "hard"]

_ID = Field(min_length=1, max_length=200)
_TEXT = Field(min_length=1, max_length=4000)


# A gold query names its period as its catalog does (``h1``, ``last_6_months``, a catalog's own): the item checks
# the name's shape here, and the compiler checks it against the dataset's catalog.
_PERIOD_OR_DATES: Any = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] | DateRange
_GoldQuery: type[MetricQuery] = create_model(
    "GoldQuery",
    __base__=MetricQuery,
    __doc__=MetricQuery.__doc__,
    time_range=(
        _PERIOD_OR_DATES,
        Field(default="all_time", description="A period name of the catalog, all_time, or explicit dates."),
    ),
)


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class GoldResult(_Item):
    """An expected result table.

    Attributes:
        columns: Column names (informative only: scoring ignores names and column order).
        rows: The rows; each has one value per column (JSON scalars; dates as ISO strings).
    """

    columns: tuple[str, ...] = Field(min_length=1)
    rows: tuple[tuple[Any, ...], ...]

    @model_validator(mode="after")
    def _rows_fit_columns(self) -> GoldResult:
        for index, row in enumerate(self.rows):
            for position, cell in enumerate(row):
                if cell is not None and not isinstance(cell, str | int | float | bool):
                    raise ValueError(
                        f"row {index} value {position} is a {type(cell).__name__}; write cells as strings, numbers, "
                        "booleans or null"
                    )
            if len(row) != len(self.columns):
                raise ValueError(
                    f"row {index} has {len(row)} values but there are {len(self.columns)} columns; "
                    "give every row one value per column"
                )
        return self


class MetricsQAItem(_Item):
    """A business question for the metrics agent, with its gold SQL and/or gold result.

    Attributes:
        id: Unique id within the dataset.
        question: The question as an analyst would ask it.
        language: ``en`` or ``zh``.
        gold_sql: A query over the dataset's warehouse whose result is the answer.
        gold_result: The answer as a table, when it is fixed rather than computed from ``gold_sql``.
        ordered: Whether row order is part of the answer (a top-N list, a sorted series).
        difficulty: ``easy``, ``medium`` or ``hard``.
        tags: Free labels for slicing reports (``time``, ``join``, ``ratio``, ...).
        expect_abstention: The agent should decline (the data is not in the warehouse); such items carry no gold.
        gold_query: The best hand-written structured query for the question (a
            :class:`~tools.metric_query.MetricQuery`), whose compiled result should equal the gold; ``None`` when
            written as ``null`` (no structured query can express the question) or left out. Abstention items
            carry none. :func:`evals.ceiling.score_ceiling` scores these queries.
    """

    id: str = _ID
    question: str = _TEXT
    language: Language
    gold_sql: str | None = Field(default=None, min_length=1, max_length=20_000)
    gold_result: GoldResult | None = None
    ordered: bool = False
    difficulty: Difficulty = "medium"
    tags: tuple[str, ...] = ()
    expect_abstention: bool = False
    # Serialized as the GoldQuery it is (a catalog's own period names), not as the base query's standard names.
    gold_query: SerializeAsAny[MetricQuery] | None = None

    @field_validator("gold_query", mode="before")
    @classmethod
    def _gold_query_shape(cls, value: Any) -> Any:
        if value is None or isinstance(value, MetricQuery):
            return value
        try:
            return _GoldQuery.model_validate(value)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ValueError(f"{where}: {error['msg']}" if where else str(error["msg"])) from None

    @model_validator(mode="after")
    def _gold_fits_abstention(self) -> MetricsQAItem:
        has_gold = self.gold_sql is not None or self.gold_result is not None
        if self.expect_abstention and has_gold:
            raise ValueError("an item that expects abstention carries no gold_sql or gold_result")
        if self.expect_abstention and self.gold_query is not None:
            raise ValueError("an item that expects abstention carries no gold_query; write null or leave it out")
        if not self.expect_abstention and not has_gold:
            raise ValueError("give gold_sql or gold_result, or set expect_abstention to true")
        return self


class PlanTask(_Item):
    """One node of a gold task graph.

    Attributes:
        id: Node id, unique within the plan.
        type: Task type, e.g. ``metric_query``, ``doc_search``, ``chart``, ``summarize``.
        tool: The tool that performs it, if any; node matching uses it before the type.
        depends_on: Ids of the nodes whose output this node needs (the graph's edges point from them to it).
        args: The tool's arguments, where the dataset gives them (so that a gold graph can be checked with the
            planner's own validator); scoring ignores them.
    """

    id: str = _ID
    type: str = Field(min_length=1, max_length=200)
    tool: str | None = None
    depends_on: tuple[str, ...] = ()
    args: dict[str, Any] = Field(default_factory=dict)


class PlanningItem(_Item):
    """A multi-step request with its gold task graph (scored with TaskBench node and edge F1).

    Attributes:
        id: Unique id within the dataset.
        request: The user's request.
        language: ``en`` or ``zh``.
        tasks: The gold task graph: nodes with their dependencies, acyclic.
        tags: Free labels for slicing reports.
    """

    id: str = _ID
    request: str = _TEXT
    language: Language
    tasks: tuple[PlanTask, ...] = Field(min_length=1)
    tags: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _graph_is_a_dag(self) -> PlanningItem:
        ids = [task.id for task in self.tasks]
        if len(set(ids)) != len(ids):
            raise ValueError("task ids must be unique within a plan")
        known = set(ids)
        for task in self.tasks:
            unknown = [dep for dep in task.depends_on if dep not in known]
            if unknown:
                raise ValueError(f"task {task.id!r} depends on unknown tasks {unknown}")
        deps = {task.id: set(task.depends_on) for task in self.tasks}
        done: set[str] = set()
        while len(done) < len(deps):
            ready = {node for node, needs in deps.items() if node not in done and needs <= done}
            if not ready:
                raise ValueError("the task graph has a cycle; dependencies must form a DAG")
            done |= ready
        return self


class RetrievalItem(_Item):
    """A catalog-retrieval question (the format of ``datasets/retrieval/catalog_questions.jsonl``).

    Attributes:
        id: Unique id within the dataset.
        question: The question.
        language: ``en`` or ``zh``.
        metrics: Catalog metric names the question needs.
        dimensions: Catalog dimension names the question needs.
        expected_ids: Document ids that retrieval should return (``metric:NAME``, ``dimension:NAME``).
    """

    id: str = _ID
    question: str = _TEXT
    language: Language
    metrics: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    expected_ids: tuple[str, ...] = Field(min_length=1)


class DocQAItem(_Item):
    """A question over the document collection (the format of ``datasets/docqa/questions.jsonl``).

    Attributes:
        id: Unique id within the dataset.
        question: The question.
        language: ``en`` or ``zh``.
        expected_sources: File names of the documents that hold the answer.
        answer_contains: Strings a correct answer contains.
    """

    id: str = _ID
    question: str = _TEXT
    language: Language
    expected_sources: tuple[str, ...] = Field(min_length=1)
    answer_contains: tuple[str, ...] = ()

    @field_validator("expected_sources")
    @classmethod
    def _names_not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for source in value:
            if not source.strip():
                raise ValueError("expected_sources holds an empty name")
        return value


class ToolMessage(_Item):
    """One chat message of a tool-calling case.

    Attributes:
        role: ``system`` or ``user``.
        content: The message text.
    """

    role: Literal["system", "user"]
    content: str = Field(min_length=1, max_length=20000)


class ToolCallingItem(_Item):
    """A function-calling case in the Berkeley Function-Calling Leaderboard format (``datasets/bfcl``).

    Attributes:
        id: Unique id within the dataset (BFCL's own id, e.g. ``simple_python_8``).
        category: ``simple`` (one function offered) or ``multiple`` (several offered, one to call).
        question: The conversation, usually one user message.
        functions: The offered functions as BFCL documents them (``name``, ``description``, ``parameters`` with
            BFCL types such as ``dict``, ``float`` and ``tuple``).
        ground_truth: The expected calls, each ``{function_name: {param: [acceptable values]}}``; ``""`` among a
            parameter's values means it may be left out.
    """

    id: str = _ID
    category: Literal["simple", "multiple"]
    question: tuple[ToolMessage, ...] = Field(min_length=1)
    functions: tuple[dict[str, Any], ...] = Field(min_length=1)
    ground_truth: tuple[dict[str, dict[str, list[Any]]], ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _truth_names_offered(self) -> ToolCallingItem:
        offered = set()
        for index, function in enumerate(self.functions):
            name = function.get("name")
            if not isinstance(name, str) or not name or not isinstance(function.get("parameters"), dict):
                raise ValueError(f"function {index} needs a non-empty name and a parameters object")
            offered.add(name)
        for call in self.ground_truth:
            if len(call) != 1:
                raise ValueError("each ground_truth call must map exactly one function name to its parameters")
            name = next(iter(call))
            if name not in offered:
                raise ValueError(f"ground_truth calls {name!r}, which is not among the offered functions")
        if self.category == "simple" and len(self.functions) != 1:
            raise ValueError("a simple case offers exactly one function")
        return self


class AppItem(_Item):
    """An input for a prompt app (``agents/apps``) with what a good answer must hold (``datasets/prototype``).

    Attributes:
        id: Unique id within the dataset.
        input: What the user sends the app.
        language: The input's language.
        reference: What the answer must hold, in the form the app's scorer reads (``evals.scorers.page`` for a
            page, ``{"choice": label}`` for a choice app).
        tags: Free labels for slicing reports.
    """

    id: str = _ID
    input: str = _TEXT
    language: Language
    reference: dict[str, Any]
    tags: tuple[str, ...] = ()


class CustomerServiceItem(_Item):
    """A customer's question for the support assistant with the facts a correct answer states (``customer_service``).

    Attributes:
        id: Unique id within the dataset.
        question: The question as a customer wrote it (typos, context and all).
        language: The question's language; the answer is expected in it.
        facts: What a correct answer must state, one entry per fact; an entry is a string or a list of
            alternatives (any one counts, e.g. ``["30 days", "30-day"]``). ``evals.scorers.support`` matches them.
        should_refuse: The product documents are silent on the question: an honest answer says it does not know or
            hands over to a human. Such items carry no facts.
        tags: Free labels for slicing reports.
    """

    id: str = _ID
    question: str = _TEXT
    language: Language
    facts: tuple[tuple[str, ...], ...] = ()
    should_refuse: bool = False
    tags: tuple[str, ...] = ()

    @field_validator("facts", mode="before")
    @classmethod
    def _fact_alternatives(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple((fact,) if isinstance(fact, str) else fact for fact in value)
        return value

    @model_validator(mode="after")
    def _facts_fit_refusal(self) -> CustomerServiceItem:
        if any(not fact or any(not alternative.strip() for alternative in fact) for fact in self.facts):
            raise ValueError("every fact needs at least one non-empty alternative")
        if self.should_refuse and self.facts:
            raise ValueError("an item that should be refused carries no facts")
        if not self.should_refuse and not self.facts:
            raise ValueError("give the facts a correct answer states, or set should_refuse to true")
        return self


DatasetItem = MetricsQAItem | PlanningItem | RetrievalItem | DocQAItem | ToolCallingItem | AppItem | CustomerServiceItem
