"""Store writes from agents keep working after the pool closed (a batch at shutdown)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from monitor.stream.offload import Offload


def test_runs_in_its_thread_then_inline_after_close() -> None:
    off = Offload("t-offload")

    async def go() -> tuple[str, str]:
        before = await off.run(lambda: threading.current_thread().name)
        off.close()
        after = await off.run(lambda: threading.current_thread().name)
        return before, after

    before, after = asyncio.run(go())
    assert before.startswith("t-offload")
    assert after == "MainThread"


def test_errors_of_the_write_propagate() -> None:
    off = Offload("t-offload")

    def boom() -> None:
        raise ValueError("bad row")

    async def go() -> None:
        await off.run(boom)

    with pytest.raises(ValueError, match="bad row"):
        asyncio.run(go())
    off.close()
