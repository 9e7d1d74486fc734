"""Stream side of alerting: aggregation, detection and notification agents on the Faust app.

``register`` is called by ``monitor.stream.app.create_app``; the windowing, detection and alert
lifecycle it drives are the pure modules beside it (``monitor.core.pipeline``), the very code
the backtest runs.

Topology (kept simple and correct rather than wide):

  scored (N partitions) --monitor-forward--> <prefix>.monitor-agg (1 partition, key "all")
  monitor-agg --monitor-aggregate--> table monitor-state (changelog) + window-stats + alerts
  alerts --monitor-notify--> store.outbox --delivery loop per sink--> sinks / alerts.dead

Windows need every document of a scope in one place, and detection needs one event-time
watermark; a single-partition internal topic gives both without a per-scope regroup (which
measured at ~2k events/s with tables on the 2-core box). The state (open windows,
baselines, alert lifecycle per scope, plus the watermark) lives in a Faust table whose
changelog lets a restarted worker resume where it stopped: no window is lost and no alert
fires a second time. When the table comes back empty but the store still lists firing alerts
(the embedded broker keeps nothing across its own restart), those are re-armed from the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from foundation import metrics
from foundation.retry import backoff_delay
from foundation.schemas import Alert, SchemaError, ScoredDocument, WindowStat
from foundation.settings import Settings
from foundation.store import Store
from ingest.tickers import default_index, default_sector_lookup
from monitor.core.pipeline import META_KEY, AlertPipeline
from monitor.stream.offload import Offload

log = logging.getLogger(__name__)

AGG_TOPIC = "monitor-agg"
STATE_TABLE = "monitor-state"
BATCH = 500
BATCH_WITHIN_S = 1.0


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
    """Value on the dead-letter topic: the alert plus where and why delivery failed."""
    return json.dumps(
        {
            "sink": sink,
            "error": error,
            "attempts": attempts,
            "alert": json.loads(alert.model_dump_json()),
        },
        sort_keys=True,
    ).encode()


def register(app: Any, settings: Settings, topics: Any, store: Store) -> None:
    """Attach the aggregate/detect/notify agents to ``app``."""
    agg_topic = app.topic(
        settings.broker.topic(AGG_TOPIC),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=1,
        internal=True,
    )
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
    holder: dict[str, AlertPipeline] = {}
    # The same sector tables the backtest uses (ingest/data/tickers.csv).
    sectors = default_sector_lookup()
    known_names = default_index().name_tokens()
    counters = {"windows": 0, "alerts": 0, "late": 0, "bad": 0}

    def pipeline() -> AlertPipeline:
        p = holder.get("p")
        if p is None:
            p = AlertPipeline(
                settings, track_updates=True, sectors=sectors, known_names=known_names
            )
            items = {k: v for k, v in table.items() if k != META_KEY and v}
            meta = table.get(META_KEY)
            p.load(meta, items)
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
            holder["p"] = p
        return p

    @app.on_partitions_revoked.connect
    async def _forget_state(sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        # Another worker may own the aggregation partition until it comes back here; the
        # in-memory pipeline is rebuilt from the (then current) table on the next batch.
        holder.pop("p", None)

    @app.agent(topics.scored, name="monitor-forward")
    async def forward(stream: Any) -> None:
        # One partition downstream: every document of a scope, one watermark.
        async for value in stream:
            await agg_topic.send(key=b"all", value=value)

    @app.agent(agg_topic, name="monitor-aggregate")
    async def aggregate(stream: Any) -> None:
        async for values in stream.take(BATCH, within=BATCH_WITHIN_S):
            p = pipeline()
            for raw in values:
                try:
                    doc = ScoredDocument.from_bytes(raw)
                except SchemaError as exc:
                    counters["bad"] += 1
                    log.error("dropping undecodable scored payload: %s", exc)
                    continue
                if p.add(doc) == "late":
                    counters["late"] += 1
                    metrics.LATE_DOCUMENTS.inc()
            out = p.advance()
            for key, dump in p.take_changes().items():
                if dump is None:
                    table.pop(key, None)
                else:
                    table[key] = dump
            table[META_KEY] = p.dump_meta()
            # Every changed window is in out.updated (drained before windows close), so a
            # closed window's final figures were already sent: out.closed would only repeat.
            stats: dict[tuple[str, str, Any], WindowStat] = {}
            for w in out.updated:
                stats[(w.scope_kind, w.scope, w.window_start)] = w
            for w in stats.values():
                await topics.window_stats.send(
                    key=f"{w.scope_kind}:{w.scope}".encode(), value=w.to_bytes()
                )
            for a in out.alerts:
                await topics.alerts.send(key=a.fingerprint.encode(), value=a.to_bytes())
                log.info("alert %s %s %s:%s", a.status, a.fingerprint, a.scope_kind, a.scope)
                metrics.ALERTS.labels(a.rule, a.status).inc()
            if stats:
                await pool.run(store.upsert_window_stats, list(stats.values()))
            if out.alerts:
                await pool.run(store.upsert_alerts, out.alerts)
            counters["windows"] += len(stats)
            counters["alerts"] += len(out.alerts)

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

        @app.agent(topics.alerts, name="monitor-notify")
        async def notify(stream: Any) -> None:
            # Persist first (the outbox); the delivery loops send. The Kafka offset is
            # committed after the rows are stored, so an alert event is never lost.
            async for values in stream.take(100, within=1.0):
                alerts = []
                for raw in values:
                    try:
                        alerts.append(Alert.from_bytes(raw))
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
            "monitor: %(windows)d window updates, %(alerts)d alerts, %(late)d late, %(bad)d bad",
            counters,
        )

    @app.on_before_shutdown.connect
    async def _close_pool(sender: Any, **kwargs: Any) -> None:
        pool.close()

    app.finpulse_monitor = counters
