"""A teacher for the customer-service pairs: questions customers might ask of a section, and a grounded reply.

With ``finetune.teacher`` configured, each of a seeded sample of document sections goes to the teacher model
(``finetune/prompts/support_questions.yaml``), which proposes ``paraphrases`` questions and one reply. A question
is kept when (:data:`QUESTION_CHECKS`, in order) it is in the section's language, differs from the section's own
title and from the other questions, and states no fact (a number with its unit, an error code) the section does
not; the reply is kept when it passes :func:`finetune.support_docs.consistency` and is grounded in that same
section, else the section's text answers the kept questions instead. Every kept pair then goes through the same
cleaning and decontamination as the rest (:func:`finetune.support_pairs.build_support_data`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from finetune.support_docs import DocSection, consistency, facts
from finetune.support_pairs import SupportPair, Teacher
from finetune.teacher import MAX_CONCURRENT, TeacherClient, _teacher_error, teacher_client
from kubeai.config import TeacherConfig
from kubeai.errors import ModelOutputError, ModelServerError
from kubeai.language import detect_language
from kubeai.prompting import load_prompt

__all__ = ["QUESTION_CHECKS", "Proposal", "check_question", "propose_pairs", "question_teacher"]

QUESTION_CHECKS: tuple[str, ...] = ("language", "unchanged", "facts")
"""Why a proposed question is rejected; the report also counts ``output`` (a section the teacher garbled) and
``answer`` (a reply replaced by the section's text)."""

_TOKENS_PER_QUESTION = 120
_ANSWER_TOKENS = 320


class Proposal(BaseModel):
    """The teacher's answer for one section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    questions: list[Annotated[str, Field(min_length=4, max_length=200)]] = Field(min_length=1, max_length=5)
    answer: str = Field(min_length=1, max_length=800)


def check_question(section: DocSection, question: str, taken: set[str]) -> str | None:
    """Why ``question`` cannot be asked of ``section`` (one of :data:`QUESTION_CHECKS`), or ``None``."""
    if detect_language(question) != section.language:
        return "language"
    key = " ".join(question.split()).casefold()
    if key in taken or key == " ".join(section.title.split()).casefold():
        return "unchanged"
    if not facts(question) <= facts(section.text):
        return "facts"
    return None


async def propose_pairs(
    sections: Sequence[DocSection],
    *,
    client: TeacherClient,
    model: str,
    count: int,
    max_sections: int,
    seed: int,
) -> tuple[list[SupportPair], dict[str, Any]]:
    """Ask the teacher about a seeded sample of ``sections`` and keep the pairs that pass the checks.

    Returns:
        The kept pairs (``source="teacher"``, provenance ``section`` and ``model``) and the counts ``{"model",
        "asked", "proposed", "kept", "rejected": {reason: n}}``.

    Raises:
        TrainingError: The teacher cannot be reached, does not serve ``model`` or does not answer in time.
    """
    chosen = list(sections)
    if len(chosen) > max_sections:
        picked = sorted(random.Random(seed).sample(range(len(chosen)), max_sections))
        chosen = [chosen[i] for i in picked]
    template = load_prompt("finetune.prompts", "support_questions")
    gate = asyncio.Semaphore(MAX_CONCURRENT)
    failures: list[ModelServerError] = []

    async def ask(section: DocSection) -> Proposal | None:
        messages = template.render(title=section.title, text=section.text, language=section.language, count=count)
        async with gate:
            if failures:
                return None
            try:
                answer = await client.structured(
                    messages, Proposal, model=model, max_tokens=_ANSWER_TOKENS + _TOKENS_PER_QUESTION * count
                )
            except ModelOutputError:
                return None
            except ModelServerError as exc:
                failures.append(exc)
                return None
            return answer.value

    proposals = await asyncio.gather(*(ask(section) for section in chosen))
    if failures:
        raise _teacher_error(failures[0], client.base_url, model)
    rejected = dict.fromkeys((*QUESTION_CHECKS, "output", "answer"), 0)
    kept: list[SupportPair] = []
    proposed = 0
    for section, proposal in zip(chosen, proposals, strict=True):
        if proposal is None:
            rejected["output"] += 1
            continue
        reply = " ".join(proposal.answer.split())
        check = consistency(reply, [section], language=section.language)
        if check.reason is not None:
            rejected["answer"] += 1
            reply = section.text
        taken: set[str] = set()
        for raw in proposal.questions[:count]:
            question = " ".join(raw.split())
            proposed += 1
            reason = check_question(section, question, taken)
            if reason is not None:
                rejected[reason] += 1
                continue
            taken.add(question.casefold())
            provenance = {"section": section.id, "model": model}
            kept.append(
                SupportPair(
                    question=question, answer=reply, language=section.language, source="teacher", provenance=provenance
                )
            )
    report = {"model": model, "asked": len(chosen), "proposed": proposed, "kept": len(kept), "rejected": rejected}
    return kept, report


def question_teacher(config: TeacherConfig, *, seed: int) -> Teacher:
    """The synchronous teacher :func:`finetune.support_pairs.build_support_data` takes, for a configured teacher.

    ``config.paraphrases`` is the number of questions asked per section and ``config.max_questions`` the most
    sections asked about.

    Raises:
        ConfigError: ``config.base_url`` is not an http(s) URL.
    """
    client = teacher_client(config)

    def teach(sections: Sequence[DocSection]) -> tuple[list[SupportPair], dict[str, Any]]:
        return asyncio.run(
            propose_pairs(
                sections,
                client=client,
                model=config.model,
                count=config.paraphrases,
                max_sections=config.max_questions,
                seed=seed,
            )
        )

    return teach
