"""The customer-service assistant: one question, answered in its language, in one of four modes.

The modes are the steps of the worked example in ``docs/customer-service.md``:

* ``prompt``: the base model with the four-part answer prompt and no documents;
* ``rag``: the product documents, chunked, embedded and stored in the vector store
  (:func:`index_documents`), searched for the question, the best passages in the prompt's knowledge part;
* ``lora``: the fine-tuned chat adapter (``cs-assistant``) named as the model, no retrieval;
* ``rag+lora``: both.

The prompts are packaged data. The base model gets the four-part prompt of the question's language
(``agents/support/prompts/answer_{en,zh}.yaml``), whose output requirements ask for a short answer with the exact
figure, and for "I don't know" and a hand-over to a human when the knowledge is silent. The adapter gets the
conversation shape it was trained on (``tuned.yaml``: the training system sentence, the passages in ``rag+lora``,
the question), since a tuned model answers best when served what it learned.
Answers are bounded by :attr:`SupportConfig.max_tokens` so the small served model stays quick.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Literal, get_args

from knowledge.index import Hit, KnowledgeBase
from knowledge.ingest import IngestReport, ingest
from kubeai.errors import ConfigError, KubeAIError
from kubeai.language import detect_language
from kubeai.prompting import load_prompt
from serving.client import ModelClient
from tools.text_tasks import clip, estimate_tokens

__all__ = [
    "MODES",
    "Mode",
    "SupportAnswer",
    "SupportAssistant",
    "SupportConfig",
    "Turn",
    "index_documents",
    "parse_modes",
]

Mode = Literal["prompt", "rag", "lora", "rag+lora"]
MODES: tuple[Mode, ...] = get_args(Mode)

_PROMPTS = "agents.support.prompts"


@dataclass(frozen=True, kw_only=True)
class SupportConfig:
    """How the assistant answers.

    Attributes:
        product: The product's name, as the prompts say it.
        adapter: The chat adapter the LoRA modes send as the model.
        collection: The vector-store collection holding the product documents.
        k: Passages retrieved per question in the RAG modes.
        passage_tokens: About how many tokens of passages the prompt carries, shared out best first.
        max_tokens: The most tokens an answer may take.
    """

    product: str = "AeroPure 3 air purifier"
    adapter: str = "cs-assistant"
    collection: str = "customer_service"
    k: int = 3
    passage_tokens: int = 600
    max_tokens: int = 160

    def __post_init__(self) -> None:
        for name, value in (("k", self.k), ("passage_tokens", self.passage_tokens), ("max_tokens", self.max_tokens)):
            if value < 1:
                raise ConfigError(f"Support assistant field {name} must be at least 1, got {value}.")


@dataclass(frozen=True, kw_only=True)
class Turn:
    """One earlier turn of the conversation: ``customer`` or ``agent`` and what they wrote."""

    role: Literal["customer", "agent"]
    text: str


@dataclass(frozen=True, kw_only=True)
class SupportAnswer:
    """An answer and how it was made.

    Attributes:
        text: The answer.
        mode: The mode that made it.
        model: The model or adapter that wrote it.
        language: The question's language, which the answer is asked to use.
        sources: Files of the retrieved passages, best first (empty without retrieval).
        latency_s: Seconds from the question to the answer, retrieval included.
        prompt_tokens: Prompt tokens the server counted.
        completion_tokens: Answer tokens the server counted.
    """

    text: str
    mode: Mode
    model: str
    language: str
    sources: tuple[str, ...] = ()
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        """The answer as JSON-ready data."""
        return {
            "text": self.text,
            "mode": self.mode,
            "model": self.model,
            "language": self.language,
            "sources": list(self.sources),
            "latency_s": round(self.latency_s, 3),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


@dataclass
class SupportAssistant:
    """Answers customer questions in the four modes.

    Args:
        llm: The client that reaches the served base model and its adapters.
        knowledge: The knowledge base holding the documents; needed by the RAG modes only.
        config: Product, adapter, collection and limits.
    """

    llm: ModelClient
    knowledge: KnowledgeBase | None = None
    config: SupportConfig = field(default_factory=SupportConfig)

    async def answer(self, question: str, mode: Mode = "rag", *, history: Sequence[Turn] = ()) -> SupportAnswer:
        """Answer ``question`` in its language.

        Args:
            question: What the customer wrote.
            mode: ``prompt``, ``rag``, ``lora`` or ``rag+lora``.
            history: Earlier turns of the conversation, oldest first.

        Returns:
            The answer, with its model, sources, latency and token counts.

        Raises:
            KubeAIError: The mode is unknown, a RAG mode has no knowledge base, or the search failed.
            ModelServerError: The server is unreachable, too slow, or lacks the model or adapter.
        """
        if mode not in MODES:
            raise KubeAIError(f"Unknown support mode {mode!r}; choose one of {', '.join(MODES)}.")
        began = time.perf_counter()
        language = detect_language(question)
        hits = await self._retrieve(question, language) if mode in ("rag", "rag+lora") else []
        passages = _passages(hits, self.config.passage_tokens)
        turns = [{"role": turn.role, "text": turn.text} for turn in history]
        tuned = mode in ("lora", "rag+lora")
        if tuned:  # the conversation shape the adapter was trained on
            messages = load_prompt(_PROMPTS, "tuned").render(
                history=turns, passages=passages, question=question.strip()
            )
        else:
            messages = load_prompt(_PROMPTS, f"answer_{language}").render(
                product=self.config.product, history=turns, passages=passages, question=question.strip()
            )
        model = self.config.adapter if tuned else None
        completion = await self.llm.complete(messages, model=model, max_tokens=self.config.max_tokens, temperature=0.0)
        return SupportAnswer(
            text=completion.text.strip(),
            mode=mode,
            model=completion.model,
            language=language,
            sources=tuple(dict.fromkeys(p["source"] for p in passages)),
            latency_s=time.perf_counter() - began,
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
        )

    async def _retrieve(self, question: str, language: str) -> list[Hit]:
        if self.knowledge is None:
            raise KubeAIError("The RAG modes need the product documents' knowledge base; index them first.")
        kb, config = self.knowledge, self.config
        hits = await asyncio.to_thread(kb.search, config.collection, question, k=config.k, where={"language": language})
        if not hits:  # no document in the question's language: any language beats none
            hits = await asyncio.to_thread(kb.search, config.collection, question, k=config.k)
        return hits


def parse_modes(text: str) -> tuple[Mode, ...]:
    """``"prompt,rag"`` as modes, in the order given, each once.

    Raises:
        KubeAIError: A mode is unknown or none is given.
    """
    modes: list[Mode] = []
    for raw in text.split(","):
        name = raw.strip().lower().replace(" ", "")
        if not name:
            continue
        if name not in MODES:
            raise KubeAIError(f"Unknown mode {raw.strip()!r}; choose from {', '.join(MODES)}.")
        if name not in modes:
            modes.append(name)
    if not modes:
        raise KubeAIError(f"Name at least one mode: {', '.join(MODES)}.")
    return tuple(modes)


def index_documents(knowledge: KnowledgeBase, folder: Path, *, collection: str) -> IngestReport:
    """Chunk, embed and store the product documents under ``folder`` (unchanged ones are skipped).

    Raises:
        KubeAIError: The store cannot list the collection's documents.
    """
    return ingest(knowledge, collection, [folder])


def _passages(hits: Sequence[Hit], budget: int) -> list[dict[str, str]]:
    """Hits as prompt passages, best first, each clipped to an equal share of what the earlier ones left."""
    passages: list[dict[str, str]] = []
    left = budget
    for position, hit in enumerate(hits):
        share = left // (len(hits) - position)
        text, _cut = clip(hit.text.strip(), share)
        left -= min(share, estimate_tokens(text))
        source = hit.metadata.get("source")
        passages.append(
            {"source": PurePath(source).name if isinstance(source, str) and source else hit.id, "text": text}
        )
    return passages
