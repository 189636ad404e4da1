"""Feedback the API records on its own: an edited SQL approved to run is a correction of the SQL that was shown."""

from __future__ import annotations

from pathlib import Path

from agents.metrics import MetricsResult
from finetune.feedback import Correction, FeedbackDraft, FeedbackRecord, FeedbackStore
from kubeai.tracing import trace_id

__all__ = ["record_approved_edit"]


def record_approved_edit(
    data_dir: Path, *, user: str, thread_id: str, shown: MetricsResult, sql: str, run_id: str | None = None
) -> FeedbackRecord:
    """Store an approved edit as feedback: the question, the SQL and query that waited, and the edited SQL.

    Args:
        data_dir: The project's data folder (the store is ``<data_dir>/feedback.sqlite``).
        user: Who approved the edit.
        thread_id: The thread that waited for approval.
        shown: The turn as it waited (``pending_sql`` is the SQL shown for approval).
        sql: The edited statement the user approved.
        run_id: The run that resumed the thread, when known.
    """
    draft = FeedbackDraft(
        user=user,
        origin="approval",
        thread_id=thread_id,
        run_id=run_id,
        assistant="metrics",
        question=shown.standalone_question or shown.question,
        answer=shown.answer or None,
        sql=shown.pending_sql,
        query=shown.query,
        correction=Correction(sql=sql),
        trace_id=trace_id(),  # the resuming request's trace: this runs inside its span
    )
    return FeedbackStore.in_data_dir(data_dir).add(draft)
