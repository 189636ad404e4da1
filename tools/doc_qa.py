"""``doc_qa``: answer a question from the knowledge base's documents (retrieval-augmented generation).

The question is searched in a knowledge-base collection (hybrid keyword and vector ranking, see
:meth:`knowledge.index.KnowledgeBase.search`); the best passages, clipped to share a token budget, go into the
``doc_qa`` prompt, and the model the select step chose answers in the question's language. The output names the
documents the passages came from, so the response step can cite them.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg, StructuredTool
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from knowledge.index import Hit, KnowledgeBase
from kubeai.errors import ToolError, VectorStoreError
from kubeai.language import detect_language
from kubeai.prompting import load_prompt
from serving.client import ModelClient
from tools.registry import TaskInputs, TaskOutput
from tools.text_tasks import PROMPTS, REQUEST_TOKENS, clip, complete_text, estimate_tokens

__all__ = ["PASSAGE_TOKENS", "doc_qa_tool"]

PASSAGE_TOKENS = 1100
"""About how many tokens of passages the prompt carries, shared out among the hits best first."""

_ANSWER_TOKENS = 256
_NAME = "doc_qa"


class _DocQAArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    question: str = Field(
        min_length=1, max_length=300, description="a self-contained question about company policies or documents"
    )
    inputs: Annotated[SkipValidation[TaskInputs], InjectedToolArg] = Field(default_factory=TaskInputs)


def doc_qa_tool(llm: ModelClient, knowledge: KnowledgeBase, *, collection: str = "docs", k: int = 4) -> StructuredTool:
    """The ``doc_qa`` tool over one knowledge-base collection.

    Args:
        llm: The client that reaches the model chosen for the task.
        knowledge: The knowledge base to search.
        collection: The collection holding ingested documents (``kubeai knowledge ingest`` writes ``docs``).
        k: How many passages to retrieve at most.

    Raises:
        ValueError: ``k`` is less than 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")

    async def doc_qa(question: str, inputs: TaskInputs) -> TaskOutput:
        query = inputs.fill(question).strip()
        try:
            hits = await asyncio.to_thread(knowledge.search, collection, query, k=k)
        except VectorStoreError as exc:
            raise ToolError(str(exc), tool=_NAME) from exc
        if not hits:
            raise ToolError(
                f"No document passages in collection {collection!r} match the question; rephrase it, or ingest "
                "documents with `kubeai knowledge ingest`.",
                tool=_NAME,
            )
        passages = _passages(hits)
        messages = load_prompt(PROMPTS, "doc_qa").render(
            request=clip(inputs.request.strip(), REQUEST_TOKENS)[0],
            question=query,
            passages=passages,
            language=detect_language(query),
        )
        answer = await complete_text(llm, messages, tool=_NAME, model=inputs.model, max_tokens=_ANSWER_TOKENS)
        details = {
            "sources": list(dict.fromkeys(p["source"] for p in passages)),
            "passages": len(passages),
            "ids": [hit.id for hit in hits],
            "model": answer.model,
            "prompt_tokens": answer.usage.prompt_tokens,
            "completion_tokens": answer.usage.completion_tokens,
        }
        return TaskOutput(text=answer.text.strip(), details=details)

    return StructuredTool.from_function(
        coroutine=doc_qa,
        name=_NAME,
        description="Answer a question about company policies and documents (refunds, shipping, membership, ...).",
        args_schema=_DocQAArgs,
        metadata={"task_type": "doc_qa", "references": (), "needs_model": True},
    )


def _passages(hits: list[Hit]) -> list[dict[str, Any]]:
    """Hits as prompt passages, best first, each clipped to an equal share of what the earlier ones left.

    A hit's text already begins with its document title and section path (see ``knowledge.ingest.entry_text``).
    """
    passages: list[dict[str, Any]] = []
    left = PASSAGE_TOKENS
    for position, hit in enumerate(hits):
        share = left // (len(hits) - position)
        text, _cut = clip(hit.text.strip(), share)
        left -= min(share, estimate_tokens(text))
        passages.append({"source": _source(hit), "text": text})
    return passages


def _source(hit: Hit) -> str:
    source = hit.metadata.get("source")
    return PurePath(source).name if isinstance(source, str) and source else hit.id
