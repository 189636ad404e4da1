"""Synthetic planning data: requests and their gold task graphs, composed from the tool registry and the catalog.

Each *shape* (``data/planning_templates.yaml``) is a kind of request whose gold graph is fixed by its meaning: a
metric question; a chart after the metric it charts; a comparison or join after both metrics; a summary after
what it summarizes; a growth rate calculated from two metric results; document questions, alone, beside a metric
or translated. Its slots are filled from the catalog (metric, dimension and period labels in English and
Chinese), its metric questions are worded with the template's ``question`` text, and its arguments are checked
against the registered tools' schemas: a shape whose tools are not all registered is skipped, and every gold
graph must pass the planner's own validator (:func:`graphs.planner.validate_plan`) without repairs.

The examples then go through the fine-tuning pipeline's cleaning stages (:func:`finetune.clean.clean_examples`):
a request near an evaluation request (the planning sets) is removed. Training conversations are the planner's own
prompt (:func:`graphs.planner.nodes.plan_messages`) without demonstrations, as the planner serves the adapter,
and the plan as compact JSON, in the trainer's JSONL format (:func:`finetune.lora.load_examples`).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from finetune.clean import CleaningConfig, CleaningResult, clean_examples
from finetune.examples import QueryExample
from finetune.lora import ChatExample
from graphs.planner import DemoBank, validate_plan
from graphs.planner.nodes import plan_messages
from knowledge.catalog import Catalog
from kubeai.errors import TrainingError
from kubeai.files import write_text_atomic
from tools.registry import ToolRegistry

__all__ = [
    "PlanningData",
    "build_planning_data",
    "chat_example",
    "synthesize_plans",
    "write_chat_examples",
]

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tools: tuple[str, ...]
    en: tuple[str, ...]
    zh: tuple[str, ...]


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    request: str
    question: str


class _Templates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    question: dict[str, str]
    shapes: dict[str, _Shape]
    words: dict[str, Any]
    documents: dict[str, tuple[_Document, ...]]


@dataclass(frozen=True, kw_only=True)
class _Slots:
    metric: str
    metric2: str
    metric_name: str
    metric2_name: str
    dim: str
    dim_name: str
    period: str
    period2: str
    kind: str
    document: _Document


@dataclass(frozen=True, kw_only=True)
class PlanningData:
    """Synthesized and cleaned planning examples and what each stage made and removed.

    Attributes:
        examples: The kept examples: ``question`` is the request, ``query`` is ``{"tasks": [...]}``, ``intent``
            the shape.
        report: Counts per stage: ``synthesized`` (by shape), ``invalid`` (gold graphs the validator refused,
            dropped), ``cleaning`` (:meth:`finetune.clean.CleaningResult.to_json`), ``kept`` by language.
    """

    examples: tuple[QueryExample, ...]
    report: dict[str, Any]


def synthesize_plans(
    catalog: Catalog, tools: ToolRegistry, *, per_shape: int = 30, seed: int = 7
) -> tuple[list[QueryExample], dict[str, Any]]:
    """Compose ``per_shape`` requests per shape and language with their gold graphs; keep the valid ones.

    Returns:
        The examples, and counts: ``synthesized`` per shape, ``invalid`` (with the first problems), ``skipped``
        shapes (a tool not registered).
    """
    templates = _templates()
    rng = random.Random(seed)
    examples: list[QueryExample] = []
    made: Counter[str] = Counter()
    invalid: list[str] = []
    skipped = sorted(name for name, shape in templates.shapes.items() if not set(shape.tools) <= set(tools.names()))
    for name, shape in templates.shapes.items():
        if name in skipped:
            continue
        for language in LANGUAGES:
            for _ in range(per_shape):
                slots = _slots(catalog, templates, language, rng)
                phrasing = rng.choice(getattr(shape, language))
                request = " ".join(_render(phrasing, _words(templates, slots, language)).split())
                plan = _GRAPHS[name](slots, templates, language)
                outcome = validate_plan(plan, tools)
                if not outcome.ok or outcome.repairs:
                    invalid.append(f"{name}: {'; '.join([*outcome.problems, *outcome.repairs][:2])}")
                    continue
                examples.append(QueryExample(question=request, language=language, query={"tasks": plan}, intent=name))
                made[name] += 1
    report = {"synthesized": dict(made), "invalid": len(invalid), "invalid_examples": invalid[:5], "skipped": skipped}
    return examples, report


def build_planning_data(
    catalog: Catalog,
    tools: ToolRegistry,
    *,
    eval_requests: Sequence[str],
    per_shape: int = 30,
    seed: int = 7,
    cleaning: CleaningConfig | None = None,
) -> PlanningData:
    """Synthesize planning examples and clean them, decontaminated against ``eval_requests``.

    Raises:
        TrainingError: No example survived (the registry lacks the tools every shape needs).
    """
    examples, report = synthesize_plans(catalog, tools, per_shape=per_shape, seed=seed)
    cleaned: CleaningResult = clean_examples(
        examples, eval_questions=list(eval_requests), config=cleaning or CleaningConfig(seed=seed)
    )
    if not cleaned.kept:
        raise TrainingError("No planning example survived synthesis and cleaning; register the planner's tools.")
    report = {
        **report,
        "cleaning": cleaned.to_json(),
        "kept": dict(Counter(example.language for example in cleaned.kept)),
    }
    return PlanningData(examples=cleaned.kept, report=report)


def chat_example(example: QueryExample, tools: ToolRegistry, demos: DemoBank, *, demos_k: int = 0) -> ChatExample:
    """One training conversation: the planner's prompt and the gold plan.

    The adapter replaces the demonstrations, so by default none is shown (``demos_k`` 0), as the planner serves
    it; the prompt is then about 800 tokens instead of about 1,250 with two.
    """
    shown = demos.nearest(example.question, demos_k, tools=tools.names(), language=example.language)
    messages = plan_messages(tools, request=example.question, demos=shown)
    target = json.dumps(example.query, ensure_ascii=False, separators=(",", ":"))
    pairs = (("system", str(messages[0].content)), ("user", str(messages[1].content)), ("assistant", target))
    return ChatExample(messages=pairs, language=example.language)


def write_chat_examples(path: Path, examples: Sequence[ChatExample]) -> None:
    """Write conversations as the trainer reads them (:func:`finetune.lora.load_examples`), atomically."""
    lines = (
        json.dumps(
            {"messages": [{"role": r, "content": c} for r, c in example.messages], "language": example.language},
            ensure_ascii=False,
        )
        for example in examples
    )
    write_text_atomic(path, "".join(line + "\n" for line in lines))


def _slots(catalog: Catalog, templates: _Templates, language: Language, rng: random.Random) -> _Slots:
    metrics = list(catalog.metrics)
    first = rng.choice(metrics)
    dims = [
        d for d in catalog.dimensions if d.type == "categorical" and d.name in catalog.allowed_dimensions(first.name)
    ]
    dim = rng.choice(dims) if dims else None
    partners = [
        m for m in metrics if m.name != first.name and (dim is None or dim.name in catalog.allowed_dimensions(m.name))
    ]
    second = rng.choice(partners or [first])
    periods = list(catalog.periods())
    period, period2 = rng.sample(periods, 2)
    return _Slots(
        metric=_inline(first.label.get(language)),
        metric2=_inline(second.label.get(language)),
        metric_name=first.name,
        metric2_name=second.name,
        dim=_inline(dim.label.get(language)) if dim is not None else "",
        dim_name=dim.name if dim is not None else "",
        period=_inline(period.label.get(language)),
        period2=_inline(period2.label.get(language)),
        kind=rng.choice(("bar", "line")),
        document=rng.choice(templates.documents[language]),
    )


def _inline(label: str) -> str:
    """A label as it reads inside a sentence: "Refund rate" -> "refund rate"; "GMV" and Chinese stay."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _words(templates: _Templates, slots: _Slots, language: Language) -> dict[str, str]:
    words = templates.words
    by = _render(words["by"][language], {"dim": slots.dim}) if slots.dim else ""
    return {
        "metric": slots.metric,
        "metric2": slots.metric2,
        "by": by,
        "dim": slots.dim,
        "period": slots.period,
        "period2": slots.period2,
        "kind": slots.kind,
        "kind_word": words["kind_word"][slots.kind][language],
        "other_language": words["other_language"][language],
        "request": slots.document.request,
    }


def _question(templates: _Templates, slots: _Slots, language: Language, *, second: bool = False, **change: str) -> str:
    words = {**_words(templates, slots, language), **change}
    if second:
        words["metric"] = slots.metric2
    return " ".join(_render(templates.question[language], words).split())


def _task(number: int, tool: str, args: Mapping[str, Any], dep: Sequence[str] = ()) -> dict[str, Any]:
    return {"id": f"t{number}", "tool": tool, "args": dict(args), "dep": list(dep)}


def _metric(number: int, question: str) -> dict[str, Any]:
    return _task(number, "metric_query", {"question": question})


Graph = Callable[[_Slots, _Templates, Language], list[dict[str, Any]]]


def _g_metric(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    return [_metric(1, _question(t, s, lang))]


def _g_chart(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    return [_metric(1, _question(t, s, lang)), _task(2, "chart", {"table": "t1", "kind": s.kind}, ["t1"])]


def _g_compare_periods(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    on = [s.dim_name] if s.dim_name else []
    return [
        _metric(1, _question(t, s, lang)),
        _metric(2, _question(t, s, lang, period=s.period2)),
        _task(3, "table_compare", {"left": "t1", "right": "t2", "on": on}, ["t1", "t2"]),
    ]


def _g_join_metrics(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    on = [s.dim_name] if s.dim_name else []
    return [
        _metric(1, _question(t, s, lang)),
        _metric(2, _question(t, s, lang, second=True)),
        _task(3, "table_join", {"left": "t1", "right": "t2", "on": on, "how": "outer"}, ["t1", "t2"]),
    ]


def _g_compare_chart_summary(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    return [
        *_g_join_metrics(s, t, lang),
        _task(4, "chart", {"table": "t1", "kind": s.kind}, ["t1"]),
        _task(5, "summarize", {"text": "<resource>-t1 <resource>-t2", "language": lang}, ["t1", "t2"]),
    ]


def _g_metric_summary(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    return [
        _metric(1, _question(t, s, lang)),
        _task(2, "summarize", {"text": "<resource>-t1", "language": lang}, ["t1"]),
    ]


def _g_growth(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    expression = "(<resource>-t1 - <resource>-t2) / <resource>-t2 * 100"
    return [
        _metric(1, _question(t, s, lang, by="")),
        _metric(2, _question(t, s, lang, by="", period=s.period2)),
        _task(3, "calculate", {"expression": expression}, ["t1", "t2"]),
    ]


def _g_doc(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    return [_task(1, "doc_qa", {"question": s.document.question})]


def _g_doc_metric(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    return [_task(1, "doc_qa", {"question": s.document.question}), _metric(2, _question(t, s, lang, by=""))]


def _g_doc_translate(s: _Slots, t: _Templates, lang: Language) -> list[dict[str, Any]]:
    target = "zh" if lang == "en" else "en"
    return [
        _task(1, "doc_qa", {"question": s.document.question}),
        _task(2, "translate", {"text": "<resource>-t1", "target_language": target}, ["t1"]),
    ]


_GRAPHS: dict[str, Graph] = {
    "metric": _g_metric,
    "chart": _g_chart,
    "compare_periods": _g_compare_periods,
    "join_metrics": _g_join_metrics,
    "compare_chart_summary": _g_compare_chart_summary,
    "metric_summary": _g_metric_summary,
    "growth": _g_growth,
    "doc": _g_doc,
    "doc_metric": _g_doc_metric,
    "doc_translate": _g_doc_translate,
}


def _render(source: str, values: Mapping[str, str]) -> str:
    return _ENV.from_string(source).render(**values)


@cache
def _templates() -> _Templates:
    where = "finetune/data/planning_templates.yaml"
    try:
        text = resources.files("finetune.data").joinpath("planning_templates.yaml").read_text(encoding="utf-8")
        templates = _Templates.model_validate(yaml.safe_load(text))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise TrainingError(f"The planning templates {where} cannot be read: {exc}.") from None
    unknown = sorted(set(templates.shapes) ^ set(_GRAPHS))
    if unknown:
        raise TrainingError(f"The planning templates {where} and the generator disagree on shapes {unknown}.")
    return templates
