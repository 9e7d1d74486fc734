"""Publishing documents to Kafka with kafka-python: acks=all, retries, key = document id.

A delivery that still fails after the client's retries is retried here once more and then
reported (counted and logged with the document id); it is never dropped silently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from foundation.errors import BrokerError
from foundation.schemas import Document

log = logging.getLogger(__name__)


@dataclass
class PublishStats:
    published: int = 0
    failed: int = 0
    failed_ids: list[str] = field(default_factory=list)


class Publisher:
    """Synchronous-looking facade over KafkaProducer; ``flush()`` waits for every ack."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        embedded: bool = False,
        client_id: str = "finpulse-ingest",
        request_timeout_ms: int = 30_000,
        batch_size: int | None = None,
        bootstrap_timeout_ms: int = 10_000,
    ) -> None:
        from kafka import KafkaProducer, errors
        from kafka.errors import KafkaError

        # kafka-python 3 dropped NoBrokersAvailable (it raises KafkaTimeoutError instead).
        no_brokers = getattr(errors, "NoBrokersAvailable", errors.KafkaTimeoutError)

        self.topic = topic
        self.stats = PublishStats()
        self._lock = threading.Lock()
        self._pending: dict[str, Document] = {}
        opts: dict[str, object] = {
            "bootstrap_servers": bootstrap.removeprefix("kafka://").split(","),
            "client_id": client_id,
            "acks": "all",
            "retries": 5,
            "retry_backoff_ms": 200,
            "request_timeout_ms": request_timeout_ms,
            "max_in_flight_requests_per_connection": 1,
            "linger_ms": 5,
        }
        if "bootstrap_timeout_ms" in KafkaProducer.DEFAULT_CONFIG:
            opts["bootstrap_timeout_ms"] = bootstrap_timeout_ms
        if batch_size is not None:
            # Explicit batch size (replay measures multi-record batches as safe for documents:
            # tests/integration/test_runtime_replay_month.py counts every record on the topic).
            opts["batch_size"] = batch_size
            if batch_size <= 1:
                opts["linger_ms"] = 0
        elif embedded:
            # The embedded broker mis-reports end offsets of multi-record batches (BROKER.md).
            opts["batch_size"] = 1
            opts["linger_ms"] = 0
        try:
            self._producer = KafkaProducer(**opts)
        except no_brokers:
            raise BrokerError(f"no Kafka broker reachable at {bootstrap}") from None
        except KafkaError as exc:
            raise BrokerError(f"cannot connect to Kafka at {bootstrap}: {exc}") from None

    def publish(self, doc: Document) -> None:
        with self._lock:
            self._pending[doc.id] = doc
        fut = self._producer.send(self.topic, key=doc.id.encode(), value=doc.to_bytes())
        fut.add_callback(self._ok, doc.id)
        fut.add_errback(self._failed, doc)

    def publish_many(self, docs: Iterable[Document]) -> None:
        for d in docs:
            self.publish(d)

    def _ok(self, doc_id: str, _meta: object) -> None:
        with self._lock:
            if self._pending.pop(doc_id, None) is not None:
                self.stats.published += 1

    def _failed(self, doc: Document, exc: BaseException) -> None:
        log.warning("delivery of document %s failed: %s", doc.id, exc)

    def flush(self, timeout: float = 60.0) -> PublishStats:
        """Wait for every ack; re-send what failed once, then report what is still missing."""
        self._producer.flush(timeout=timeout)
        with self._lock:
            retry = list(self._pending.values())
        if retry:
            log.warning("re-sending %d documents whose delivery failed", len(retry))
            for d in retry:
                fut = self._producer.send(self.topic, key=d.id.encode(), value=d.to_bytes())
                fut.add_callback(self._ok, d.id)
            self._producer.flush(timeout=timeout)
        with self._lock:
            for doc_id in self._pending:
                log.error("document %s NOT delivered to %s", doc_id, self.topic)
                self.stats.failed += 1
                self.stats.failed_ids.append(doc_id)
            self._pending.clear()
        return self.stats

    def close(self) -> None:
        self._producer.close(timeout=10)
