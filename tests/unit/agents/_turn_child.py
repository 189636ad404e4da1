"""Child process for the killed-turn test: answers one question on a thread, then hangs in the next one.

Run as ``python -m tests.unit.agents._turn_child DATA_DIR WAREHOUSE MARKER``. The first question is answered
from scripted model replies; the second one's follow-up rewrite is scripted too, then the model call that should
write its SQL never returns. The process writes MARKER when it is stuck there, for the parent to ``kill -9`` it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agents.metrics import MetricsAgent
from kubeai.config import LLMConfig, ProjectConfig
from serving.client import ModelClient

FIRST = "What is the GMV?"
SECOND = "What is the refund amount by city?"
REPLIES = [
    {"sql": "SELECT SUM(paid_amount) AS gmv FROM orders"},  # the first question's SQL
    {"standalone_question": SECOND},  # the second question, rewritten with the thread's history
]


class HangingChat(GenericFakeChatModel):
    """Replays ``REPLIES``, then announces it is stuck (writes the marker) and never answers."""

    marker: str

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        reply = next(_REPLIES, None)
        if reply is None:
            Path(self.marker).write_text("stuck", encoding="utf-8")
            time.sleep(3600)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=json.dumps(reply)))])


_REPLIES = iter(REPLIES)


async def main(data_dir: str, warehouse: str, marker: str) -> None:
    chat = HangingChat(messages=iter(()), marker=marker)
    client = ModelClient(LLMConfig(context_length=8192), default_model="fake", chat_factory=lambda _name: chat)
    config = ProjectConfig.model_validate(
        {
            "data_dir": data_dir,
            "warehouse": {"url": warehouse, "max_rows": 200},
            "metrics_agent": {"rag": False, "strategy": "sql"},
        }
    )
    async with MetricsAgent.open(config, llm=client) as agent:
        first = await agent.ask(FIRST, thread_id="killed")
        assert not first.abstained, first.reason
        await agent.ask(SECOND, thread_id="killed")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
