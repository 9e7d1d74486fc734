"""Stream side of alerting: aggregation, detection and notification agents on the Faust app.

``register`` is called by ``monitor.stream.app.create_app``; the windowing, detection and alert
lifecycle it drives are the pure modules beside it (``monitor.core.pipeline``), the very code
the backtest runs.

Topology (kept simple and correct rather than wide):

  documents (N partitions) --classify--> scored (N partitions; for other consumers)
                                    +--> <prefix>.monitor-agg (1 partition): one record per
                                          classify batch and input partition, tagged with it
  monitor-agg --monitor-aggregate--> store (every document) + table monitor-state
                                     (changelog) + window-stats + alerts
  alerts --monitor-notify--> store.outbox --delivery loop per sink--> sinks / alerts.dead

Windows need every document of a scope in one place, and detection needs one event-time
watermark; a single-partition internal topic gives both without a per-scope regroup (which
measured at ~2k events/s with tables on the 2-core box). The watermark is the minimum
over the *input* partitions' event clocks (monitor.core.watermarks), so a full-speed replay,
whose partitions the worker reads at different paces, gives the backtest's windows: no
document is late because another partition ran ahead. A document with an implausible time
(foundation.eventtime, judged against its record's timestamp) or a lone jump far ahead of its
partition is counted per source and kept out of the windows: it never moves the watermark.
The state (open windows, baselines, alert lifecycle per scope, plus the watermarks and the
last applied offset) lives in a Faust table whose changelog lets a restarted worker resume
where it stopped: no window is lost, no alert fires a second time, and records redelivered
after the restart (at-least-once) are skipped by offset, neither applied twice nor counted
late. When the table comes back empty but the store still lists firing alerts (the embedded
broker keeps nothing across its own restart), those are re-armed from the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from typing import Any

from foundation import metrics
from foundation.retry import backoff_delay
from foundation.schemas import (
    Alert,
    DeadLetterRecord,
    SchemaError,
    ScoredDocument,
    WindowStat,
)
from foundation.settings import Settings
from foundation.store import Store
from ingest.tickers import default_index, default_sector_lookup
from monitor.core.pipeline import META_KEY, AlertPipeline
from monitor.core.watermarks import PartitionWatermarks
from monitor.stream.batches import read_batch
from monitor.stream.offload import Offload
from monitor.stream.ordered import OrderedInput
from monitor.stream.sender import Sender

log = logging.getLogger(__name__)

AGG_TOPIC = "monitor-agg"
STATE_TABLE = "monitor-state"
# The stream shell's own state in the table: watermarks and the last applied offsets.
STREAM_KEY = "__stream__"
# Scope states are written in this many table records, not one per scope: every scope changes
# at each window boundary, and on the embedded broker each changelog record costs a broker
# round trip (one-record batches, docs/operations.md), which made the changelog the bottleneck.
STATE_SHARDS = 32


def stored_firing_alerts(store: Store) -> list[Alert]:
    """Alerts whose latest stored row is firing (the store's view after a broker loss)."""
    out = []
    for payload in store.firing_alert_payloads():
        try:
            out.append(Alert.model_validate(payload))
        except ValueError:
            log.warning("ignoring an unreadable stored alert row")
    return out


def dead_letter_bytes(alert: Alert, sink: str, error: str, attempts: int) -> bytes:
    """Value on the dead-letter topic: a versioned record of the alert plus where and why
    delivery failed."""
    return DeadLetterRecord(sink=sink, error=error, attempts=attempts, alert=alert).to_bytes()


def shard_of(scope_key: str) -> str:
    """The table key holding a scope's state: scopes are grouped into STATE_SHARDS records."""
    return f"__shard{zlib.crc32(scope_key.encode()) % STATE_SHARDS:02d}__"


def load_shards(table: Any, mirror: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Scope dumps from the table (shards, and per-scope keys of older versions); fills
    ``mirror`` with the shards. Returns (scope key -> dump, the older per-scope keys)."""
    items: dict[str, Any] = {}
    legacy: list[str] = []
    for k, v in list(table.items()):
        if k in (META_KEY, STREAM_KEY) or not v:
            continue
        if k.startswith("__shard"):
            mirror[k] = dict(v)
        else:
            legacy.append(k)
            items[k] = v
    for key in legacy:
        mirror.setdefault(shard_of(key), {}).setdefault(key, items[key])
    for shard in mirror.values():
        items.update(shard)
    return items, legacy


def aggregate_topic(app: Any, settings: Any) -> Any:
    """The internal single-partition topic classify sends batches to (monitor.stream.batches)."""
    return app.topic(
        settings.broker.topic(AGG_TOPIC),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=1,
        internal=True,
    )


def _dump_doc(doc: ScoredDocument) -> Any:
    return json.loads(doc.to_bytes())


def _load_doc(d: Any) -> ScoredDocument:
    return ScoredDocument.model_validate(d)


def register(
    app: Any, settings: Settings, topics: Any, store: Store, sender: Sender | None = None
) -> None:
    """Attach the aggregate/detect/notify agents to ``app``; records go out via ``sender``
    (monitor.stream.sender; Faust's producer when None)."""
    if sender is None:
        sender = Sender(None)
    agg_topic = topics.aggregate if topics.aggregate is not None else aggregate_topic(app, settings)
    import faust

    table = app.Table(
        STATE_TABLE,
        default=None,
        partitions=1,
        # Writes happen on batches from stream.take(), outside a single event's context;
        # with one partition the partitioner always picks partition 0, the agent's own.
        use_partitioner=True,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
    )
    pool = Offload("finpulse-alert-store")
    holder: dict[str, Any] = {}
    # The table value of each shard (scope key -> dump), and the shards changed this batch.
    mirror: dict[str, dict[str, Any]] = {}
    dirty: set[str] = set()
    # The same sector tables the backtest uses (ingest/data/tickers.csv).
    sectors = default_sector_lookup()
    known_names = default_index().name_tokens()
    counters = {
        "stored": 0,
        "windows": 0,
        "alerts": 0,
        "late": 0,
        "bad": 0,
        "redelivered": 0,
        "outliers": 0,
        "implausible": 0,
    }
    # Documents kept out of the windows for an implausible time: reason -> source -> count.
    refused: dict[str, dict[str, int]] = {}
    ss = settings.stream
    batch = ss.batch_size
    within = ss.batch_within_ms / 1000.0

    def pipeline() -> AlertPipeline:
        p = holder.get("p")
        if p is None:
            # Every changed window goes out from out.updated (drained before windows close),
            # so the closed windows' final stats are not built a second time.
            p = AlertPipeline(
                settings,
                track_updates=True,
                sectors=sectors,
                known_names=known_names,
                closed_stats=False,
            )
            items, legacy = load_shards(table, mirror)
            meta = table.get(META_KEY)
            p.load(meta, items)
            for key in legacy:  # per-scope keys of older versions: moved into shards
                table.pop(key, None)
                dirty.add(shard_of(key))
            if not items and meta is None:
                try:
                    n = p.restore_alerts(stored_firing_alerts(store))
                except Exception as exc:  # the store is optional for resuming
                    log.warning("could not read firing alerts from the store: %s", exc)
                    n = 0
                if n:
                    log.info("re-armed %d firing alert(s) from the store", n)
            else:
                log.info("resumed alert state: %d scope(s) from the changelog", len(items))
            wm: PartitionWatermarks[ScoredDocument] = PartitionWatermarks(
                range(settings.broker.partitions),
                idle_s=ss.idle_partition_s,
                max_jump_s=ss.max_jump_s,
                confirm=ss.jump_confirm,
            )
            saved = table.get(STREAM_KEY) or {}
            wm.load(saved.get("wm"), _load_doc)
            holder["p"], holder["wm"] = p, wm
            holder["offset"] = saved.get("offset")
            # Last documents offset applied, per documents partition.
            holder["inputs"] = dict(saved.get("inputs") or {})
        return p

    @app.on_partitions_revoked.connect
    async def _forget_state(sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        # Another worker may own the aggregation partition until it comes back here; the
        # in-memory pipeline is rebuilt from the (then current) table on the next batch.
        holder.clear()
        mirror.clear()
        dirty.clear()

    def refuse(doc: ScoredDocument, reason: str) -> None:
        per = refused.setdefault(reason, {})
        src = doc.document.source
        per[src] = per.get(src, 0) + 1
        counters["implausible" if reason in ("future", "too-old") else "outliers"] += 1
        metrics.EVENT_TIME_REFUSED.labels(reason, src).inc()
        if per[src] <= 3:  # the first few per source and reason; the counts say the rest
            log.warning(
                "document %s from %s kept out of the windows: published %s is %s",
                doc.id,
                src,
                doc.document.published.isoformat(),
                "an outlier in its partition" if reason == "outlier" else reason,
            )

    agg_input = OrderedInput(app, "monitor-aggregate")

    @app.agent(agg_topic, name="monitor-aggregate")
    async def aggregate(stream: Any) -> None:
        async for taken in stream.take_events(batch, within=within):
            events = agg_input.filter(taken)
            if not events:
                continue
            p = pipeline()
            wm: PartitionWatermarks[ScoredDocument] = holder["wm"]
            last = holder.get("offset")
            inputs: dict[str, int] = holder["inputs"]
            batches = []
            for ev in events:
                try:
                    part, offsets, docs, bad, arrival, unread = read_batch(ev.value)
                except SchemaError as exc:
                    counters["bad"] += 1
                    log.error("dropping undecodable aggregation record: %s", exc)
                    continue
                counters["bad"] += bad
                stamp = arrival if arrival is not None else ev.message.timestamp
                batches.append((ev.message.offset, stamp, part, offsets, docs, unread))
            # Every document is stored, redelivered ones too (idempotent upserts: the crash may
            # have come between the changelog and the store), while the windows are updated.
            all_docs = [d for b in batches for d in b[4]]
            stored = asyncio.ensure_future(pool.run(store.upsert_scored, all_docs))
            for offset, stamp, part, offsets, docs, unread in batches:
                if last is not None and offset <= last:
                    # Applied before a restart (the changelog has it): not again, not late.
                    counters["redelivered"] += len(docs)
                    metrics.REDELIVERED_DOCUMENTS.inc(len(docs))
                    continue
                last = offset
                arrival = stamp or time.time()
                # A partition read behind its end offset holds the clock (lag-aware idleness).
                for other, n in (unread or {}).items():
                    wm.lag(other, n)
                key = str(part)
                for doc, doc_offset in zip(docs, offsets, strict=True):
                    if doc_offset is not None:
                        seen = inputs.get(key)
                        if seen is not None and doc_offset <= seen:
                            # Classified again after a restart of the worker: already applied.
                            counters["redelivered"] += 1
                            metrics.REDELIVERED_DOCUMENTS.inc()
                            continue
                        inputs[key] = doc_offset
                    if not doc.scored:
                        continue
                    ts = doc.document.published.timestamp()
                    for item, verdict in wm.admit(part, ts, arrival, doc):
                        if verdict != "apply":
                            refuse(item, verdict)
                        elif p.agg.add(item, advance_clock=False) == "late":
                            counters["late"] += 1
                            metrics.LATE_DOCUMENTS.inc()
            holder["offset"] = last
            p.agg.advance_clock(wm.clock)
            out = p.advance()
            # Every changed window is in out.updated (drained before windows close), so a
            # closed window's final figures were already sent (out.closed is not built).
            stats: dict[tuple[str, str, Any], WindowStat] = {}
            for w in out.updated:
                stats[(w.scope_kind, w.scope, w.window_start)] = w
            await sender.send_all(
                [
                    *(
                        (topics.window_stats, f"{w.scope_kind}:{w.scope}".encode(), w.to_bytes())
                        for w in stats.values()
                    ),
                    *((topics.alerts, a.fingerprint.encode(), a.to_bytes()) for a in out.alerts),
                ]
            )
            for a in out.alerts:
                log.info("alert %s %s %s:%s", a.status, a.fingerprint, a.scope_kind, a.scope)
                metrics.ALERTS.labels(a.rule, a.status).inc()
            if stats:
                await pool.run(store.upsert_window_stats, list(stats.values()))
            if out.alerts:
                await pool.run(store.upsert_alerts, out.alerts)
            counters["windows"] += len(stats)
            counters["alerts"] += len(out.alerts)
            n_stored = await stored
            counters["stored"] += n_stored
            metrics.DOCUMENTS_IN.labels("store").inc(len(all_docs))
            metrics.DOCUMENTS_OUT.labels("store").inc(n_stored)
            # The state (and the offsets it has applied) goes to the changelog only once the
            # batch's outputs are acknowledged and stored: a crash in between re-applies the
            # batch and writes them again (idempotent), instead of a restored state that
            # skips the batch whose window figures never reached the store.
            for key, dump in p.take_changes().items():
                sh = shard_of(key)
                if dump is None:
                    if mirror.get(sh, {}).pop(key, None) is not None:
                        dirty.add(sh)
                else:
                    mirror.setdefault(sh, {})[key] = dump
                    dirty.add(sh)
            for sh in sorted(dirty):
                table[sh] = dict(mirror.get(sh, {}))
            dirty.clear()
            table[META_KEY] = p.dump_meta()
            table[STREAM_KEY] = {"wm": wm.dump(_dump_doc), "offset": last, "inputs": inputs}

    if settings.sinks:
        from monitor.stream.delivery import Deliverer

        async def to_dead_topic(alert: Alert, sink: str, error: str, attempts: int) -> None:
            await topics.alerts_dead.send(
                key=alert.fingerprint.encode(),
                value=dead_letter_bytes(alert, sink, error, attempts),
            )

        # Built here so a missing secret stops the worker at start with a ConfigError.
        deliverer = Deliverer.from_settings(
            settings, store, offload=Offload("finpulse-outbox"), dead_letter=to_dead_topic
        )

        if deliverer.refresh_interval_s:
            try:  # alerts firing before a restart are kept alive in Alertmanager too
                deliverer.remember(stored_firing_alerts(store))
            except Exception as exc:
                log.warning("could not read firing alerts from the store: %s", exc)

            @app.timer(deliverer.refresh_interval_s)
            async def keep_alive() -> None:
                await deliverer.refresh()

        notify_input = OrderedInput(app, "monitor-notify")

        @app.agent(topics.alerts, name="monitor-notify")
        async def notify(stream: Any) -> None:
            # Persist first (the outbox); the delivery loops send. The Kafka offset is
            # committed after the rows are stored, so an alert event is never lost.
            async for taken in stream.take_events(100, within=1.0):
                alerts = []
                for ev in notify_input.filter(taken):
                    try:
                        alerts.append(Alert.from_bytes(ev.value))
                    except SchemaError as exc:
                        log.error("dropping undecodable alert payload: %s", exc)
                failures = 0
                while alerts:
                    try:
                        await deliverer.enqueue(alerts)
                        break
                    except Exception as exc:  # the store is down: hold the batch, retry
                        failures += 1
                        delay = backoff_delay(failures, base=1.0, cap=60.0)
                        log.error(
                            "cannot persist %d notification(s) (%s); retrying in %.0f s",
                            len(alerts),
                            type(exc).__name__,
                            delay,
                        )
                        await asyncio.sleep(delay)

        @app.task
        async def deliver() -> None:
            await deliverer.run()

        @app.on_before_shutdown.connect
        async def _close_deliverer(sender: Any, **kwargs: Any) -> None:
            await deliverer.aclose()

    @app.timer(60.0)
    async def report() -> None:
        log.info(
            "monitor: %(stored)d documents stored, %(windows)d window updates, "
            "%(alerts)d alerts, %(late)d late, %(bad)d bad, "
            "%(redelivered)d redelivered, %(implausible)d implausible times, "
            "%(outliers)d outliers",
            counters,
        )
        if refused:
            log.info("kept out of the windows (reason -> source -> documents): %s", refused)

    @app.on_before_shutdown.connect
    async def _close_pool(sender: Any, **kwargs: Any) -> None:
        pool.close()

    app.finpulse_monitor = counters
    app.finpulse_refused = refused
