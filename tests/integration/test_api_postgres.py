"""Threads survive a restart of `kubeai api` when the checkpointer is PostgreSQL (metrics_agent.checkpoint_url).

A real `kubeai api` process on the real vLLM server, a real DuckDB warehouse and a real PostgreSQL cluster: create
a thread, run a turn, stop the API, start a new one on the same database, and find the thread's state and history
as they were; a follow-up on it is answered and lands in the same thread. The checkpoints are in PostgreSQL (no
SQLite checkpoint file is written).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.postgres_server import PostgresServer
from tests.integration.support import Api, ApiFactory

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_api(new_api: ApiFactory, postgres_server: PostgresServer) -> Iterator[Api]:
    """An API process of its own whose checkpointer is a PostgreSQL database."""
    api = new_api("api-pg-data", KUBEAI_METRICS_AGENT__CHECKPOINT_URL=postgres_server.create_database("api_threads"))
    api.start()
    try:
        yield api
    finally:
        api.stop()


def test_a_thread_survives_a_restart_on_postgres(pg_api: Api, postgres_server: PostgresServer) -> None:
    data = pg_api.data_dir
    _, secret = pg_api.keys().create("ana")
    with pg_api.client(secret) as http:
        thread = http.post("/threads", json={"assistant_id": "metrics"}).json()["thread_id"]
        first = http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "上个月的GMV是多少？"}})
        assert first.status_code == 200, first.text
        before = http.get(f"/threads/{thread}/state").json()
        history_before = http.get(f"/threads/{thread}/history", params={"limit": 100}).json()
    stored = postgres_server.psql_run(
        f"SELECT count(*) FROM checkpoints WHERE thread_id = '{thread}'", database="api_threads"
    )
    assert int(stored[0][0]) == len(history_before) > 0
    assert not (data / "checkpoints.sqlite").exists()

    pg_api.stop()
    pg_api.start()
    log = pg_api.log.read_text()
    assert f"using the running server at {pg_api.env['KUBEAI_LLM__BASE_URL']}" in log  # none was started
    assert f"kubeai API on {pg_api.url}" in log
    with pg_api.client(secret) as http:
        after = http.get(f"/threads/{thread}/state").json()
        history_after = http.get(f"/threads/{thread}/history", params={"limit": 100}).json()
        follow_up = http.post(f"/threads/{thread}/runs/wait", json={"input": {"question": "按大区拆分呢？"}})
        latest = http.get(f"/threads/{thread}/state").json()

    assert after["values"] == before["values"] and after["checkpoint"] == before["checkpoint"]
    assert history_after == history_before
    assert [m["role"] for m in before["values"]["messages"]] == ["user", "assistant"]
    assert follow_up.status_code == 200, follow_up.text
    messages = latest["values"]["messages"]
    assert messages[:2] == before["values"]["messages"]
    assert [m["role"] for m in messages[2:]] == ["user", "assistant"] and messages[2]["content"] == "按大区拆分呢？"
