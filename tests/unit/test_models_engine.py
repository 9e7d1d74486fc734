"""The batching inference engine: size/time flushing, ordering, error isolation, cancellation."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence

import pytest

from foundation.errors import ModelError
from models.base import Prediction
from models.engine import InferenceEngine


class RecordingClassifier:
    """Deterministic: sentiment encodes the text; records each batch it was given."""

    name = "recording"

    def __init__(self, delay: float = 0.0, poison: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self.delay = delay
        self.poison = poison

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.batches.append(list(texts))
        self.threads.add(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        if self.poison and any(self.poison in t for t in texts):
            raise RuntimeError(f"cannot score {self.poison}")
        return [Prediction(t, {t: 1.0}, "neutral", {"neutral": 1.0}) for t in texts]


def run(coro):
    return asyncio.run(coro)


def test_flushes_at_max_batch_size_without_waiting():
    clf = RecordingClassifier()

    async def main():
        async with InferenceEngine(clf, max_batch_size=4, max_wait_ms=10_000) as eng:
            t0 = time.monotonic()
            res = await eng.classify_many([f"t{i}" for i in range(8)])
            return res, time.monotonic() - t0

    res, elapsed = run(main())
    assert [r.topic for r in res] == [f"t{i}" for i in range(8)]
    assert [len(b) for b in clf.batches] == [4, 4]
    assert elapsed < 5  # far below max_wait: size, not time, flushed


def test_flushes_after_max_wait_when_batch_is_not_full():
    clf = RecordingClassifier()

    async def main():
        async with InferenceEngine(clf, max_batch_size=64, max_wait_ms=100) as eng:
            t0 = time.monotonic()
            res = await eng.classify_many(["a", "b", "c"])
            return res, time.monotonic() - t0

    res, elapsed = run(main())
    assert len(res) == 3 and clf.batches == [["a", "b", "c"]]
    assert 0.09 <= elapsed < 2.0


def test_results_go_to_their_callers_although_batch_is_sorted_by_length():
    clf = RecordingClassifier()
    texts = ["a much longer text here", "b", "medium text", "xx"]

    async def main():
        async with InferenceEngine(clf, max_batch_size=4, max_wait_ms=50) as eng:
            return await eng.classify_many(texts)

    res = run(main())
    assert [r.topic for r in res] == texts
    assert clf.batches == [sorted(texts, key=len)]


def test_an_error_fails_only_its_own_item():
    clf = RecordingClassifier(poison="BAD")

    async def main():
        async with InferenceEngine(clf, max_batch_size=8, max_wait_ms=20) as eng:
            return await eng.classify_many(["ok1", "BAD one", "ok2"]), eng.stats

    res, stats = run(main())
    assert isinstance(res[1], RuntimeError)
    assert res[0].topic == "ok1" and res[2].topic == "ok2"
    assert stats.failed == 1


def test_cancelled_caller_is_dropped_and_others_are_served():
    clf = RecordingClassifier()

    async def main():
        async with InferenceEngine(clf, max_batch_size=8, max_wait_ms=100) as eng:
            doomed = asyncio.create_task(eng.classify("cancel-me"))
            keep = asyncio.create_task(eng.classify("keep"))
            await asyncio.sleep(0.01)
            doomed.cancel()
            return await keep, doomed

    kept, doomed = run(main())
    assert kept.topic == "keep"
    assert doomed.cancelled()
    assert all("cancel-me" not in b for b in clf.batches)


def test_model_runs_off_the_event_loop():
    clf = RecordingClassifier(delay=0.3)
    ticks: list[float] = []

    async def ticker():
        for _ in range(10):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    async def main():
        async with InferenceEngine(clf, max_batch_size=2, max_wait_ms=1) as eng:
            await asyncio.gather(eng.classify_many(["a", "b"]), ticker())

    run(main())
    assert threading.main_thread().name not in clf.threads
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.2  # the loop kept ticking while the model slept 0.3 s


def test_close_fails_pending_and_classify_after_close_raises():
    clf = RecordingClassifier(delay=0.2)

    async def main():
        eng = InferenceEngine(clf, max_batch_size=1, max_wait_ms=0)
        await eng.start()
        first = asyncio.create_task(eng.classify("first"))
        second = asyncio.create_task(eng.classify("second"))
        await asyncio.sleep(0.05)
        await eng.close()
        with pytest.raises(ModelError):
            await eng.classify("late")
        return await asyncio.gather(first, second, return_exceptions=True)

    results = run(main())
    assert all(isinstance(r, ModelError) for r in results)  # none left hanging


def test_rejects_bad_batch_size():
    with pytest.raises(ModelError):
        InferenceEngine(RecordingClassifier(), max_batch_size=0)
