"""Conversation threads on the command line: continue one by id, start one under a chosen id, show where it was.

``--thread ID`` continues a stored thread and fails with one sentence when there is none (a unique beginning of
an id is enough); ``--new-thread ID`` starts one under a chosen id; neither starts one under a fresh id. The full
id is printed with every answer, with the command that continues it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import typer

from agents.metrics import MetricsAgent
from app.cli._progress import progress_display
from kubeai.config import ProjectConfig

__all__ = ["check_thread_options", "earlier_turns", "open_agent", "thread_for"]

_ANSWER_CHARS = 300


def check_thread_options(thread: str | None, new_thread: str | None) -> None:
    """Refuse ``--thread`` and ``--new-thread`` together (a usage error)."""
    if thread is not None and new_thread is not None:
        raise typer.BadParameter(
            "use --thread to continue a thread or --new-thread to start one, not both", param_hint="--new-thread"
        )
    if new_thread is not None and not new_thread.strip():
        raise typer.BadParameter("the thread id is empty", param_hint="--new-thread")


async def thread_for(agent: MetricsAgent, *, thread: str | None, new_thread: str | None) -> str:
    """The thread to ask in: a stored one (``thread``, resolved), a new one named ``new_thread``, or a fresh id.

    Raises:
        ThreadNotFoundError: ``thread`` names no stored thread, or begins several.
        typer.BadParameter: ``new_thread`` is the id of a stored thread.
    """
    if thread is not None:
        return await agent.find_thread(thread)
    if new_thread is not None:
        if await agent.has_thread(new_thread):
            raise typer.BadParameter(
                f"thread {new_thread!r} already exists; continue it with --thread {new_thread}",
                param_hint="--new-thread",
            )
        return new_thread
    return uuid.uuid4().hex


@contextlib.asynccontextmanager
async def open_agent(config: ProjectConfig, **options: Any) -> AsyncIterator[MetricsAgent]:
    """:meth:`MetricsAgent.open` showing its progress on stderr (a large catalog takes minutes to index)."""
    async with contextlib.AsyncExitStack() as stack:
        with progress_display() as progress:
            agent = await stack.enter_async_context(MetricsAgent.open(config, progress=progress, **options))
        yield agent


async def earlier_turns(agent: MetricsAgent, thread_id: str, *, turns: int = 3) -> list[str]:
    """The last ``turns`` questions of a thread and their answers, as lines to show when a chat resumes it."""
    history = await agent.history(thread_id)
    starts = [i for i, (role, _) in enumerate(history) if role != "assistant"]
    lines = []
    if len(starts) > turns:
        lines.append(f"... {len(starts) - turns} earlier questions")
    for role, text in history[starts[-turns] if len(starts) > turns else 0 :]:
        if role == "assistant":
            short = text if len(text) <= _ANSWER_CHARS else text[:_ANSWER_CHARS].rstrip() + " ..."
            lines.append(f"  {short}")
        else:
            lines.append(f"> {text}")
            if role == "unanswered":
                lines.append("  (no answer: this turn was interrupted; it is left out of follow-ups)")
    return lines
