"""Asyncio batching inference engine, the way inference servers batch (Ray Serve, infinity).

Each caller awaits a Future. The batcher flushes when ``max_batch_size`` items wait or when the
oldest has waited ``max_wait_ms`` (monotonic clock); it sorts a batch by text length so the
tokenizer pads less, and runs the model in its own thread so the event loop (Faust's) never
blocks. If a batch fails, its items are retried one by one so an error fails only the items it
belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from foundation.errors import ModelError
from models.base import Prediction, TextClassifier

log = logging.getLogger(__name__)


@dataclass
class EngineStats:
    batches: int = 0
    items: int = 0
    failed: int = 0
    busy_s: float = 0.0

    @property
    def mean_batch(self) -> float:
        return self.items / self.batches if self.batches else 0.0


@dataclass
class _Item:
    text: str
    future: asyncio.Future[Prediction]
    enqueued: float


class InferenceEngine:
    def __init__(
        self,
        classifier: TextClassifier,
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 25.0,
        length: Callable[[str], int] = len,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch_size < 1:
            raise ModelError("max_batch_size must be at least 1")
        self.classifier = classifier
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self._length = length
        self._clock = clock
        self._queue: deque[_Item] = deque()
        self._has_items = asyncio.Event()
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: list[_Item] = []
        # One model thread: the model is not re-entrant and torch uses its own thread pool.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finpulse-model")
        self.stats = EngineStats()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="engine")

    async def __aenter__(self) -> InferenceEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def classify(self, text: str) -> Prediction:
        if self._task is None or self._task.done():
            raise ModelError("inference engine is not running (call start())")
        fut: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self._queue.append(_Item(text, fut, self._clock()))
        self._has_items.set()
        self._arrived.set()
        return await fut

    async def classify_many(self, texts: Sequence[str]) -> list[Prediction | BaseException]:
        """Classify ``texts``; each result is a Prediction or the exception for that item."""
        return list(
            await asyncio.gather(*(self.classify(t) for t in texts), return_exceptions=True)
        )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        pending = [*self._in_flight, *self._queue]
        self._in_flight, self._queue = [], deque()
        for item in pending:
            if not item.future.done():
                item.future.set_exception(ModelError("inference engine closed"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _next_batch(self) -> list[_Item]:
        await self._has_items.wait()
        first = self._queue[0].enqueued
        while len(self._queue) < self.max_batch_size:
            remaining = first + self.max_wait - self._clock()
            if remaining <= 0:
                break
            self._arrived.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
            except TimeoutError:
                break
        batch: list[_Item] = []
        while self._queue and len(batch) < self.max_batch_size:
            item = self._queue.popleft()
            if not item.future.done():  # a cancelled caller is simply dropped
                batch.append(item)
        if not self._queue:
            self._has_items.clear()
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            batch.sort(key=lambda it: self._length(it.text))
            self._in_flight = batch
            texts = [it.text for it in batch]
            started = time.perf_counter()
            try:
                results: list[Prediction | BaseException] = list(
                    await loop.run_in_executor(self._executor, self._predict, texts)
                )
            except Exception as exc:  # isolate: retry one by one
                log.warning("batch of %d failed (%s); retrying items singly", len(texts), exc)
                results = []
                for t in texts:
                    try:
                        results.extend(
                            await loop.run_in_executor(self._executor, self._predict, [t])
                        )
                    except Exception as one_exc:
                        results.append(one_exc)
            self.stats.busy_s += time.perf_counter() - started
            self.stats.batches += 1
            self.stats.items += len(batch)
            for item, res in zip(batch, results, strict=True):
                if item.future.done():
                    continue
                if isinstance(res, BaseException):
                    self.stats.failed += 1
                    item.future.set_exception(res)
                else:
                    item.future.set_result(res)
            self._in_flight = []

    def _predict(self, texts: list[str]) -> list[Prediction]:
        out = self.classifier.predict(texts)
        if len(out) != len(texts):
            raise ModelError(f"classifier returned {len(out)} predictions for {len(texts)} texts")
        return out
