"""The thread registry under the load benchmark's concurrency: 32 sessions creating, updating and reading at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.api.threads import ThreadRegistry

SESSIONS = 32


def test_32_sessions_at_once_neither_lock_nor_lose_an_update(tmp_path: Path) -> None:
    registry = ThreadRegistry(tmp_path / "api_threads.sqlite")

    def session(number: int) -> str:
        thread = f"t{number}"
        registry.create(thread, owner=f"user{number % 4}", assistant_id="metrics", metadata={"n": number})
        for turn in range(20):
            registry.update(thread, status="busy")
            assert registry.get(thread) is not None
            registry.update(thread, status="idle", values={"turn": turn} if number % 2 else None)
        return thread

    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        threads = list(pool.map(session, range(SESSIONS)))

    records = [registry.get(t) for t in threads]
    assert all(r is not None and r.status == "idle" for r in records)
    assert [r.values.get("turn") for r in records if r is not None][1::2] == [19] * (SESSIONS // 2)
    assert [r.metadata["n"] for r in records if r is not None] == list(range(SESSIONS))
