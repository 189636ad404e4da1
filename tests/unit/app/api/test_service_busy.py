"""One run per thread at a time, and nothing kept per thread once its runs end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.api.errors import ApiError
from app.api.service import Agents, Service
from app.api.threads import ThreadRegistry
from kubeai.config import ProjectConfig


def _service(tmp_path: Path) -> Service:
    config = ProjectConfig.model_validate({"data_dir": str(tmp_path)})
    agents = Agents.__new__(Agents)  # running() never touches the agents
    return Service(config=config, agents=agents, threads=ThreadRegistry(tmp_path / "threads.sqlite"))


async def test_a_second_run_on_a_busy_thread_is_refused_and_the_first_goes_on(tmp_path: Path) -> None:
    service = _service(tmp_path)
    inside = asyncio.Event()
    release = asyncio.Event()

    async def first() -> str:
        async with service.running("t1", registered=False):
            inside.set()
            await release.wait()
        return "done"

    task = asyncio.create_task(first())
    await inside.wait()
    with pytest.raises(ApiError) as refused:
        async with service.running("t1", registered=False):
            pass
    assert refused.value.status_code == 409
    async with service.running("t2", registered=False):  # another thread is not held up
        pass
    release.set()
    assert await task == "done"
    async with service.running("t1", registered=False):  # free again once the first run ended
        pass


async def test_no_state_is_kept_for_threads_whose_runs_ended(tmp_path: Path) -> None:
    service = _service(tmp_path)
    for n in range(200):  # stateless runs use a fresh thread id each time
        async with service.running(f"fresh-{n}", registered=False):
            pass
    with pytest.raises(RuntimeError):
        async with service.running("failing", registered=False):
            raise RuntimeError("boom")
    assert service._busy == set()
