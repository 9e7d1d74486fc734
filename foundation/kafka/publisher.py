"""The one document publisher: aiokafka on its own event-loop thread, behind a synchronous
``publish``/``flush``/``close`` facade (ingest, replay and the benches all use it).

acks=all, key = document id. A delivery that fails is re-sent once at ``flush`` and then
reported (counted, logged and listed by document id); it is never dropped silently. The
facade is thread-safe: ingest publishes from one worker thread per source.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from foundation.errors import BrokerError
from foundation.schemas import Document

log = logging.getLogger(__name__)


@dataclass
class PublishStats:
    published: int = 0
    failed_ids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failed_ids)


class Publisher:
    """Publishes documents to ``topic``; ``flush()`` waits for every ack.

    Documents are handed to the loop in chunks of ``chunk`` (use 1 when pacing, so each
    document leaves when it is due). ``batch_bytes`` is the producer's batch size; unset, it
    is one record per batch on the embedded broker (``embedded``: Tansu mis-reports end
    offsets of multi-record batches, docs/operations.md) and aiokafka's default elsewhere.
    A bulk replay passes 256 KB: the documents topic is read by a plain consumer, which
    those offsets do not affect (tests/integration/test_runtime_replay_month.py).
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        embedded: bool = False,
        client_id: str = "finpulse-ingest",
        batch_bytes: int | None = None,
        linger_ms: int | None = None,
        chunk: int = 500,
        start_timeout: float = 15.0,
    ) -> None:
        if batch_bytes is None:
            batch_bytes = 1 if embedded else 16 * 1024
        if linger_ms is None:
            linger_ms = 0 if batch_bytes <= 1 else 10
        self.topic = topic
        self.stats = PublishStats()
        self.chunk = max(1, chunk)
        self._lock = threading.RLock()
        self._buf: list[Document] = []
        self._pending: list[Any] = []  # concurrent futures of chunk sends
        self._failed: list[tuple[Document, BaseException]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"{client_id}-producer", daemon=True
        )
        self._thread.start()
        servers = [s.strip().removeprefix("kafka://") for s in bootstrap.split(",")]

        async def start() -> Any:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(
                bootstrap_servers=servers,
                client_id=client_id,
                acks="all",
                linger_ms=linger_ms,
                max_batch_size=batch_bytes,
                enable_idempotence=False,
                request_timeout_ms=30_000,
            )
            try:
                await asyncio.wait_for(producer.start(), timeout=start_timeout)
            except BaseException:
                await producer.stop()
                raise
            return producer

        try:
            self._producer = self._run(start())
        except Exception as exc:
            self._stop_loop()
            raise BrokerError(f"cannot connect to Kafka at {bootstrap}: {exc}") from None

    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _send_chunk(self, docs: list[Document]) -> list[tuple[Document, BaseException]]:
        futs = []
        failed: list[tuple[Document, BaseException]] = []
        for d in docs:
            try:
                futs.append(
                    (
                        d,
                        await self._producer.send(
                            self.topic, key=d.id.encode(), value=d.to_bytes()
                        ),
                    )
                )
            except Exception as exc:  # e.g. a record too large: fails this document only
                failed.append((d, exc))
        results = await asyncio.gather(*(f for _, f in futs), return_exceptions=True)
        for (d, _), res in zip(futs, results, strict=True):
            if isinstance(res, BaseException):
                failed.append((d, res))
        return failed

    def _dispatch(self) -> None:
        if self._buf:
            docs, self._buf = self._buf, []
            self._pending.append(
                asyncio.run_coroutine_threadsafe(self._send_chunk(docs), self._loop)
            )
        # Bound memory: wait for old chunks once many are in flight.
        while len(self._pending) > 8:
            self._failed.extend(self._pending.pop(0).result())

    def publish(self, doc: Document) -> None:
        with self._lock:
            self._buf.append(doc)
            self.stats.published += 1
            if len(self._buf) >= self.chunk:
                self._dispatch()

    def flush(self, timeout: float = 120.0) -> PublishStats:
        """Wait for every ack; re-send what failed once, then report what is still missing."""
        with self._lock:
            self._dispatch()
            for fut in self._pending:
                self._failed.extend(fut.result(timeout))
            self._pending.clear()
            self._run(self._producer.flush(), timeout)
            failed, self._failed = self._failed, []
            if failed:
                log.warning("re-sending %d documents whose delivery failed", len(failed))
                failed = self._run(self._send_chunk([d for d, _ in failed]), timeout)
            for d, exc in failed:
                log.error("document %s NOT delivered to %s: %s", d.id, self.topic, exc)
                self.stats.failed_ids.append(d.id)
                self.stats.published -= 1
            return self.stats

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def close(self) -> None:
        try:
            self._run(self._producer.stop(), 30)
        finally:
            self._stop_loop()
