"""A teacher, when there is one: a stronger model that rewords synthesized questions, checked against their gold.

The synthesizer's questions come from a few templates per intent; a teacher model behind any OpenAI-compatible
endpoint (``finetune.teacher`` in the configuration) rewords a seeded sample of them so the adapter meets more
ways of asking. A rewording keeps its original's gold query, so it is kept only when nothing the gold depends on
has changed (:func:`check_paraphrase`, in this order):

1. ``language``: it is in the original's language (the project's one :func:`kubeai.language.detect_language`).
2. ``unchanged``: it differs from the original, and from the question's earlier rewordings, beyond case and
   spacing.
3. ``values``: every filter value of the gold query that the original names still appears.
4. ``numbers``: the set of digit runs (years, dates, top-N) is the same.
5. ``period``: the catalog period named outright (:func:`graphs.metrics.linking.mentioned_period`) is the same.

An abstention example (no gold query) is reworded too; only the first two checks apply to it. A teacher that
answers garbage for a question costs that question (``output``); a teacher that cannot be reached stops the run
with one sentence naming its URL.

    added, report = paraphraser(config.finetune.teacher, catalog, seed=7)(examples)
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Annotated, Any, Protocol, TypeVar

from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from finetune.examples import QueryExample
from graphs.metrics.linking import mentioned_period
from knowledge.catalog import Catalog
from kubeai.config import LLMConfig, TeacherConfig
from kubeai.errors import (
    ConfigError,
    ModelNotFoundError,
    ModelOutputError,
    ModelServerError,
    ModelServerUnavailableError,
    ModelTimeoutError,
    TrainingError,
)
from kubeai.language import detect_language
from kubeai.prompting import load_prompt
from serving.client import ModelClient, Structured

__all__ = [
    "MAX_CONCURRENT",
    "REJECTION_REASONS",
    "Paraphrases",
    "TeacherClient",
    "check_paraphrase",
    "paraphrase_examples",
    "paraphraser",
    "sample_questions",
    "teacher_client",
]

MAX_CONCURRENT = 4
"""Questions the teacher is asked at once."""

REJECTION_REASONS: tuple[str, ...] = ("language", "unchanged", "values", "numbers", "period", "output")
"""The keys of the report's ``rejected`` counts; ``output`` counts questions, the others paraphrases."""

Progress = Callable[[int, int], None]
"""Called with (questions answered, questions asked) after each answer."""

T = TypeVar("T", bound=BaseModel)

_DIGITS = re.compile(r"\d+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ANSWER_TOKENS = 64
_TOKENS_PER_PARAPHRASE = 160  # 200 Chinese characters can take that many tokens


class TeacherClient(Protocol):
    """What the teacher needs of a model client (:class:`serving.client.ModelClient` has it)."""

    @property
    def base_url(self) -> str:
        """The endpoint's URL, for error messages."""
        ...

    async def structured(
        self,
        messages: Sequence[BaseMessage],
        schema: type[T],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> Structured[T]:
        """An answer constrained to ``schema`` through the server's structured outputs."""
        ...


Paraphrase = Annotated[str, Field(min_length=4, max_length=200)]


class Paraphrases(BaseModel):
    """The teacher's answer: rewordings of one question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paraphrases: list[Paraphrase] = Field(min_length=1, max_length=5, description="Rewordings of the question.")


def sample_questions(examples: Sequence[QueryExample], limit: int, *, seed: int) -> list[QueryExample]:
    """Up to ``limit`` examples, every (language, intent) group represented in proportion to its size.

    Each group gets one example first (the largest groups when there are more groups than ``limit``), the rest of
    ``limit`` is shared in proportion to what each group has left (largest remainder), and a seeded shuffle picks
    the members. The chosen examples keep their input order.
    """
    if len(examples) <= limit:
        return list(examples)
    rng = random.Random(seed)
    groups: dict[tuple[str, str], list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault((example.language, example.intent), []).append(index)
    for members in groups.values():
        rng.shuffle(members)
    by_size = sorted(groups, key=lambda key: -len(groups[key]))  # stable: ties keep first appearance
    quota = dict.fromkeys(groups, 0)
    for key in by_size[:limit]:
        quota[key] = 1
    left = limit - sum(quota.values())
    spare = {key: len(groups[key]) - quota[key] for key in groups}
    total = sum(spare.values())
    if left > 0 and total > 0:
        shares = {key: left * spare[key] / total for key in groups}
        for key, share in shares.items():
            quota[key] += int(share)
        rest = limit - sum(quota.values())
        for key in sorted(groups, key=lambda key: -(shares[key] - int(shares[key])))[:rest]:
            quota[key] += 1
    chosen = sorted(index for key, members in groups.items() for index in members[: quota[key]])
    return [examples[index] for index in chosen]


def check_paraphrase(original: QueryExample, paraphrase: str, catalog: Catalog) -> str | None:
    """Why ``paraphrase`` cannot keep ``original``'s gold (one of :data:`REJECTION_REASONS`), or ``None``.

    The checks run in the order of :data:`REJECTION_REASONS`; an abstention example gets only ``language`` and
    ``unchanged``, since it has no gold query to keep.
    """
    for reason, passes in _CHECKS:
        if original.query is None and reason not in ("language", "unchanged"):
            break
        if not passes(original, paraphrase, catalog):
            return reason
    return None


def _same_language(original: QueryExample, paraphrase: str, catalog: Catalog) -> bool:
    return detect_language(paraphrase) == original.language


def _reworded(original: QueryExample, paraphrase: str, catalog: Catalog) -> bool:
    return _key(paraphrase) != _key(original.question)


def _same_values(original: QueryExample, paraphrase: str, catalog: Catalog) -> bool:
    named = [forms for forms in _filter_values(original.query or {}) if _named(forms, original.question)]
    return all(_named(forms, paraphrase) for forms in named)


def _same_numbers(original: QueryExample, paraphrase: str, catalog: Catalog) -> bool:
    return set(_DIGITS.findall(paraphrase)) == set(_DIGITS.findall(original.question))


def _same_period(original: QueryExample, paraphrase: str, catalog: Catalog) -> bool:
    return mentioned_period(paraphrase, catalog) == mentioned_period(original.question, catalog)


_CHECKS: tuple[tuple[str, Callable[[QueryExample, str, Catalog], bool]], ...] = (
    ("language", _same_language),
    ("unchanged", _reworded),
    ("values", _same_values),
    ("numbers", _same_numbers),
    ("period", _same_period),
)


async def paraphrase_examples(
    examples: Sequence[QueryExample],
    *,
    client: TeacherClient,
    model: str,
    catalog: Catalog,
    paraphrases: int,
    max_questions: int,
    seed: int,
    progress: Progress | None = None,
) -> tuple[list[QueryExample], dict[str, Any]]:
    """Ask a teacher to reword a sample of ``examples`` and keep the rewordings their gold still fits.

    Args:
        examples: Synthesized examples.
        client: The teacher's endpoint.
        model: The teacher model's name on that endpoint.
        catalog: The catalog the examples were synthesized from; its period phrases are checked.
        paraphrases: Rewordings asked per question (1 to 5).
        max_questions: Questions asked at most (:func:`sample_questions`).
        seed: Seeds the sample.
        progress: Called with (answered, asked) after each question.

    Returns:
        The kept rewordings as examples with ``source="teacher"`` (same query, intent and language as their
        original, in the order of the originals), and the counts ``{"model", "asked", "proposed", "kept",
        "rejected": {reason: n}}``.

    Raises:
        ValueError: ``paraphrases`` is not 1 to 5 or ``max_questions`` is below 1.
        TrainingError: The teacher cannot be reached, does not serve ``model``, or does not answer in time.
    """
    if not 1 <= paraphrases <= 5 or max_questions < 1:
        raise ValueError("paraphrases must be 1 to 5 and max_questions at least 1")
    chosen = sample_questions(examples, max_questions, seed=seed)
    template = load_prompt("finetune.prompts", "paraphrase")
    gate = asyncio.Semaphore(MAX_CONCURRENT)
    answered = 0
    failures: list[ModelServerError] = []

    async def ask(example: QueryExample) -> list[str] | None:
        nonlocal answered
        messages = template.render(question=example.question, language=example.language, count=paraphrases)
        async with gate:
            if failures:  # the teacher is down: the questions still waiting are not sent
                return None
            try:
                answer = await client.structured(
                    messages,
                    Paraphrases,
                    model=model,
                    max_tokens=_ANSWER_TOKENS + _TOKENS_PER_PARAPHRASE * paraphrases,
                )
            except ModelOutputError:
                texts = None
            except ModelServerError as exc:
                failures.append(exc)
                return None
            else:
                texts = answer.value.paraphrases[:paraphrases]
        answered += 1
        if progress is not None:
            progress(answered, len(chosen))
        return texts

    answers = await asyncio.gather(*(ask(example) for example in chosen))
    if failures:
        raise _teacher_error(failures[0], client.base_url, model)

    rejected = dict.fromkeys(REJECTION_REASONS, 0)
    kept: list[QueryExample] = []
    proposed = 0
    for example, texts in zip(chosen, answers, strict=True):
        if texts is None:
            rejected["output"] += 1
            continue
        taken: set[str] = set()
        for raw in texts:
            text = " ".join(raw.split())
            proposed += 1
            reason = "unchanged" if _key(text) in taken else check_paraphrase(example, text, catalog)
            if reason is not None:
                rejected[reason] += 1
                continue
            taken.add(_key(text))
            kept.append(replace(example, question=text, source="teacher"))
    report = {"model": model, "asked": len(chosen), "proposed": proposed, "kept": len(kept), "rejected": rejected}
    return kept, report


def teacher_client(config: TeacherConfig) -> ModelClient:
    """A model client on the teacher endpoint ``config`` names.

    Raises:
        ConfigError: ``config.base_url`` is not an http(s) URL.
    """
    try:
        llm = LLMConfig(base_url=config.base_url, api_key=config.api_key, timeout_s=config.timeout_s)
    except ValidationError:
        raise ConfigError(
            f"finetune.teacher.base_url {config.base_url!r} is not an http(s) URL such as http://gpu-box:8000/v1.",
            field="finetune.teacher.base_url",
        ) from None
    return ModelClient(llm, default_model=config.model)


def paraphraser(
    config: TeacherConfig, catalog: Catalog, *, seed: int, progress: Progress | None = None
) -> Callable[[Sequence[QueryExample]], tuple[list[QueryExample], dict[str, Any]]]:
    """The synchronous paraphrase stage :func:`finetune.pipeline.build_data` takes, for a configured teacher.

    Raises:
        ConfigError: ``config.base_url`` is not an http(s) URL.
    """
    client = teacher_client(config)

    def paraphrase(examples: Sequence[QueryExample]) -> tuple[list[QueryExample], dict[str, Any]]:
        return asyncio.run(
            paraphrase_examples(
                examples,
                client=client,
                model=config.model,
                catalog=catalog,
                paraphrases=config.paraphrases,
                max_questions=config.max_questions,
                seed=seed,
                progress=progress,
            )
        )

    return paraphrase


def _teacher_error(exc: ModelServerError, url: str, model: str) -> TrainingError:
    """One sentence naming the teacher's URL and the setting to change."""
    if isinstance(exc, ModelServerUnavailableError):
        return TrainingError(
            f"Cannot reach the teacher model server at {url}; start it or correct finetune.teacher.base_url, or "
            "remove finetune.teacher to train without paraphrases."
        )
    if isinstance(exc, ModelNotFoundError):
        served = ", ".join(exc.available) or "nothing it would list"
        return TrainingError(
            f"The teacher model server at {url} does not serve {model!r} (it serves: {served}); correct "
            "finetune.teacher.model."
        )
    if isinstance(exc, ModelTimeoutError):
        return TrainingError(
            f"The teacher model server at {url} did not answer {model!r} in time; raise finetune.teacher.timeout_s "
            "or check the server's load."
        )
    return TrainingError(f"The teacher {model!r} failed: {exc}")


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _filter_values(query: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every filter value of a gold query, as the texts that name it: as stored, and east_china as east china."""
    out: list[tuple[str, ...]] = []
    for condition in query.get("filters") or ():
        for value in condition.get("values") or ():
            text = str(value).strip()
            if text:
                out.append(tuple(dict.fromkeys((text, text.replace("_", " ")))))
    return out


def _named(forms: tuple[str, ...], text: str) -> bool:
    return any(_occurs(form, text) for form in forms)


def _occurs(value: str, text: str) -> bool:
    """Whether ``value`` appears in ``text``: a Chinese value anywhere, another as a whole word, ignoring case.

    Word boundaries are ASCII letters and digits, as in :func:`knowledge.catalog.retrieval.named_in` ("GMV" next
    to Chinese counts); not that function itself, because it skips one-character Chinese terms such as 男.
    """
    needle, haystack = value.casefold(), text.casefold()
    if _CJK.search(needle):
        return needle in haystack
    return re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", haystack) is not None
