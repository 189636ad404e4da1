"""Feedback over HTTP with a scripted model on the real agent, checkpointer, key store and DuckDB warehouse."""

from __future__ import annotations

from pathlib import Path

from app.keys import KeyStore
from finetune.feedback import FeedbackStore
from kubeai.config import ProjectConfig
from tests.unit.app.api.conftest import GMV_SQL, Opener

BODY = {
    "run_id": "run-1",
    "checkpoint_id": None,
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "rating": "down",
    "correction": {"sql": "SELECT COUNT(*) AS n FROM orders", "metric": None, "text": "count, not sum"},
}


def store(config: ProjectConfig) -> FeedbackStore:
    return FeedbackStore.in_data_dir(Path(config.data_dir))


async def test_feedback_is_stored_with_what_the_thread_showed(api: Opener, secret: str, config: ProjectConfig) -> None:
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        shown = (await http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "GMV?"}})).json()
        state = (await http.get(f"/threads/{thread}/state")).json()
        response = await http.post(f"/threads/{thread}/feedback", json=BODY)
        up = await http.post(f"/threads/{thread}/feedback", json={"rating": "up"})
        listed = (await http.get("/feedback")).json()

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "stored" and set(body) == {"feedback_id", "status"}
    record = store(config).get(body["feedback_id"])
    assert record is not None and record.user == "ana" and record.thread_id == thread and record.origin == "api"
    assert record.question == "GMV?" and record.answer == shown["answer"] and record.sql == shown["sql"]
    assert record.checkpoint_id == state["checkpoint"]["checkpoint_id"]
    assert (record.run_id, record.trace_id, record.rating) == ("run-1", BODY["trace_id"], "down")
    assert record.correction is not None and record.correction.sql == "SELECT COUNT(*) AS n FROM orders"
    assert record.correction.metric is None and record.correction.text == "count, not sum"
    assert up.status_code == 200
    assert [f["id"] for f in listed] == [up.json()["feedback_id"], body["feedback_id"]]  # newest first


async def test_feedback_on_an_older_checkpoint_and_an_unknown_one(api: Opener, secret: str) -> None:
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        await http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "GMV?"}})
        history = (await http.get(f"/threads/{thread}/history", params={"limit": 50})).json()
        older = next(h for h in history if h["values"]["question"] and h["next"])
        ok = await http.post(
            f"/threads/{thread}/feedback", json={"checkpoint_id": older["checkpoint"]["checkpoint_id"], "rating": "up"}
        )
        unknown = await http.post(f"/threads/{thread}/feedback", json={"checkpoint_id": "nope", "rating": "up"})
    assert ok.status_code == 200, ok.text
    assert unknown.status_code == 404 and "no checkpoint 'nope'" in unknown.json()["detail"]


async def test_feedback_is_for_the_owner_only(api: Opener, secret: str, keys: KeyStore, config: ProjectConfig) -> None:
    other = {"Authorization": f"Bearer {keys.create('bo')[1]}"}
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        await http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "GMV?"}})
        await http.post(f"/threads/{thread}/feedback", json={"rating": "up"})
        foreign = await http.post(f"/threads/{thread}/feedback", json={"rating": "down"}, headers=other)
        missing = await http.post("/threads/nope/feedback", json={"rating": "down"})
        anonymous = await http.post(
            f"/threads/{thread}/feedback", json={"rating": "down"}, headers={"Authorization": ""}
        )
        theirs = (await http.get("/feedback", headers=other)).json()
    assert foreign.status_code == 403 and "belongs to another user" in foreign.json()["detail"]
    assert missing.status_code == 404 and anonymous.status_code == 401
    assert theirs == [] and len(store(config).recent()) == 1


async def test_feedback_must_say_something_within_bounds(api: Opener, secret: str, config: ProjectConfig) -> None:
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        early = await http.post(f"/threads/{thread}/feedback", json={"rating": "up"})
        await http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "GMV?"}})
        url = f"/threads/{thread}/feedback"
        cases = {
            "nothing": await http.post(url, json={"run_id": None, "rating": None, "correction": None}),
            "blank": await http.post(url, json={"correction": {"sql": " ", "metric": "", "text": None}}),
            "rating": await http.post(url, json={"rating": "meh"}),
            "unknown": await http.post(url, json={"rating": "up", "stars": 5}),
            "long_text": await http.post(url, json={"correction": {"text": "x" * 4_001}}),
            "long_id": await http.post(url, json={"rating": "up", "trace_id": "t" * 129}),
        }
    assert early.status_code == 409 and "no answer" in early.json()["detail"]
    for name, response in cases.items():
        assert response.status_code in (413, 422), (name, response.text)
        assert "Traceback" not in response.json()["detail"]
    assert "rating" in cases["nothing"].json()["detail"] and "correction" in cases["blank"].json()["detail"]
    assert store(config).recent() == []


async def test_an_approved_edit_is_recorded_as_a_correction(api: Opener, secret: str, config: ProjectConfig) -> None:
    edited_sql = "SELECT COUNT(*) AS n FROM orders"
    async with api(GMV_SQL, secret=secret) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        paused = (
            await http.post(
                f"/threads/{thread}/runs/wait", json={"input": {"question": "GMV?"}, "require_approval": True}
            )
        ).json()
        resumed = await http.post(
            f"/threads/{thread}/runs/wait", json={"command": {"resume": {"action": "edit", "sql": edited_sql}}}
        )
        listed = (await http.get("/feedback")).json()
    assert resumed.status_code == 200
    [record] = store(config).recent()
    assert record.origin == "approval" and record.user == "ana" and record.thread_id == thread
    assert record.question == "GMV?" and record.sql == paused["__interrupt__"][0]["value"]["sql"]
    assert record.correction is not None and record.correction.sql == edited_sql and record.rating is None
    assert [f["id"] for f in listed] == [record.id]
