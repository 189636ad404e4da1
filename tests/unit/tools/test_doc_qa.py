"""``doc_qa`` over a real embedded knowledge base (SQLite store, fake embeddings) holding the demo documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from knowledge.demo_docs import DEMO_DOCS
from knowledge.index import Entry, KnowledgeBase
from knowledge.ingest import ingest
from knowledge.stores.sqlite import SQLiteVectorStore
from kubeai.config import LLMConfig
from kubeai.errors import ToolError
from serving.client import ModelClient
from tests.unit.fakes import ScriptedChat, scripted_client
from tools.doc_qa import PASSAGE_TOKENS, doc_qa_tool
from tools.registry import TaskInputs, TaskOutput, ToolRegistry
from tools.text_tasks import estimate_tokens


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    store = SQLiteVectorStore(tmp_path_factory.mktemp("kb") / "kb.sqlite")
    with KnowledgeBase(embeddings=DeterministicFakeEmbedding(size=16), store=store) as kb:
        report = ingest(kb, "docs", [DEMO_DOCS])
        assert not report.failed
        yield kb


def registry(knowledge: KnowledgeBase, *replies: str, **options: Any) -> tuple[ToolRegistry, ScriptedChat]:
    client, chat = scripted_client(*replies)
    return ToolRegistry([doc_qa_tool(client, knowledge, **options)]), chat


async def test_answers_from_retrieved_passages_and_names_their_documents(knowledge: KnowledgeBase) -> None:
    tools, chat = registry(knowledge, "签收后 7 天内可以无理由退货（refund_policy.md）。")
    inputs = TaskInputs(model="style", language="zh", request="七天无理由退货的条件是什么？")
    out = await tools.run("doc_qa", {"question": "七天无理由退货的条件是什么？"}, inputs)
    assert out.text.startswith("签收后 7 天内")
    assert "refund_policy.md" in out.details["sources"]
    assert all("/" not in source for source in out.details["sources"])  # file names, not paths
    assert out.details["passages"] == len(out.details["ids"]) == 4
    assert out.details["model"] == "style"
    system = str(chat.prompts[0][0].content)
    assert "## Added knowledge: passages" in system and "[1] " in system
    assert "Chinese (简体中文)" in system  # the question's language
    assert "七天无理由退货" in str(chat.prompts[0][-1].content)


async def test_answers_an_english_question_in_english(knowledge: KnowledgeBase) -> None:
    tools, chat = registry(knowledge, "Orders ship within 48 hours.", k=2)
    out = await tools.run("doc_qa", {"question": "How fast are orders shipped?"}, TaskInputs(language="zh"))
    assert out.details["passages"] == 2
    assert "in English" in str(chat.prompts[0][0].content)


async def test_placeholders_in_the_question_are_filled(knowledge: KnowledgeBase) -> None:
    tools, chat = registry(knowledge, "Members get free shipping.")
    inputs = TaskInputs(task_id="t2", results={"t1": TaskOutput(text="membership program benefits")})
    await tools.run("doc_qa", {"question": "What are the <resource>-t1?"}, inputs)
    assert "What are the membership program benefits?" in str(chat.prompts[0][-1].content)


async def test_no_passages_is_a_tool_error(knowledge: KnowledgeBase) -> None:
    tools, chat = registry(knowledge, collection="empty")
    with pytest.raises(ToolError, match="No document passages in collection 'empty'") as info:
        await tools.run("doc_qa", {"question": "退款政策"}, TaskInputs())
    assert info.value.tool == "doc_qa"
    assert chat.prompts == []


async def test_long_passages_share_the_token_budget(tmp_path: Path) -> None:
    store = SQLiteVectorStore(tmp_path / "kb.sqlite")
    with KnowledgeBase(embeddings=DeterministicFakeEmbedding(size=16), store=store) as kb:
        kb.index(
            "docs",
            [Entry(f"doc:{i}", "退款 " + "很长的政策文字" * 300, {"source": f"/docs/p{i}.md"}) for i in range(3)],
        )
        tools, chat = registry(kb, "答案。")
        out = await tools.run("doc_qa", {"question": "退款"}, TaskInputs())
    system = str(chat.prompts[0][0].content)
    assert system.count("(truncated)") == 3
    assert estimate_tokens(system) < PASSAGE_TOKENS + 300
    assert sorted(out.details["sources"]) == ["p0.md", "p1.md", "p2.md"]


async def test_an_empty_answer_is_a_tool_error(knowledge: KnowledgeBase) -> None:
    tools, _chat = registry(knowledge, "")
    with pytest.raises(ToolError, match="empty answer for doc_qa"):
        await tools.run("doc_qa", {"question": "refund policy"}, TaskInputs())


def test_question_length_and_k_are_checked(knowledge: KnowledgeBase) -> None:
    tools, _chat = registry(knowledge)
    assert tools.check_args("doc_qa", {"question": ""})
    assert tools.check_args("doc_qa", {"question": "x" * 301})
    assert tools.needs_model("doc_qa") and tools.task_type("doc_qa") == "doc_qa"
    client = ModelClient(LLMConfig(), default_model="base")
    with pytest.raises(ValueError, match="k must be at least 1"):
        doc_qa_tool(client, knowledge, k=0)
