"""Consumer lag per partition this worker owns, sampled into ``finpulse_consumer_lag``.

Lag = the partition's end offset (the consumer's highwater) minus the committed offset. On
the embedded broker the end offsets of multi-record batches are wrong (BROKER.md), so the
figure is only trustworthy on Kafka.
"""

from __future__ import annotations

import logging
from typing import Any

from foundation import metrics

log = logging.getLogger(__name__)
INTERVAL_S = 5.0


def sample_lag(consumer: Any) -> dict[tuple[str, int], int]:
    """(topic, partition) -> lag for the consumer's assignment; unknown offsets left out."""
    out: dict[tuple[str, int], int] = {}
    committed = getattr(consumer, "_committed_offset", {})
    for tp in consumer.assignment():
        try:
            high = consumer.highwater(tp)
        except Exception:  # not fetched yet / partition just revoked
            continue
        if high is None:
            continue
        done = committed.get(tp) or 0
        out[(tp.topic, tp.partition)] = max(0, int(high) - int(done))
    return out


def unread_report(consumer: Any, topic: str, done: dict[int, int]) -> dict[int, int]:
    """Per partition of ``topic`` this consumer owns: records it has not processed yet.

    ``done``: the last offset the caller processed per partition. The end offset is the
    consumer's highwater (from its last fetch); where the caller has processed nothing since
    the partition was assigned, the committed offset stands in (it only lags the truth, so
    the figure errs towards "behind"). Partitions with neither are left out (not known).
    The aggregation never judges a partition with unread records idle. On the embedded
    broker the end offset can be short of the truth (see above): it errs towards "caught
    up", and the arrival-time rule then applies, as before. Entries of ``done`` for
    partitions no longer assigned are dropped (if one comes back, its committed offset,
    re-read at assignment, is the truth then)."""
    committed = getattr(consumer, "_committed_offset", None) or {}
    out: dict[int, int] = {}
    try:
        assigned = list(consumer.assignment())
    except Exception:  # the consumer is (re)starting
        return out
    mine = {tp.partition for tp in assigned if tp.topic == topic}
    for gone in [q for q in done if q not in mine]:
        del done[gone]
    for tp in assigned:
        if tp.topic != topic:
            continue
        try:
            high = consumer.highwater(tp)
        except Exception:  # not fetched yet / partition just revoked
            continue
        last = done.get(tp.partition)
        start = committed.get(tp)
        nxt = max(last + 1 if last is not None else -1, start if start is not None else -1)
        if high is None or nxt < 0:
            continue
        out[tp.partition] = max(0, int(high) - nxt)
    return out


def register_lag(app: Any) -> None:
    seen: set[tuple[str, int]] = set()

    @app.timer(INTERVAL_S)
    async def consumer_lag() -> None:
        try:
            lags = sample_lag(app.consumer)
        except Exception as exc:  # the consumer is (re)starting
            log.debug("consumer lag not sampled: %s", exc)
            return
        for topic, partition in seen - set(lags):
            # A partition moved to another worker: its series stops here, not at a stale value.
            metrics.CONSUMER_LAG.remove(topic, str(partition))
        for (topic, partition), lag in lags.items():
            metrics.CONSUMER_LAG.labels(topic, str(partition)).set(lag)
        seen.clear()
        seen.update(lags)
