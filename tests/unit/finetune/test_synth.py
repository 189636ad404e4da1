"""Catalog-grounded training questions on two real (small) DuckDB warehouses: the demo shop and logistics.

The synthesizer reads each catalog and its warehouse and nothing else, so the same code serves both businesses.
Every kept gold query must compile, pass the gate and return rows; the tests re-check that independently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pandas as pd
import pytest

from finetune import synth
from finetune.dataset import gold_names
from finetune.examples import QueryExample
from finetune.synth import (
    INTENTS,
    CatalogFacts,
    SynthesisResult,
    gold_query_model,
    load_templates,
    read_facts,
    synthesize,
)
from knowledge.catalog import Catalog, load_catalog
from knowledge.warehouse import build_demo_warehouse, build_logistics_warehouse
from knowledge.warehouse.bundled import bundled_domain
from kubeai.errors import WarehouseError
from tools.metric_query import RelativePeriod, compile_metric_query
from tools.sql_gate import GateContext, check_sql
from tools.warehouse import QueryResult, SQLRunner, open_runner

ABSTAIN = {"unanswerable", "forecast", "not_a_question"}
DROP_REASONS = {"compile", "gate", "run", "empty", "template"}
SLOTS = {"metric", "metric2", "dimension", "value", "period", "grain", "n", "concept"}
CJK = re.compile(r"[\u3400-\u9fff]")
PER_METRIC = {"demo": 3, "logistics": 3}  # a few per metric and language: seconds, not minutes


@dataclass(frozen=True)
class Domain:
    """One business: its catalog, an open runner on its warehouse, the values it holds, what was synthesized."""

    name: str
    catalog: Catalog
    runner: SQLRunner
    facts: CatalogFacts
    result: SynthesisResult
    progress: tuple[tuple[int, int], ...]


def _domain(name: str, warehouse: Path) -> Iterator[Domain]:
    catalog = load_catalog(bundled_domain(name).catalog_path())
    runner = open_runner(str(warehouse))
    try:
        facts = read_facts(catalog, runner)
        calls: list[tuple[int, int]] = []
        result = synthesize(
            catalog,
            facts,
            runner=runner,
            per_metric=PER_METRIC[name],
            seed=7,
            progress=lambda done, total: calls.append((done, total)),
        )
        yield Domain(name=name, catalog=catalog, runner=runner, facts=facts, result=result, progress=tuple(calls))
    finally:
        runner.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Domain]:
    path = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    build_demo_warehouse(path, orders=20_000, seed=7)
    yield from _domain("demo", path)


@pytest.fixture(scope="module")
def logistics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Domain]:
    path = tmp_path_factory.mktemp("wh") / "logistics.duckdb"
    build_logistics_warehouse(path, shipments=5_000, seed=11)
    yield from _domain("logistics", path)


@pytest.fixture(params=["demo", "logistics"])
def domain(request: pytest.FixtureRequest) -> Domain:
    """Each business in turn: no test below knows which one it checks."""
    found: Domain = request.getfixturevalue(request.param)
    return found


@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the gold check (every draft passes), for tests about drafting alone: checking is the slow part."""
    monkeypatch.setattr(synth, "_verdict", lambda *args, **kwargs: None)


def answerable(result: SynthesisResult) -> list[QueryExample]:
    return [e for e in result.examples if e.query is not None]


# --- gold queries -------------------------------------------------------------------------------------------------


def test_every_gold_compiles_against_its_catalog(domain: Domain) -> None:
    model = gold_query_model(domain.catalog)
    golds = answerable(domain.result)
    assert len(golds) > 5 * len(domain.catalog.metrics)
    distinct = {repr(sorted(e.query.items())): e.query for e in golds if e.query is not None}
    for query in distinct.values():
        compile_metric_query(model.model_validate(query), domain.catalog)


def test_gold_queries_run_and_return_rows(domain: Domain) -> None:
    # One gold per (intent, language), run through the gate on the warehouse: the synthesizer already ran all of
    # them, this is an independent re-check of a sample covering every kind of question.
    catalog, runner = domain.catalog, domain.runner
    sample: dict[tuple[str, str], QueryExample] = {}
    for example in answerable(domain.result):
        sample.setdefault((example.intent, example.language), example)
    gate = GateContext(
        schema=catalog.schema_mapping(),
        source_dialect=catalog.warehouse.dialect,
        target_dialect=runner.dialect,
        max_rows=1000,
    )
    model = gold_query_model(catalog)
    assert len(sample) >= 24
    for example in sample.values():
        sql = check_sql(compile_metric_query(model.model_validate(example.query), catalog).sql, gate).sql
        frame = runner.run(sql, max_rows=1000, timeout_s=30.0).frame
        assert not frame.empty and not frame.isna().all(axis=None), example


def test_golds_may_name_the_catalogs_own_periods(domain: Domain) -> None:
    # The agent's schema offers the catalog's own period names (q2, h1, last_6_months): so does the training data.
    own = {p.name for p in domain.catalog.periods()} - set(get_args(RelativePeriod))
    ranges = [e.query.get("time_range") for e in answerable(domain.result) if e.query is not None]
    assert own and own & {name for name in ranges if isinstance(name, str)}


def test_every_metric_is_in_some_gold(domain: Domain) -> None:
    used = {m for e in domain.result.examples for m in gold_names(e)[0]}
    assert {m.name for m in domain.catalog.metrics} <= used


def test_filter_values_are_values_the_warehouse_holds(domain: Domain) -> None:
    filtered = 0
    for example in answerable(domain.result):
        assert example.query is not None
        for condition in example.query.get("filters", []):
            names = domain.facts.values[condition["dimension"]]
            assert set(condition["values"]) <= {v.value for v in names}
            # The question names the value as its own language does ("华东" / "East China").
            said = [v.en.lower() if example.language == "en" else v.zh for v in names if v.value in condition["values"]]
            question = example.question.lower() if example.language == "en" else example.question
            assert any(word in question for word in said), example
            filtered += 1
    assert filtered >= 5


def test_values_have_a_name_in_each_language(demo: Domain) -> None:
    regions = {v.value: v for v in demo.facts.values["region"]}
    assert regions["华东"].en == "East China" and regions["华东"].zh == "华东"
    channels = {v.value: v for v in demo.facts.values["channel"]}
    assert channels["web"].en == "Website" and channels["web"].zh == "网页"
    assert "order_date" not in demo.facts.values  # time dimensions hold no value list


# --- questions ----------------------------------------------------------------------------------------------------


def test_both_languages_and_chinese_questions_in_chinese(domain: Domain) -> None:
    languages = Counter(e.language for e in domain.result.examples)
    assert languages["en"] > 0 and languages["zh"] > 0
    assert abs(languages["en"] - languages["zh"]) < 0.2 * len(domain.result.examples)
    for example in domain.result.examples:
        assert example.question.strip() == example.question and example.question
        if example.language == "zh":
            assert CJK.search(example.question), example.question
        assert "{" not in example.question and "}" not in example.question  # every slot filled


def test_abstentions_have_no_query_and_answerable_intents_have_one(domain: Domain) -> None:
    intents = Counter(e.intent for e in domain.result.examples)
    assert intents.keys() >= ABSTAIN
    assert set(intents) <= set(INTENTS)
    assert len(set(intents) - ABSTAIN) >= 12  # most answerable intents come up even at a few per metric
    for example in domain.result.examples:
        assert (example.query is None) == (example.intent in ABSTAIN), example
        assert example.source == "catalog"


def test_drops_are_counted_by_reason(domain: Domain) -> None:
    result = domain.result
    assert set(result.dropped) <= DROP_REASONS
    drafted = len(domain.catalog.metrics) * 2 * PER_METRIC[domain.name]
    assert len(answerable(result)) + sum(result.dropped.values()) == drafted
    assert result.intents == dict(Counter(e.intent for e in result.examples))
    assert result.to_json() == {
        "examples": len(result.examples),
        "dropped": result.dropped,
        "intents": result.intents,
    }
    checked = len(result.examples) + sum(v for k, v in result.dropped.items() if k != "template")
    assert domain.progress[-1] == (checked, checked)


class FailingRunner:
    """A warehouse where grouped queries fail and every other query returns no rows."""

    dialect = "duckdb"

    def run(self, sql: str, *, max_rows: int, timeout_s: float) -> QueryResult:
        if "GROUP BY" in sql.upper():
            raise WarehouseError("Binder Error: no such column")
        return QueryResult(frame=pd.DataFrame({"x": []}), truncated=False, elapsed_s=0.0, sql=sql)

    def close(self) -> None:
        pass


def test_golds_that_fail_or_return_nothing_are_dropped(demo: Domain) -> None:
    data = demo.catalog.model_dump(mode="json", exclude_unset=True)
    data["metrics"] = data["metrics"][:4]  # gmv and three order counts: a few drafts are enough here
    small = Catalog.model_validate(data)
    result = synthesize(small, demo.facts, runner=FailingRunner(), per_metric=2, abstentions=2)
    assert result.dropped["run"] > 0 and result.dropped["empty"] > 0
    assert answerable(result) == []
    assert Counter(e.language for e in result.examples) == {"en": 2, "zh": 2}  # abstentions need no warehouse


# --- determinism and templates ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("unchecked")
def test_same_seed_same_examples_other_seed_others(demo: Domain) -> None:
    def run(seed: int) -> tuple[QueryExample, ...]:
        return synthesize(demo.catalog, demo.facts, runner=demo.runner, per_metric=3, seed=seed).examples

    first = run(7)
    assert first == run(7)
    other = run(8)
    assert other != first
    assert [e.question for e in other] != [e.question for e in first]


def test_templates_cover_every_intent_in_both_languages() -> None:
    templates = load_templates()
    for language in ("en", "zh"):
        assert set(INTENTS) <= set(templates[language])
        for intent in INTENTS:
            assert templates[language][intent], (language, intent)
            for template in templates[language][intent]:
                assert set(re.findall(r"\{(\w+)\}", template)) <= SLOTS, template
    assert all(concept["en"] and concept["zh"] for concept in templates["concepts"])


def test_a_concept_the_catalog_measures_is_never_asked_as_unanswerable(demo: Domain) -> None:
    def unanswerable(catalog: Catalog) -> list[QueryExample]:
        result = synthesize(catalog, demo.facts, runner=demo.runner, per_metric=0, abstentions=160, seed=7)
        return [e for e in result.examples if e.intent == "unanswerable"]

    concepts = load_templates()["concepts"]

    def asked(examples: list[QueryExample]) -> Counter[str]:
        return Counter(c["en"] for c in concepts for e in examples if c[e.language] in e.question)

    before = asked(unanswerable(demo.catalog))
    concept = next(c for c in concepts if c["en"] == before.most_common(1)[0][0])
    # The same catalog, measuring that concept under another name: a synonym of its first metric.
    data = demo.catalog.model_dump(mode="json", exclude_unset=True)
    data["metrics"][0]["synonyms"] = {"en": [concept["en"]], "zh": [concept["zh"]]}
    after = asked(unanswerable(Catalog.model_validate(data)))
    assert concept["en"] not in after
    assert sum(after.values()) > 0  # the other concepts are still asked
