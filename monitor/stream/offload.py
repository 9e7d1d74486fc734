"""A one-thread executor for blocking store writes from Faust agents.

Faust may still run an agent's last batch after ``on_before_shutdown`` closed the pool; a
plain ``run_in_executor`` then raises "cannot schedule new futures after shutdown" and the
batch's rows are lost. After :meth:`Offload.close` writes run inline instead, so the last
batch still reaches the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Offload:
    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            return fn(*args)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except RuntimeError as exc:
            if "shutdown" not in str(exc):
                raise
            return fn(*args)

    def close(self) -> None:
        """Wait for the writes in flight; later writes run inline."""
        self._closed = True
        self._pool.shutdown(wait=True)
