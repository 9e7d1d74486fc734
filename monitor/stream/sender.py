"""Where the worker's agents send their records (scored, aggregation batches, window stats,
alerts): Faust's producer on a real Kafka cluster, a second, batching producer on the
embedded broker.

The embedded broker (Tansu) needs Faust's producer to send one record per batch
(``producer_max_batch_size=1``, docs/operations.md), or table changelog recovery loses state. That
limit costs a broker round trip per record and partition: at full speed the worker spent most
of its time waiting in ``MessageAccumulator.add_message`` (docs/performance.md). Only the
changelogs need it, so on the embedded broker every other record goes through this sender's
own aiokafka producer with ordinary multi-record batches (the same batches ``finpulse
replay`` has always sent to the documents topic). On real Kafka there is no such limit and the
records go through Faust's producer, with its settings, as before.

:meth:`Sender.send_all` sends records in order and waits for the broker's acks, so an agent
has its outputs acknowledged before its input events are (at-least-once: a record is never
lost between a crash and the commit).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

log = logging.getLogger(__name__)


class Sender:
    def __init__(self, bootstrap: str | None, *, batch_bytes: int = 256 * 1024) -> None:
        # bootstrap None: send through Faust's producer (topic.send).
        self.bootstrap = bootstrap
        self.batch_bytes = batch_bytes
        self._producer: Any = None
        self._lock: asyncio.Lock | None = None

    async def start(self) -> None:
        if self.bootstrap is None or self._producer is not None:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._producer is not None:
                return
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap.split(","),
                client_id="finpulse-worker-data",
                acks="all",
                linger_ms=2,
                max_batch_size=self.batch_bytes,
                enable_idempotence=False,
            )
            await producer.start()
            self._producer = producer

    async def send(self, topic: Any, key: bytes, value: bytes) -> Awaitable[Any]:
        """Queue one record; returns the future of its ack (await it, or :meth:`sent`)."""
        if self.bootstrap is None:
            fut: Awaitable[Any] = await topic.send(key=key, value=value)
            return fut
        if self._producer is None:
            await self.start()
        fut = await self._producer.send(topic.get_topic_name(), value=value, key=key)
        return fut

    async def send_all(self, items: Iterable[tuple[Any, bytes, bytes]]) -> None:
        """Send (topic, key, value) records in order and wait for all their acks."""
        futs = [await self.send(topic, key, value) for topic, key, value in items]
        if futs:
            await asyncio.gather(*futs)

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()
