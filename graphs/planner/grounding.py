"""A plan grounded in its request: what the request's own words ask for, checked against the plan's tasks.

The request is read with the catalog's vocabulary (the metrics, periods, years and breakdowns it names; see
:mod:`graphs.metrics.linking`) and the planner's (``prompts/asks.yaml``: the words that ask for a chart or a
summary). That says, without a model, what a plan for it must do:

* every metric task keeps the request's period and breakdown: a task that names another period, leaves out the
  period or breakdown the request names, or asks about a metric the request does not name, answers a different
  question. It carries a note saying how (:attr:`PlannedTask.note`), so its result is reported as ``changed``
  and the answer says so; a model's plan gets the difference back as a problem to fix first;
* a model's plan asks every metric the request names, one metric per metric task, and has a chart or a summary
  task when the request asks for one;
* when the model cannot write such a plan within its attempts, :func:`plan_from_request` builds the plain one
  the request describes, where the request is simple enough to say it unambiguously: one metric task per metric
  the request names (each worded from the catalog's labels with the request's period and breakdown), joined on
  the breakdown, then the chart of the joined table and the summary of the metric answers asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from graphs.metrics.linking import breakdown_dimensions, named_years
from graphs.metrics.linking import mentioned_periods as catalog_periods
from graphs.planner.plan import PlannedTask
from knowledge.catalog import Catalog, Dimension, Metric, Synonyms
from knowledge.catalog.retrieval import named_in
from kubeai.errors import KubeAIError
from kubeai.prompting import TextTemplate, load_texts
from tools.registry import ToolRegistry

__all__ = ["Asked", "Grounding", "asked", "asked_tools", "ground_plan", "plan_from_request"]

PROMPTS = "graphs.planner.prompts"
METRIC_TOOL = "metric_query"


@dataclass(frozen=True, kw_only=True)
class Asked:
    """What a text asks, in the catalog's terms.

    Attributes:
        metrics: Metrics it names.
        periods: Relative periods it names (``last_month``).
        years: Calendar years it names.
        breakdowns: Dimensions it asks to break the numbers down by (``by region``, ``各地区``).
        dimensions: Every dimension it names, as a breakdown or otherwise.
    """

    metrics: tuple[str, ...] = ()
    periods: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    breakdowns: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()

    @property
    def time(self) -> frozenset[str]:
        """The periods and years together."""
        return frozenset((*self.periods, *(str(year) for year in self.years)))


@dataclass(frozen=True, kw_only=True)
class Grounding:
    """The outcome of :func:`ground_plan`.

    Attributes:
        tasks: The tasks, with a note on each metric task that answers a different question than the request.
        problems: What a model's plan misses of the request, one sentence each, phrased for the model that
            re-plans (empty for a caller's plan: it is run as given).
    """

    tasks: tuple[PlannedTask, ...]
    problems: tuple[str, ...] = ()


class _Asks(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    chart: Synonyms
    summarize: Synonyms


def asked(text: str, catalog: Catalog) -> Asked:
    """What ``text`` asks in the catalog's terms (metrics, periods, years, breakdowns, dimensions).

    A metric term nested in a longer dimension term does not count ("sales" in the dimension "sales channel" is
    not GMV), while a dimension inside a metric's phrase still does ("sales by category" names the category); a
    breakdown counts only for a dimension the text names ("by city tier" is not also "by city"). A multi-word
    English term also matches its singular ("paying user" for "paying users"); single words do not, since many
    are everyday words ("tries", "order").
    """
    metric_terms = list(_vocabulary("m", catalog.metrics))
    dimension_terms = list(_vocabulary("d", catalog.dimensions))
    metrics = named_in(text, [*metric_terms, *dimension_terms])
    named = named_in(text, dimension_terms)
    dimensions = tuple(d.name for d in catalog.dimensions if f"d:{d.name}" in named)
    return Asked(
        metrics=tuple(m.name for m in catalog.metrics if f"m:{m.name}" in metrics),
        periods=tuple(catalog_periods(text, catalog)),
        years=tuple(sorted(named_years(text))),
        breakdowns=tuple(d for d in breakdown_dimensions(text, catalog) if d in dimensions),
        dimensions=dimensions,
    )


def _vocabulary(kind: str, items: Iterable[Metric | Dimension]) -> Iterator[tuple[str, str]]:
    """Every term of ``items``, keyed ``<kind>:<name>``, with the singulars of multi-word English terms."""
    for item in items:
        terms = (item.name.replace("_", " "), item.label.en, item.label.zh, *item.synonyms.en, *item.synonyms.zh)
        for term in terms:
            yield f"{kind}:{item.name}", term
            singular = _singular(term)
            if singular != term:
                yield f"{kind}:{item.name}", singular


def _singular(term: str) -> str:
    """A multi-word English term with its last word made singular (``paying users`` -> ``paying user``)."""
    words = term.split()
    if len(words) < 2 or not term.isascii():
        return term
    last = words[-1]
    if len(last) > 4 and last.lower().endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.lower().endswith("s") and not last.lower().endswith(("ss", "us", "is")):
        last = last[:-1]
    return " ".join([*words[:-1], last])


def asked_tools(request: str) -> frozenset[str]:
    """The tools whose words the request uses (``chart``, ``summarize``), from ``prompts/asks.yaml``."""
    asks = _asks()
    terms = [(tool, term) for tool in _Asks.model_fields for term in getattr(asks, tool).all()]
    return frozenset(named_in(request, terms))


def ground_plan(
    tasks: Sequence[PlannedTask], request: str, catalog: Catalog, *, language: str, from_model: bool
) -> Grounding:
    """Check ``tasks`` against what ``request`` asks (see the module's docstring).

    Args:
        tasks: A validated plan.
        request: The user's request.
        catalog: The catalog whose vocabulary reads the request.
        language: The request's language: the notes are written in it.
        from_model: The plan is a model's (problems go back to it); a caller's plan only gets notes.
    """
    wanted = asked(request, catalog)
    texts = _texts()
    grounded: list[PlannedTask] = []
    problems: list[str] = []
    covered: set[str] = set()
    for task in tasks:
        if task.tool != METRIC_TOOL:
            grounded.append(task)
            continue
        question = str(task.args.get("question", ""))
        got = asked(question, catalog)
        covered.update(got.metrics)
        changes = _changes(got, wanted, catalog, language, texts)
        if changes:
            note = texts["changed"].render(language, task=task.id, changes=[local for _, local in changes])
            grounded.append(replace(task, note=note))
            problems.extend(f"task {task.id} {english}; keep the request's words" for english, _ in changes)
        else:
            grounded.append(replace(task, note=""))
        if len(got.metrics) > 1:
            problems.append(
                f"task {task.id} asks about {_labels(got.metrics, catalog, 'en')} at once; ask each metric in its "
                "own metric_query task"
            )
    if from_model:
        problems.extend(_missing(grounded, wanted, covered, request, catalog))
    return Grounding(tasks=tuple(grounded), problems=tuple(problems) if from_model else ())


def plan_from_request(request: str, catalog: Catalog, tools: ToolRegistry, *, language: str) -> list[dict[str, Any]]:
    """The plain plan ``request`` describes in the catalog's terms, or ``[]`` where it does not say one clearly.

    It says one clearly when it names at least one metric, at most one period and one year, breaks down only by
    categorical dimensions, and (with several metrics) names the breakdown their tables are joined on.
    """
    wanted = asked(request, catalog)
    time_dims = {d.name for d in catalog.dimensions if d.type == "time"}
    several = len(wanted.metrics) > 1
    if (
        METRIC_TOOL not in tools
        or not wanted.metrics
        or len(wanted.periods) > 1
        or len(wanted.years) > 1
        or set(wanted.breakdowns) & time_dims
        or (several and (not wanted.breakdowns or "table_join" not in tools))
    ):
        return []
    question = _texts()["metric_question"]
    dimensions = [_label(catalog, name, language) for name in wanted.breakdowns]
    periods = [_label(catalog, name, language) for name in wanted.periods]
    tasks: list[dict[str, Any]] = []
    for metric in wanted.metrics:
        text = question.render(
            language,
            metric=_label(catalog, metric, language),
            dimensions=dimensions,
            periods=periods,
            years=list(wanted.years),
        )
        tasks.append(_task(len(tasks) + 1, METRIC_TOOL, {"question": text}, []))
    last = "t1"
    for index in range(2, len(wanted.metrics) + 1):
        join = {"left": last, "right": f"t{index}", "on": list(wanted.breakdowns), "how": "outer"}
        tasks.append(_task(len(tasks) + 1, "table_join", join, [last, f"t{index}"]))
        last = tasks[-1]["id"]
    asks = asked_tools(request)
    if "chart" in asks and "chart" in tools:
        tasks.append(_task(len(tasks) + 1, "chart", {"table": last, "kind": "auto"}, [last]))
    if "summarize" in asks and "summarize" in tools:
        # The metric tasks' own sentences (each answer names its highest and lowest values), not the joined table:
        # sentences are what a small model summarizes well.
        answers = [f"t{index}" for index in range(1, len(wanted.metrics) + 1)]
        summary = {"text": " ".join(f"<resource>-{ref}" for ref in answers), "language": language}
        tasks.append(_task(len(tasks) + 1, "summarize", summary, answers))
    return tasks


def _task(number: int, tool: str, args: dict[str, Any], dep: list[str]) -> dict[str, Any]:
    return {"id": f"t{number}", "tool": tool, "args": args, "dep": dep}


def _changes(
    got: Asked, wanted: Asked, catalog: Catalog, language: str, texts: Mapping[str, TextTemplate]
) -> list[tuple[str, str]]:
    """How a metric question differs from the request, each in English (for the model) and in ``language``.

    Only what the request itself names counts: a request without a period leaves the period to the task.
    """
    found: list[tuple[str, dict[str, Sequence[str]]]] = []
    foreign = [m for m in got.metrics if m not in wanted.metrics]
    if wanted.metrics and foreign:
        found.append(("metric_changed", {"asked": foreign, "requested": wanted.metrics}))
    if wanted.time:
        if not got.time:
            found.append(("period_dropped", {"requested": _time(wanted)}))
        elif not got.time <= wanted.time:
            found.append(("period_changed", {"asked": _time(got), "requested": _time(wanted)}))
    if wanted.breakdowns:
        other = [d for d in got.breakdowns if d not in wanted.dimensions]
        if other:
            found.append(("breakdown_changed", {"asked": other, "requested": wanted.breakdowns}))
        elif not set(wanted.breakdowns) <= set(got.dimensions):
            found.append(("breakdown_dropped", {"requested": wanted.breakdowns}))
    return [
        (
            texts[key].render("en", **_words(values, catalog, "en")),
            texts[key].render(language, **_words(values, catalog, language)),
        )
        for key, values in found
    ]


def _words(values: Mapping[str, Sequence[str]], catalog: Catalog, language: str) -> dict[str, str]:
    return {key: _labels(value, catalog, language) for key, value in values.items()}


def _time(facts: Asked) -> list[str]:
    return [*facts.periods, *(str(year) for year in facts.years)]


def _missing(
    tasks: Sequence[PlannedTask], wanted: Asked, covered: set[str], request: str, catalog: Catalog
) -> list[str]:
    problems = []
    if any(task.tool == METRIC_TOOL for task in tasks):
        for metric in wanted.metrics:
            if metric not in covered:
                problems.append(
                    f"the request asks about {_label(catalog, metric, 'en')}, but no metric_query task asks about it"
                )
    tools = {task.tool for task in tasks}
    for tool in sorted(asked_tools(request)):
        if tool not in tools:
            problems.append(f"the request asks for a {tool} task, but the plan has none")
    return problems


def _labels(names: Sequence[str] | str, catalog: Catalog, language: str) -> str:
    items = [names] if isinstance(names, str) else list(names)
    joiner = "、" if language == "zh" else ", "
    return joiner.join(_label(catalog, name, language) for name in items)


def _label(catalog: Catalog, name: str, language: str) -> str:
    item = catalog.metric(name) or catalog.dimension(name) or catalog.period(name)
    return item.label.get(language) if item is not None else name


@cache
def _texts() -> Mapping[str, TextTemplate]:
    return load_texts(PROMPTS, "grounding")


@cache
def _asks() -> _Asks:
    where = f"{PROMPTS}/asks.yaml"
    try:
        data = yaml.safe_load(resources.files(PROMPTS).joinpath("asks.yaml").read_text(encoding="utf-8"))
        return _Asks.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise KubeAIError(f"The planner's words {where} cannot be read: {exc}.") from None
