"""The Faust application factory: topics and the classify agent (storing, windows, detection
and alerting are attached by ``monitor.stream.alerts.register``).

``create_app(settings)`` builds a fresh app (no module globals), so tests build their own.
Values on every topic are raw bytes written by ``Record.to_bytes()``; agents decode with
``Schema.from_bytes``. The classifier is loaded when the worker starts, in a thread, never at
import time and never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import faust

from foundation import metrics
from foundation.errors import BrokerError
from foundation.kafka import topics as topic_names
from foundation.language import language_supported, skip_reason
from foundation.paths import worker_dir
from foundation.schemas import Document, SchemaError, ScoredDocument
from foundation.settings import Settings
from foundation.store import Store
from models.base import TextClassifier
from monitor.core.scoring import scored, skipped
from monitor.stream.batches import batch_value
from monitor.stream.heap import register_trim
from monitor.stream.lag import register_lag, unread_report
from monitor.stream.memtrace import register_memtrace
from monitor.stream.ordered import OrderedInput
from monitor.stream.sender import Sender

log = logging.getLogger(__name__)

PRODUCTION_BATCH_BYTES = 256 * 1024
PRODUCTION_LINGER_S = 0.005


@dataclass(frozen=True)
class Topics:
    documents: Any
    scored: Any
    window_stats: Any
    alerts: Any
    alerts_dead: Any
    # Internal: classify -> aggregate, one partition (monitor.stream.alerts).
    aggregate: Any = None


def build_topics(app: faust.App, settings: Settings) -> Topics:
    def topic(name: str) -> Any:
        return app.topic(
            settings.broker.topic(name),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.broker.partitions,
        )

    from monitor.stream.alerts import aggregate_topic

    return Topics(
        documents=topic(topic_names.DOCUMENTS),
        scored=topic(topic_names.SCORED),
        window_stats=topic(topic_names.WINDOW_STATS),
        alerts=topic(topic_names.ALERTS),
        alerts_dead=topic(topic_names.ALERTS_DEAD),
        aggregate=aggregate_topic(app, settings),
    )


def broker_url(settings: Settings) -> str:
    """The kafka:// URL the app connects to; the embedded broker's address must be resolved."""
    from foundation.kafka.broker import resolve_bootstrap

    return "kafka://" + ",".join(
        s.removeprefix("kafka://") for s in resolve_bootstrap(settings).split(",")
    )


class _Model:
    """Loads the classifier once, in a thread, and hands out the batching engine."""

    def __init__(self, settings: Settings, classifier: TextClassifier | None) -> None:
        self.settings = settings
        self.classifier = classifier
        self._engine: Any = None
        self._lock: asyncio.Lock | None = None
        self.in_flight = 0  # batches being classified and sent

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for the batch in flight, so a stop does not fail its documents."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)

    async def engine(self) -> Any:
        if self._engine is not None:
            return self._engine
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._engine is None:
                loop = asyncio.get_running_loop()
                if self.classifier is None:
                    from models.registry import load_classifier

                    log.info("loading classifier (%s)", self.settings.model.path or "shipped")
                    self.classifier = await loop.run_in_executor(
                        None, load_classifier, self.settings.model
                    )
                    log.info("classifier %s loaded", self.classifier.name)
                self._engine = await self._make_engine(self.classifier)
        return self._engine

    async def _make_engine(self, classifier: TextClassifier) -> Any:
        from models.engine import InferenceEngine

        engine = InferenceEngine(
            classifier,
            max_batch_size=self.settings.model.max_batch_size,
            max_wait_ms=self.settings.model.max_wait_ms,
        )
        await engine.start()
        return engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.close()
            self._engine = None


async def classify_batch(
    docs: Sequence[Document], engine: Any, model_name: str, languages: Sequence[str]
) -> list[ScoredDocument]:
    """Score a batch; unsupported languages and per-item model errors are passed on, unscored."""
    out: dict[int, ScoredDocument] = {}
    todo: list[int] = []
    for i, d in enumerate(docs):
        if language_supported(d.language, languages):
            todo.append(i)
        else:
            out[i] = skipped(d, skip_reason(d.language))
    if todo:
        with metrics.timed(metrics.MODEL_LATENCY):
            results = await engine.classify_many([docs[i].text for i in todo])
        for i, res in zip(todo, results, strict=True):
            if isinstance(res, BaseException):
                log.error("classifying document %s failed: %s", docs[i].id, res)
                out[i] = skipped(docs[i], "model-error")
            else:
                out[i] = scored(docs[i], res, model_name)
    return [out[i] for i in range(len(docs))]


def create_app(
    settings: Settings,
    *,
    classifier: TextClassifier | None = None,
    store: Store | None = None,
) -> faust.App:
    """The stream application for ``settings``; ``classifier`` overrides the configured one."""
    embedded = settings.broker.embedded
    extra: dict[str, Any] = {}
    if embedded:
        # Tansu mis-reports end offsets of multi-record batches (docs/operations.md). Only
        # the changelogs go through this producer there (monitor/stream/sender.py).
        extra["producer_max_batch_size"] = 1
    else:
        # Real Kafka: every record goes through Faust's producer, in batches of up to
        # 256 KiB that wait up to 5 ms to fill (the client default is 16 KiB, no wait).
        extra["producer_max_batch_size"] = PRODUCTION_BATCH_BYTES
        extra["producer_linger"] = PRODUCTION_LINGER_S
    try:
        url = broker_url(settings)
    except BrokerError:
        url = "kafka://127.0.0.1:9092"  # placeholder; `finpulse worker` checks before starting
    datadir = worker_dir(settings.data_dir)
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    app_class: Any = faust.App
    if embedded:
        from monitor.stream.embedded import EmbeddedApp

        app_class = EmbeddedApp
    app = app_class(
        f"{settings.broker.topic_prefix}-monitor",
        broker=url,
        store="memory://",
        # Faust's own files (else ./<app id>-data in whatever folder the worker runs in).
        datadir=str(datadir),
        topic_partitions=settings.broker.partitions,
        topic_replication_factor=settings.broker.replication_factor,
        processing_guarantee="at_least_once",
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        web_enabled=False,
        web_host="127.0.0.1",
        autodiscover=False,
        # On stop, do not wait for buffered (unacked) events: they are redelivered after a
        # restart (at-least-once), and waiting would hold Ctrl-C for the commit timeout.
        stream_wait_empty=False,
        **extra,
    )
    topics = build_topics(app, settings)
    store = store if store is not None else Store.from_settings(settings.store)
    model = _Model(settings, classifier)
    stats = {"classified": 0, "skipped": 0, "bad": 0}
    # Up to four model batches per take: the engine runs them back to back while the agent
    # would otherwise leave the model idle during each batch's sends and acks.
    max_batch = max(
        settings.model.max_batch_size,
        min(4 * settings.model.max_batch_size, settings.stream.batch_size),
    )
    within = max(settings.model.max_wait_ms, 1.0) / 1000.0
    languages = list(settings.model.languages)
    # Embedded broker: data records through a batching producer of their own; Faust's
    # one-record batches stay for the changelogs (monitor/stream/sender.py).
    data_sender = Sender(url.removeprefix("kafka://") if embedded else None)

    @app.task
    async def load_model() -> None:
        # Start loading at worker start so the first batch does not wait for it.
        await model.engine()

    ordered = OrderedInput(app, "classify")
    # Last documents offset classified per partition: with the consumer's end offsets, how
    # far behind each partition is (the aggregation's lag-aware idleness).
    done: dict[int, int] = {}

    @app.agent(topics.documents, name="classify")
    async def classify(stream: Any) -> None:
        async for taken in stream.take_events(max_batch, within=within):
            events = ordered.filter(taken)
            docs: list[Document] = []
            where: list[tuple[int, int]] = []  # (partition, offset) of each document
            # Per input partition, the latest Kafka timestamp read (when it was published).
            arrived: dict[int, float] = {}
            for ev in events:
                try:
                    docs.append(Document.from_bytes(ev.value))
                except SchemaError as exc:
                    stats["bad"] += 1
                    metrics.DOCUMENTS_BAD.labels("classify").inc()
                    log.error("dropping undecodable document payload: %s", exc)
                    continue
                part = ev.message.partition
                where.append((part, ev.message.offset))
                stamp = ev.message.timestamp
                if isinstance(stamp, int | float) and stamp > arrived.get(part, 0.0):
                    arrived[part] = float(stamp)
            metrics.DOCUMENTS_IN.labels("classify").inc(len(events))
            if not docs:
                continue
            metrics.BATCH_SIZE.labels("classify").observe(len(docs))
            model.in_flight += 1
            try:
                engine = await model.engine()
                name = getattr(model.classifier, "name", "unknown")
                results = await classify_batch(docs, engine, name, languages)
                blobs = [sd.to_bytes() for sd in results]
                # One record per document on the scored topic (the contract), and one per
                # input partition of this batch to the aggregation, tagged with that
                # partition for its per-partition watermarks (documents in partition order).
                by_part: dict[int, tuple[list[int], list[bytes]]] = {}
                for (part, offset), blob in zip(where, blobs, strict=True):
                    offs, bl = by_part.setdefault(part, ([], []))
                    offs.append(offset)
                    bl.append(blob)
                # Every record taken counts as classified, undecodable ones too (else a bad
                # last record would leave its partition "behind" until the next commit).
                for ev in events:
                    q = ev.message.partition
                    done[q] = max(ev.message.offset, done.get(q, -1))
                unread = unread_report(app.consumer, events[0].message.topic, done)
                # All queued, then all acks awaited (monitor.stream.sender).
                await data_sender.send_all(
                    [
                        *(
                            (topics.scored, sd.id.encode(), blob)
                            for sd, blob in zip(results, blobs, strict=True)
                        ),
                        *(
                            (
                                topics.aggregate,
                                b"p%d" % part,
                                batch_value(part, offs, bl, arrived.get(part), unread),
                            )
                            for part, (offs, bl) in by_part.items()
                        ),
                    ]
                )
            finally:
                model.in_flight -= 1
            metrics.DOCUMENTS_OUT.labels("classify").inc(len(results))
            for sd in results:
                stats["classified" if sd.scored else "skipped"] += 1
                metrics.count_skipped(sd)

    @app.timer(30.0)
    async def report() -> None:
        log.info(
            "classified %(classified)d, skipped %(skipped)d, bad %(bad)d",
            stats,
        )

    ready = {"logged": False}

    @app.on_rebalance_complete.connect
    async def _ready(sender: Any, **kwargs: Any) -> None:
        # The line tests and the demo supervisor wait for: partitions are assigned.
        if not ready["logged"]:
            ready["logged"] = True
            log.info("worker ready: consuming %s", settings.broker.topic(topic_names.DOCUMENTS))

    @app.on_before_shutdown.connect
    async def _close(sender: Any, **kwargs: Any) -> None:
        # Let the batch being classified finish first: closing the engine under it would
        # store its documents as model errors. Bounded below the worker's stop watchdog.
        await model.drain(timeout=5.0)
        await model.close()
        await data_sender.stop()

    app.finpulse_topics = topics  # type: ignore[attr-defined]
    app.finpulse_store = store  # type: ignore[attr-defined]
    app.finpulse_stats = stats  # type: ignore[attr-defined]
    app.finpulse_sender = data_sender  # type: ignore[attr-defined]

    from monitor.stream import alerts as stream_alerts

    stream_alerts.register(app, settings, topics, store, sender=data_sender)
    register_lag(app)
    register_trim(app)  # FINPULSE_MALLOC_TRIM=SECONDS, default once a minute
    register_memtrace(app)  # FINPULSE_MEMTRACE=SECONDS only
    return app
