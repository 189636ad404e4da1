"""``kubeai cs eval``: the customer-service assistant's four modes compared on the held-out questions.

This is where the layers meet: the product documents are indexed into the configured vector store (unchanged
ones are skipped), the ``cs-assistant`` adapter is loaded into the running server when a LoRA mode needs it and the
server lacks it, and :func:`evals.support.evaluate_support` asks :class:`agents.support.SupportAssistant` every
question in every mode. A LoRA mode whose adapter was never trained is reported as pending, with the commands that
make and run it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import cast

from agents.support import Mode, SupportAnswer, SupportAssistant, SupportConfig, index_documents
from app.runtime import adapter_store
from evals.dataset import load_dataset
from evals.support import SupportEvalResult, evaluate_support, write_support_report
from kubeai.config import ProjectConfig
from kubeai.errors import IngestError, ModelServerError, ServingError
from serving.client import ModelClient

__all__ = ["DOCS_PACKAGE", "SupportEvalRun", "run_support_eval"]

DOCS_PACKAGE = "finetune.data.customer_service.docs"
"""The shipped product documents (manual and FAQ, English and Chinese) the RAG modes retrieve from."""

DATASET = Path(__file__).resolve().parent.parent / "evals" / "datasets" / "customer_service"


@dataclass(frozen=True, kw_only=True)
class SupportEvalRun:
    """A finished comparison and where its report went."""

    result: SupportEvalResult
    markdown: Path
    json: Path


def run_support_eval(
    config: ProjectConfig,
    llm: ModelClient,
    modes: Sequence[Mode],
    *,
    assistant: SupportConfig | None = None,
    limit: int | None = None,
    concurrency: int = 1,
    out_dir: Path | None = None,
    dataset: Path = DATASET,
    docs: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SupportEvalRun:
    """Compare ``modes`` on the held-out set and write ``report.md`` and ``report.json``.

    Args:
        config: The project configuration (embeddings, vector store, data folder).
        llm: The client of the running server.
        modes: The modes to compare, in order.
        assistant: Product, adapter, collection and limits of the assistant.
        limit: Only the first N questions.
        concurrency: Questions in flight at once within a mode (see :func:`evals.support.evaluate_support`).
        out_dir: The report's folder (default ``<data_dir>/customer_service/eval``).
        dataset: The held-out dataset folder.
        docs: The product documents (default: the shipped ones).
        progress: Told what the run is doing, one line at a time.

    Raises:
        KubeAIError: The dataset, documents, store or server failed; the sentence says which.
    """
    say = progress or (lambda _line: None)
    settings = assistant or SupportConfig()
    loaded = load_dataset(dataset)
    knowledge = None
    if any(mode in ("rag", "rag+lora") for mode in modes):
        from knowledge.index import open_knowledge_base

        folder = docs or Path(str(resources.files(DOCS_PACKAGE)))
        knowledge = open_knowledge_base(
            embeddings=config.embeddings, store=config.vector_store, data_dir=config.data_dir
        )
    try:
        if knowledge is not None:
            report = index_documents(knowledge, folder, collection=settings.collection)
            if report.failed:
                first = report.failed[0]
                raise IngestError(f"Product document {first.source} was not indexed: {first.reason}", path=first.source)
            say(
                f"product documents in {settings.collection!r}: {len(report.added)} added, {len(report.updated)} "
                f"updated, {len(report.unchanged)} unchanged"
            )
        helper = SupportAssistant(llm, knowledge=knowledge, config=settings)
        pending: dict[str, str] = {}
        runnable = list(modes)
        if any(mode in ("lora", "rag+lora") for mode in modes):
            why = asyncio.run(_ensure_adapter(config, llm, settings.adapter, say))
            if why is not None:
                for mode in ("lora", "rag+lora"):
                    if mode in runnable:
                        runnable.remove(mode)
                        pending[mode] = why

        async def ask(question: str, mode: str) -> SupportAnswer:
            return await helper.answer(question, cast(Mode, mode))  # one of ``modes``

        result = asyncio.run(
            evaluate_support(loaded, ask, runnable, limit=limit, pending=pending, concurrency=concurrency, progress=say)
        )
    finally:
        if knowledge is not None:
            knowledge.close()
    target = out_dir or config.data_dir / "customer_service" / "eval"
    markdown, data = write_support_report(result, target)
    return SupportEvalRun(result=result, markdown=markdown, json=data)


async def _ensure_adapter(config: ProjectConfig, llm: ModelClient, name: str, say: Callable[[str], None]) -> str | None:
    """Make sure the server serves adapter ``name``; ``None`` when it does, else why not and what to run."""
    if name in await llm.models():
        return None
    store = adapter_store(config)
    try:
        path = store.get(name).path
    except ServingError:
        version = store.active(name)
        if version is None:
            return (
                f"the adapter {name!r} is not trained yet; run `kubeai cs data` and `kubeai cs train`, then "
                "`kubeai cs eval --modes lora,rag+lora`"
            )
        name, path = version.name, version.path
    say(f"loading adapter {name} from {path}")
    try:
        await llm.load_adapter(name, path.resolve())
    except ModelServerError as exc:
        return f"the server did not load the adapter {name!r} ({exc}); load it with `kubeai serve load`, then rerun"
    return None
