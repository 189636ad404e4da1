"""The customer-service assistant's RAG mode on the real vLLM server, real embeddings and the embedded store."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from agents.support import SupportAssistant, SupportConfig, index_documents
from app import runtime
from evals.scorers.support import fact_coverage
from knowledge.index import open_knowledge_base
from tests.integration.support import LiveServer

pytestmark = pytest.mark.integration

DOCS = Path(str(resources.files("finetune.data.customer_service.docs")))


async def test_rag_answers_with_a_fact_from_the_shipped_docs(live_server: LiveServer, tmp_path: Path) -> None:
    config = live_server.config.model_copy(
        update={"llm": live_server.config.llm.model_copy(update={"timeout_s": 600.0})}
    )
    llm = runtime.model_client(config, base_url=live_server.base_url)
    with open_knowledge_base(embeddings=config.embeddings, store=config.vector_store, data_dir=tmp_path) as kb:
        report = index_documents(kb, DOCS, collection="cs")
        assert not report.failed and len(report.added) == 4
        assistant = SupportAssistant(llm, knowledge=kb, config=SupportConfig(collection="cs", k=1, max_tokens=64))
        answer = await assistant.answer("How much does one replacement AF-3 filter cost?", "rag")
    assert set(answer.sources) <= {"faq_en.md", "manual_en.md"} and answer.sources
    assert fact_coverage(answer.text, [["$39", "39 dollars", "39 usd"]]) == 1.0, answer.text
    assert answer.model == config.models.base.name and answer.latency_s > 0
