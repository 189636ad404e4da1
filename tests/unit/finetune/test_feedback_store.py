"""The feedback store: what goes in comes back, per user, newest first, across store objects."""

from __future__ import annotations

from pathlib import Path

from finetune.feedback import Correction, FeedbackDraft, FeedbackStore


def test_a_record_round_trips_with_every_field(tmp_path: Path) -> None:
    store = FeedbackStore.in_data_dir(tmp_path)
    draft = FeedbackDraft(
        user="ana",
        thread_id="t1",
        run_id="r1",
        checkpoint_id="c1",
        trace_id="0af7651916cd43dd8448eb211c80319c",
        assistant="metrics",
        question="上个月各地区的GMV是多少？",
        answer="华东最高。",
        sql="SELECT 1",
        query={"metrics": ["gmv"], "dimensions": ["region"], "time_range": "last_month"},
        rating="down",
        correction=Correction(metric="net_gmv", text="应该看净成交额"),
    )
    stored = store.add(draft)
    again = FeedbackStore(tmp_path / "feedback.sqlite").get(stored.id)  # another object on the same file
    assert again == stored
    assert again.status == "stored" and again.created_at and again.origin == "api"
    assert again.query == draft.query and again.correction == draft.correction
    assert again.to_json()["correction"] == {"sql": None, "metric": "net_gmv", "text": "应该看净成交额"}


def test_recent_is_newest_first_and_per_user(tmp_path: Path) -> None:
    store = FeedbackStore.in_data_dir(tmp_path)
    first = store.add(FeedbackDraft(user="ana", question="GMV?", rating="up"))
    other = store.add(FeedbackDraft(user="bo", question="GMV?", rating="down"))
    last = store.add(FeedbackDraft(user="ana", question="AOV?", correction=Correction(sql="SELECT 2")))
    assert [r.id for r in store.recent(user="ana")] == [last.id, first.id]
    assert [r.id for r in store.recent()] == [last.id, other.id, first.id]
    assert [r.id for r in store.recent(limit=1)] == [last.id]
    assert store.recent(user="ana")[1].correction is None and store.recent(user="ana")[0].rating is None


def test_an_empty_store_has_no_records(tmp_path: Path) -> None:
    store = FeedbackStore.in_data_dir(tmp_path / "data")
    assert store.recent() == [] and store.get("nope") is None
