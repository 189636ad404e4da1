"""The customer-service assistant's four modes, on a scripted model and a real embedded store of the shipped docs."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from unittest.mock import patch

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from agents.support import SupportAssistant, SupportConfig, Turn, index_documents, parse_modes
from finetune.support_pairs import SUPPORT_SYSTEM_PROMPT
from knowledge.index import KnowledgeBase
from knowledge.stores.sqlite import SQLiteVectorStore
from kubeai.errors import ConfigError, KubeAIError
from tests.unit.fakes import scripted_client

DOCS = Path(str(resources.files("finetune.data.customer_service.docs")))


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    store = SQLiteVectorStore(tmp_path_factory.mktemp("kb") / "kb.sqlite")
    with KnowledgeBase(embeddings=DeterministicFakeEmbedding(size=16), store=store) as kb:
        report = index_documents(kb, DOCS, collection="cs")
        assert not report.failed
        assert len(report.added) == 4  # manual and FAQ, English and Chinese; the package's __init__.py is skipped
        yield kb


async def test_rag_puts_the_retrieved_passages_in_the_prompt(knowledge: KnowledgeBase) -> None:
    client, chat = scripted_client("E5 means overheating: unplug it and let it cool for 30 minutes.")
    assistant = SupportAssistant(client, knowledge=knowledge, config=SupportConfig(collection="cs", k=2))
    question = "my purifier shows E5 overheating after an hour"
    answer = await assistant.answer(question, "rag")
    hits = knowledge.search("cs", question, k=2, where={"language": "en"})
    system = str(chat.prompts[0][0].content)
    assert hits and all(hit.text.strip()[:60] in system for hit in hits)
    assert "## Business knowledge" in system and "Output requirements" in system
    assert question in str(chat.prompts[0][1].content)
    assert chat.models == ["base"]
    assert (answer.mode, answer.model, answer.language) == ("rag", "base", "en")
    assert answer.sources and set(answer.sources) <= {"manual_en.md", "faq_en.md"}
    assert answer.text.startswith("E5 means overheating")


async def test_a_chinese_question_gets_the_chinese_prompt_and_chinese_passages(knowledge: KnowledgeBase) -> None:
    client, chat = scripted_client("E5 表示过热保护，拔下电源冷却 30 分钟。")
    assistant = SupportAssistant(client, knowledge=knowledge, config=SupportConfig(collection="cs"))
    answer = await assistant.answer("一直报E5过热，开一会儿就停", "rag")
    system = str(chat.prompts[0][0].content)
    assert "## 业务知识" in system and "用简体中文回答" in system
    assert set(answer.sources) <= {"manual_zh.md", "faq_zh.md"}
    assert answer.language == "zh"


async def test_lora_sends_the_adapter_as_the_model_and_retrieves_nothing(knowledge: KnowledgeBase) -> None:
    client, chat = scripted_client("2 years.", "两年。")
    assistant = SupportAssistant(client, knowledge=knowledge, config=SupportConfig(collection="cs", adapter="cs-x"))
    plain = await assistant.answer("how long is the warranty", "lora")
    both = await assistant.answer("保修多久", "rag+lora")
    assert chat.models == ["cs-x", "cs-x"]
    assert (plain.model, plain.sources) == ("cs-x", ())
    assert both.model == "cs-x" and both.sources
    # the adapter is served the conversation it was trained on: the training system sentence, then the question
    assert [str(m.content) for m in chat.prompts[0]] == [SUPPORT_SYSTEM_PROMPT, "how long is the warranty"]
    assert str(chat.prompts[1][0].content).startswith(SUPPORT_SYSTEM_PROMPT + "\n\n## Business knowledge\n[1] ")
    assert str(chat.prompts[1][1].content) == "保修多久"


async def test_prompt_mode_needs_no_knowledge_and_carries_the_dialogue() -> None:
    client, chat = scripted_client("I don't know; let me transfer you to a human agent.")
    assistant = SupportAssistant(client)
    history = (Turn(role="customer", text="hi, I ordered yesterday"), Turn(role="agent", text="Hello! How can I help?"))
    answer = await assistant.answer("when is the AeroPure 4 out?", "prompt", history=history)
    user = str(chat.prompts[0][1].content)
    assert "customer: hi, I ordered yesterday" in user and "agent: Hello! How can I help?" in user
    assert "I don't know" in str(chat.prompts[0][0].content)  # refusal is part of the output requirements
    assert answer.model == "base" and answer.sources == ()


async def test_rag_without_a_knowledge_base_says_what_to_do() -> None:
    client, _chat = scripted_client("unused")
    with pytest.raises(KubeAIError, match="index them first"):
        await SupportAssistant(client).answer("how long is shipping", "rag")


async def test_answers_are_bounded_by_max_tokens() -> None:
    client, _chat = scripted_client("ok")
    with patch.object(client, "complete", wraps=client.complete) as complete:
        await SupportAssistant(client, config=SupportConfig(max_tokens=64)).answer("hello?", "prompt")
    assert complete.call_args.kwargs["max_tokens"] == 64


def test_modes_parse_in_order_once_each() -> None:
    assert parse_modes("rag, prompt,RAG,rag+lora") == ("rag", "prompt", "rag+lora")
    with pytest.raises(KubeAIError, match="Unknown mode 'finetune'"):
        parse_modes("prompt,finetune")
    with pytest.raises(KubeAIError, match="at least one"):
        parse_modes(" , ")


def test_config_refuses_a_zero_limit() -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        SupportConfig(max_tokens=0)
