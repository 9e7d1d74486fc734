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
