"""Training questions from a catalog and its warehouse: question -> metric query pairs in English and Chinese.

The synthesizer knows no business. It reads the catalog (metric and dimension labels and synonyms, allowed
dimensions, time grains, named periods, grain phrases), reads the values each dimension really holds from the
warehouse (with their names in both languages where the dimension's table has them), and fills the phrasing
templates of ``finetune/data/question_templates.yaml``. Every gold query is then compiled, passed through the
SQL gate and run: a query that fails or returns no rows is dropped and counted, so the adapter never learns an
answer the warehouse cannot give. Questions the catalog cannot answer (things it does not measure, forecasts,
requests to change data, small talk) are synthesized too, with the gold "abstain".

    facts = read_facts(catalog, runner)
    result = synthesize(catalog, facts, runner=runner, seed=7)
    result.examples, result.dropped
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml

from finetune.examples import Language, QueryExample
from knowledge.catalog import Catalog
from knowledge.catalog.models import Dimension
from kubeai.errors import KubeAIError, TrainingError
from tools.metric_query import MetricQuery, compile_metric_query, metric_query_model, resolve_period
from tools.metric_query.values import DimensionValues, ValueName, ValueReadError, read_dimension_values
from tools.sql_gate import GateContext, check_sql
from tools.warehouse import SQLRunner

__all__ = [
    "INTENTS",
    "CatalogFacts",
    "SynthesisResult",
    "ValueName",
    "gold_query_model",
    "gold_verdict",
    "load_templates",
    "read_facts",
    "synthesize",
]

LANGUAGES: tuple[Language, ...] = ("en", "zh")
INTENTS = (
    "total",
    "breakdown",
    "filter",
    "filter_breakdown",
    "trend",
    "top",
    "bottom",
    "best",
    "period_over_period",
    "year_over_year",
    "share",
    "share_with_values",
    "two_metrics",
    "ratio",
    "difference",
    "unanswerable",
    "forecast",
    "not_a_question",
)
ABSTAIN_INTENTS = frozenset({"unanswerable", "forecast", "not_a_question"})
_SLOT = re.compile(r"\{(\w+)\}")
_CJK = re.compile(r"[\u3400-\u9fff]")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_BARE_EN = ("last", "this", "past", "previous", "current", "trailing", "today", "yesterday", "the ")
_GRAIN_DAYS = {"day": (1, 62), "week": (21, 190), "month": (59, 800), "quarter": (180, 1200), "year": (366, 5000)}


CatalogFacts = DimensionValues
"""What synthesis knows of the warehouse beyond the catalog (:class:`tools.metric_query.values.DimensionValues`)."""


@dataclass(frozen=True, kw_only=True)
class SynthesisResult:
    """Examples that passed the gold checks, and how many were dropped and why.

    Attributes:
        examples: Checked examples, in generation order.
        dropped: Per reason (``compile``, ``gate``, ``run``, ``empty``, ``template``): examples dropped.
        intents: Examples kept per intent.
    """

    examples: tuple[QueryExample, ...]
    dropped: dict[str, int] = field(default_factory=dict)
    intents: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {"examples": len(self.examples), "dropped": dict(self.dropped), "intents": dict(self.intents)}


@cache
def load_templates() -> dict[str, Any]:
    """The packaged phrasing templates (``finetune/data/question_templates.yaml``)."""
    text = resources.files("finetune.data").joinpath("question_templates.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for language in LANGUAGES:
        missing = [intent for intent in INTENTS if not data.get(language, {}).get(intent)]
        if missing:
            raise TrainingError(f"question_templates.yaml has no {language} templates for {', '.join(missing)}.")
    return dict(data)


def read_facts(catalog: Catalog, runner: SQLRunner, *, max_values: int = 40, timeout_s: float = 30.0) -> CatalogFacts:
    """Each categorical dimension's values, named in both languages (:func:`read_dimension_values`).

    Raises:
        TrainingError: The warehouse refused a query; the message names the dimension.
    """
    try:
        return read_dimension_values(catalog, runner, max_values=max_values, timeout_s=timeout_s)
    except ValueReadError as exc:
        raise TrainingError(str(exc)) from None


def synthesize(
    catalog: Catalog,
    facts: CatalogFacts,
    *,
    runner: SQLRunner,
    per_metric: int = 36,
    abstentions: int | None = None,
    seed: int = 7,
    timeout_s: float = 30.0,
    progress: Callable[[int, int], None] | None = None,
) -> SynthesisResult:
    """Synthesize question -> query pairs for every metric of ``catalog`` and check each gold on the warehouse.

    Args:
        catalog: The catalog.
        facts: Its dimensions' values (:func:`read_facts`).
        runner: Its warehouse; gold queries run here.
        per_metric: Questions drafted per metric and language (spread over the intents the metric allows).
        abstentions: Unanswerable questions per language (default: a twentieth of the answerable ones, so a
            tenth in all, at least 8).
        seed: Same seed, catalog and warehouse: the same examples, in the same order.
        timeout_s: Cancel any one gold query after this many seconds.
        progress: Called with (checked, total) while gold queries run.

    Returns:
        The checked examples and the drop counts.
    """
    rng = random.Random(seed)
    templates = load_templates()
    drafts: list[QueryExample] = []
    dropped: Counter[str] = Counter()
    writer = _Writer(catalog, facts, templates, rng)
    for metric in catalog.metrics:
        for language in LANGUAGES:
            intents = writer.intents_for(metric.name)
            for i in range(per_metric):
                intent = intents[i % len(intents)] if i < len(intents) else rng.choice(intents)
                draft = writer.draft(metric.name, intent, language)
                if draft is None:
                    dropped["template"] += 1
                else:
                    drafts.append(draft)
    answerable = len(drafts)
    count = abstentions if abstentions is not None else max(8, answerable // 20)
    for language in LANGUAGES:
        for i in range(count):
            intent = ("unanswerable", "unanswerable", "forecast", "not_a_question")[i % 4]
            draft = writer.abstention(intent, language)
            if draft is not None:
                drafts.append(draft)
    kept = _check(catalog, runner, drafts, dropped, timeout_s=timeout_s, progress=progress)
    per_intent = Counter(e.intent for e in kept)
    return SynthesisResult(examples=tuple(kept), dropped=dict(dropped), intents=dict(per_intent))


@dataclass(kw_only=True)
class _Draft:
    """A question being written: the template's slots, the gold query so far, the words chosen so far."""

    slots: frozenset[str]
    query: dict[str, Any]
    fill: dict[str, str]
    language: Language
    grain: str | None = None


class _Writer:
    """Fills templates with one catalog's words; every choice comes from the seeded ``rng``."""

    def __init__(self, catalog: Catalog, facts: CatalogFacts, templates: Mapping[str, Any], rng: random.Random):
        self.catalog = catalog
        self.facts = facts
        self.templates = templates
        self.rng = rng
        self.reference = catalog.reference_date
        conventions = catalog.conventions
        self.period_days: dict[str, int] = {}
        for period in catalog.periods():
            start, end = resolve_period(
                period,
                self.reference,
                week_start=conventions.week_start,
                fiscal_year_start_month=conventions.fiscal_year_start_month,
            )
            self.period_days[period.name] = (end - start).days
        words = {
            w.casefold() for m in catalog.metrics for w in (m.label.en, m.label.zh, *m.synonyms.en, *m.synonyms.zh)
        }
        words |= {w.casefold() for d in catalog.all_dimensions for w in (d.label.en, d.label.zh)}
        self.concepts = [
            c for c in templates.get("concepts", []) if not any(_overlaps(str(c[lang]), words) for lang in LANGUAGES)
        ]

    # -- what a metric allows --------------------------------------------------------------------------------

    def _groupable(self, metric: str) -> list[Dimension]:
        dims = [self.catalog.dimension(d) for d in self.catalog.allowed_dimensions(metric)]
        return [d for d in dims if d is not None and not d.filter_only and d.type != "time"]

    def _filterable(self, metric: str) -> list[Dimension]:
        dims = [self.catalog.dimension(d) for d in self.catalog.allowed_dimensions(metric)]
        return [d for d in dims if d is not None and self.facts.values.get(d.name)]

    def _time_dimension(self, metric: str) -> Dimension | None:
        dims = [self.catalog.dimension(d) for d in self.catalog.allowed_dimensions(metric)]
        timed = [d for d in dims if d is not None and d.type == "time" and not d.filter_only]
        preferred = [d for d in timed if d.metric_time]
        chosen = preferred or timed
        return chosen[0] if chosen else None

    def intents_for(self, metric: str) -> list[str]:
        """The intents a metric can be asked about, spread so each comes up."""
        # The questions analysts ask most (totals, breakdowns, trends) come up most.
        intents = ["total", "total", "total"]
        if self._groupable(metric):
            intents += ["breakdown", "breakdown", "breakdown", "top", "bottom", "best", "share", "share_with_values"]
        if self._filterable(metric):
            intents += ["filter", "filter"]
            if self._groupable(metric):
                intents.append("filter_breakdown")
        if self._time_dimension(metric) is not None:
            intents += ["trend", "trend", "period_over_period", "year_over_year"]
        intents += ["two_metrics", "ratio", "difference"]
        self.rng.shuffle(intents)
        return intents

    # -- drafting ------------------------------------------------------------------------------------------

    def draft(self, metric: str, intent: str, language: Language) -> QueryExample | None:
        """One question of ``intent`` about ``metric``, with its gold query; ``None`` when it does not apply."""
        template = self.rng.choice(self.templates[language][intent])
        draft = _Draft(
            slots=frozenset(_SLOT.findall(template)),
            query={"metrics": [metric]},
            fill={"metric": self._metric_word(metric, language)},
            language=language,
        )
        steps = (self._series, self._grouping, self._filter, self._ranking, self._comparison, self._partner_step)
        if not all(step(draft, metric, intent) for step in steps) or not self._timing(draft, intent):
            return None
        question = _fill(template, draft.fill, language)
        if question is None:
            return None
        return QueryExample(question=question, language=language, query=_ordered(draft.query), intent=intent)

    def _series(self, draft: _Draft, metric: str, intent: str) -> bool:
        """A trend groups by the metric's time dimension at one of its grains."""
        if intent != "trend":
            return True
        time_dim = self._time_dimension(metric)
        if time_dim is None:
            return False
        draft.grain = self.rng.choice(list(time_dim.time_grains))
        draft.query.update(dimensions=[time_dim.name], time_grain=draft.grain)
        draft.fill["grain"] = self.rng.choice(self._grain_words(draft.grain, draft.language))
        return True

    def _grouping(self, draft: _Draft, metric: str, intent: str) -> bool:
        """Breakdowns, rankings and shares group by one dimension the metric allows."""
        grouped = intent in ("breakdown", "top", "bottom", "best", "share", "share_with_values", "filter_breakdown")
        if not grouped and not (intent == "two_metrics" and "dimension" in draft.slots):
            return True
        groupable = self._groupable(metric)
        if not groupable:
            return False
        dim = self.rng.choice(groupable)
        draft.query["dimensions"] = [dim.name]
        draft.fill["dimension"] = self._dimension_word(dim, draft.language)
        return True

    def _filter(self, draft: _Draft, metric: str, intent: str) -> bool:
        """A filter on one value the warehouse holds, named as the question's language names it."""
        if intent not in ("filter", "filter_breakdown"):
            return True
        filterable = [d for d in self._filterable(metric) if d.name not in draft.query.get("dimensions", [])]
        if not filterable:
            return False
        dim = self.rng.choice(filterable)
        value = self.rng.choice(self.facts.values[dim.name])
        draft.query["filters"] = [{"dimension": dim.name, "values": [value.value]}]
        draft.fill["value"] = value.en if draft.language == "en" else value.zh
        if "dimension" in draft.slots and intent == "filter":
            draft.fill["dimension"] = self._dimension_word(dim, draft.language)
        return True

    def _ranking(self, draft: _Draft, metric: str, intent: str) -> bool:
        """Top, bottom and best sort by the metric and keep N rows."""
        if intent in ("top", "bottom"):
            n = self.rng.choice((3, 5, 10))
            draft.fill["n"] = str(n)
            key: dict[str, Any] = {"target": metric} if intent == "top" else {"target": metric, "direction": "asc"}
            draft.query.update(order_by=[key], limit=n)
        elif intent == "best":
            draft.query.update(order_by=[{"target": metric}], limit=1)
        return True

    def _comparison(self, draft: _Draft, metric: str, intent: str) -> bool:
        """Shares of the total, and growth over the previous period or the year before."""
        if intent in ("share", "share_with_values"):
            draft.query["comparison"] = "share_of_total"
            if intent == "share":
                draft.query["comparison_output"] = "change_only"
        elif intent in ("period_over_period", "year_over_year"):
            draft.query["comparison"] = intent
        return True

    def _partner_step(self, draft: _Draft, metric: str, intent: str) -> bool:
        """Two metrics side by side, or a ratio or difference of two."""
        if intent not in ("two_metrics", "ratio", "difference"):
            return True
        other = self._partner(metric, draft.query.get("dimensions", []), intent)
        if other is None:
            return False
        draft.fill["metric2"] = self._metric_word(other, draft.language)
        if intent == "two_metrics":
            draft.query["metrics"] = [metric, other]
        else:
            op = "ratio" if intent == "ratio" else "difference"
            draft.query["calculations"] = [{"op": op, "left": metric, "right": other}]
        return True

    def _timing(self, draft: _Draft, intent: str) -> bool:
        """The period: fitting the grain for a trend, bounded for a comparison, absent means all time."""
        bounded = intent in ("period_over_period", "year_over_year")
        if "period" not in draft.slots:
            return not bounded
        kind = "trend" if intent == "trend" else "bounded" if bounded else "any"
        chosen = self._period(draft.language, kind=kind, grain=draft.grain)
        if chosen is None:
            return False
        draft.fill["period"], time_range = chosen
        if time_range != "all_time":
            draft.query["time_range"] = time_range
        return True

    def abstention(self, intent: str, language: Language) -> QueryExample | None:
        """A question the catalog cannot answer, or a request that is not a metrics question."""
        template = self.rng.choice(self.templates[language][intent])
        slots = set(_SLOT.findall(template))
        metric = self.rng.choice(self.catalog.metrics).name
        fill = {"metric": self._metric_word(metric, language)}
        if "concept" in slots:
            if not self.concepts:
                return None
            fill["concept"] = str(self.rng.choice(self.concepts)[language])
        if "dimension" in slots:
            dims = [d for d in self.catalog.dimensions if not d.filter_only]
            if not dims:
                return None
            fill["dimension"] = self._dimension_word(self.rng.choice(dims), language)
        if "value" in slots:
            pool = [v for values in self.facts.values.values() for v in values]
            if not pool:
                return None
            value = self.rng.choice(pool)
            fill["value"] = value.en if language == "en" else value.zh
        if "period" in slots:
            chosen = self._period(language, kind="any", grain=None)
            if chosen is None:
                return None
            fill["period"] = chosen[0]
        question = _fill(template, fill, language)
        if question is None:
            return None
        return QueryExample(question=question, language=language, query=None, intent=intent)

    # -- words -----------------------------------------------------------------------------------------------

    def _metric_word(self, name: str, language: Language) -> str:
        metric = self.catalog.metric(name)
        assert metric is not None
        label = metric.label.en if language == "en" else metric.label.zh
        synonyms = list(metric.synonyms.en if language == "en" else metric.synonyms.zh)
        word = str(self.rng.choice([label, label, *synonyms]))
        return _mid_sentence(word) if language == "en" else word

    def _dimension_word(self, dimension: Dimension, language: Language) -> str:
        label = dimension.label.en if language == "en" else dimension.label.zh
        synonyms = list(dimension.synonyms.en if language == "en" else dimension.synonyms.zh)
        # Synonyms help retrieval but are not always nouns ("men and women"): mostly the label.
        word = str(self.rng.choice([label] * 6 + synonyms))
        return _mid_sentence(word) if language == "en" else word

    def _grain_words(self, grain: str, language: Language) -> list[str]:
        phrases = self.catalog.grain_phrases().get(grain)
        words = list(phrases.en if language == "en" else phrases.zh) if phrases else []
        return words or [grain]

    def _partner(self, metric: str, dimensions: Sequence[str], intent: str) -> str | None:
        """Another metric that allows the same dimensions, for two-metric questions and calculations.

        A difference takes a metric of the same unit and format; a ratio divides by a count (an integer metric).
        """
        first = self.catalog.metric(metric)
        assert first is not None
        others = [
            m
            for m in self.catalog.metrics
            if m.name != metric and all(d in self.catalog.allowed_dimensions(m.name) for d in dimensions)
        ]
        if intent == "difference":
            others = [m for m in others if m.format == first.format and m.unit == first.unit]
        elif intent == "ratio":
            others = [m for m in others if m.format == "integer"]
        return self.rng.choice(others).name if others else None

    def _period(self, language: Language, *, kind: str, grain: str | None) -> tuple[str, Any] | None:
        """A period phrase and its ``time_range``; ``bounded`` excludes all time, ``trend`` fits the grain."""
        choices: list[Callable[[], tuple[str, Any, int]]] = [self._named_period] * 5 + [self._year] * 2
        choices += [self._month, self._quarter_of_year, self._day, self._range]
        if kind == "any":
            choices.append(self._all_time)
        for _ in range(12):
            text, time_range, days = self.rng.choice(choices)()
            if kind == "trend" and grain is not None:
                low, high = _GRAIN_DAYS[grain]
                if not low <= days <= high:
                    continue
            return self._phrase(text, language, time_range)
        if kind == "trend" and grain == "year":
            first = self.reference.year - 1
            return self._phrase(
                {"en": f"from {first} to {first + 1}", "zh": f"{first}年到{first + 1}年"},
                language,
                {"start": f"{first}-01-01", "end": f"{first + 1}-12-31"},
            )
        return None

    @staticmethod
    def _phrase(text: Any, language: Language, time_range: Any) -> tuple[str, Any]:
        return str(text[language]), time_range

    def _named_period(self) -> tuple[Any, Any, int]:
        period = self.rng.choice(self.catalog.periods())
        en = self.rng.choice([period.label.en, *period.phrases.en])
        zh = self.rng.choice([period.label.zh, *period.phrases.zh])
        if not en.lower().startswith(_BARE_EN):
            en = f"in {en}"
        return {"en": en, "zh": zh}, period.name, self.period_days[period.name]

    def _year(self) -> tuple[Any, Any, int]:
        year = self.reference.year - self.rng.choice((0, 0, 1))
        en = self.rng.choice((f"in {year}", f"in {year}", f"for {year}", f"during {year}"))
        zh = self.rng.choice((f"{year}年", f"{year}年全年", f"{year}年度"))
        return {"en": en, "zh": zh}, {"start": f"{year}-01-01", "end": f"{year}-12-31"}, 365

    def _month(self) -> tuple[Any, Any, int]:
        start = self._some_month()
        end = _month_end(start)
        en = self.rng.choice((f"in {_MONTHS[start.month - 1]} {start.year}", f"in {start:%Y-%m}"))
        zh = f"{start.year}年{start.month}月"
        return {"en": en, "zh": zh}, {"start": start.isoformat(), "end": end.isoformat()}, (end - start).days + 1

    def _quarter_of_year(self) -> tuple[Any, Any, int]:
        year = self.reference.year - self.rng.choice((0, 1))
        quarter = self.rng.randint(1, 4)
        start = date(year, 3 * quarter - 2, 1)
        end = _month_end(date(year, 3 * quarter, 1))
        if start > self.reference:
            start, end = date(year - 1, start.month, 1), _month_end(date(year - 1, 3 * quarter, 1))
        zh_number = "一二三四"[quarter - 1]
        en = self.rng.choice((f"in Q{quarter} {start.year}", f"in the {_ordinal(quarter)} quarter of {start.year}"))
        zh = self.rng.choice((f"{start.year}年第{zh_number}季度", f"{start.year}年Q{quarter}"))
        return {"en": en, "zh": zh}, {"start": start.isoformat(), "end": end.isoformat()}, (end - start).days + 1

    def _day(self) -> tuple[Any, Any, int]:
        month = self._some_month()
        day = month + timedelta(days=self.rng.randint(0, (_month_end(month) - month).days))
        day = min(day, self.reference)
        en = self.rng.choice((f"on {day.isoformat()}", f"on {_MONTHS[day.month - 1]} {day.day}, {day.year}"))
        zh = f"{day.year}年{day.month}月{day.day}日"
        return {"en": en, "zh": zh}, {"start": day.isoformat(), "end": day.isoformat()}, 1

    def _range(self) -> tuple[Any, Any, int]:
        month = self._some_month()
        last = (_month_end(month) - month).days
        first_day = self.rng.randint(0, max(0, last - 3))
        start = month + timedelta(days=first_day)
        end = min(month + timedelta(days=self.rng.randint(first_day + 1, last)), self.reference)
        if end < start:
            start, end = end, start
        en = self.rng.choice(
            (
                f"from {start.isoformat()} to {end.isoformat()}",
                f"between {_MONTHS[start.month - 1]} {start.day} and {_MONTHS[end.month - 1]} {end.day}, {end.year}",
            )
        )
        zh = self.rng.choice(
            (
                f"{start.year}年{start.month}月{start.day}日到{end.month}月{end.day}日",
                f"{start.isoformat()}至{end.isoformat()}",
            )
        )
        return {"en": en, "zh": zh}, {"start": start.isoformat(), "end": end.isoformat()}, (end - start).days + 1

    def _all_time(self) -> tuple[Any, Any, int]:
        en = self.rng.choice(("in total", "of all time", "ever", ""))
        zh = self.rng.choice(("累计", "历史上", "至今", ""))
        return {"en": en, "zh": zh}, "all_time", 5000

    def _some_month(self) -> date:
        months_back = self.rng.randint(0, 23)
        year, month = self.reference.year, self.reference.month - months_back
        while month < 1:
            year, month = year - 1, month + 12
        return date(year, month, 1)


def _mid_sentence(word: str) -> str:
    """A label as it reads inside an English sentence: "Refund count" -> "refund count", "GMV" stays."""
    return word[0].lower() + word[1:] if len(word) > 1 and word[0].isupper() and word[1].islower() else word


def _month_end(start: date) -> date:
    following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _ordinal(n: int) -> str:
    return ("first", "second", "third", "fourth")[n - 1]


def _overlaps(concept: str, words: set[str]) -> bool:
    lowered = concept.casefold()
    return any(len(w) >= 2 and (w in lowered or lowered in w) for w in words)


def _fill(template: str, fill: Mapping[str, str], language: Language) -> str | None:
    """The template with its slots filled, spacing tidied; ``None`` when a slot has no word."""
    missing = set(_SLOT.findall(template)) - fill.keys()
    if missing:
        return None
    text = _SLOT.sub(lambda m: fill[m.group(1)], template)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([?.!,:])", r"\1", text)
    if language == "zh":
        text = re.sub(r"(?<=[\u3400-\u9fff])\s+|\s+(?=[\u3400-\u9fff])", "", text)
    return text[0].upper() + text[1:] if language == "en" and text else text


def _ordered(query: dict[str, Any]) -> dict[str, Any]:
    """The query as MetricQuery's fields order it, so JSON files read the same everywhere."""
    order = list(MetricQuery.model_fields)
    return {key: query[key] for key in sorted(query, key=order.index)}


def gold_query_model(catalog: Catalog) -> type[MetricQuery]:
    """The schema a gold query is read with: any name of ``catalog`` and its own period names (``q2``, ``h1``).

    The base :class:`MetricQuery` knows only the standard period names; the agent's and the adapter's schemas
    offer the catalog's, so gold queries may use them too.
    """
    return metric_query_model(
        [m.name for m in catalog.metrics],
        [d.name for d in catalog.all_dimensions],
        periods=[p.name for p in catalog.periods()],
    )


def gold_verdict(
    catalog: Catalog, runner: SQLRunner, query: Mapping[str, Any], *, timeout_s: float = 30.0
) -> str | None:
    """The gold checks every synthesized example passes, for one query from elsewhere (a user's correction).

    Returns:
        Why the query is unusable (``compile``, ``gate``, ``run``, ``empty``), or ``None`` when it compiles,
        passes the SQL gate and returns rows.
    """
    gate = _gate(catalog, runner, max_rows=1000)
    return _verdict(catalog, runner, gate, gold_query_model(catalog), query, timeout_s=timeout_s)


def _gate(catalog: Catalog, runner: SQLRunner, *, max_rows: int) -> GateContext:
    return GateContext(
        schema=catalog.schema_mapping(),
        source_dialect=catalog.warehouse.dialect,
        target_dialect=runner.dialect,
        max_rows=max_rows,
    )


def _check(
    catalog: Catalog,
    runner: SQLRunner,
    drafts: Sequence[QueryExample],
    dropped: Counter[str],
    *,
    timeout_s: float,
    progress: Callable[[int, int], None] | None,
) -> list[QueryExample]:
    """Keep the drafts whose gold compiles, passes the gate and returns rows (each distinct query runs once)."""
    gate = _gate(catalog, runner, max_rows=1000)
    model = gold_query_model(catalog)
    verdicts: dict[str, str | None] = {}
    kept: list[QueryExample] = []
    for done, draft in enumerate(drafts, start=1):
        if draft.query is None:
            kept.append(draft)
        else:
            key = repr(sorted(draft.query.items()))
            if key not in verdicts:
                verdicts[key] = _verdict(catalog, runner, gate, model, draft.query, timeout_s=timeout_s)
            reason = verdicts[key]
            if reason is None:
                kept.append(draft)
            else:
                dropped[reason] += 1
        # Abstentions come last: reporting them too is what makes the last call (total, total).
        if progress is not None and (done % 50 == 0 or done == len(drafts)):
            progress(done, len(drafts))
    return kept


def _verdict(
    catalog: Catalog,
    runner: SQLRunner,
    gate: GateContext,
    model: type[MetricQuery],
    query: Mapping[str, Any],
    *,
    timeout_s: float,
) -> str | None:
    """Why a gold query is unusable (``compile``, ``gate``, ``run``, ``empty``), or ``None`` when it is fine."""
    try:
        compiled = compile_metric_query(model.model_validate(query), catalog)
    except (KubeAIError, ValueError):
        return "compile"
    try:
        sql = check_sql(compiled.sql, gate).sql
    except KubeAIError:
        return "gate"
    try:
        frame = runner.run(sql, max_rows=1000, timeout_s=timeout_s).frame
    except KubeAIError:
        return "run"
    if frame.empty or frame.isna().all(axis=None):
        return "empty"
    return None
