"""Every Prometheus metric finpulse exports, defined once, and the exporter that serves them.

Process roles export on their own port (``metrics.worker_port``, ``metrics.ingest_port``),
loopback unless ``metrics.host`` opens it, off with ``metrics.enabled=false``. The metric
catalogue with example queries is in docs/operations.md ("What to watch").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server

from foundation.errors import ConfigError
from foundation.schemas import ScoredDocument
from foundation.settings import MetricsSettings

log = logging.getLogger(__name__)

# Powers of two from 1 to 4096: documents per batch.
_BATCH_BUCKETS = tuple(float(2**i) for i in range(13))
_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# ---------------------------------------------------------------- documents through stages
# stage: ingest (fetched -> published), classify (received -> scored or skipped), store
# (received -> written).
DOCUMENTS_IN = Counter("finpulse_documents_in_total", "Documents a stage received.", ["stage"])
DOCUMENTS_OUT = Counter(
    "finpulse_documents_out_total", "Documents a stage passed on or wrote.", ["stage"]
)
DOCUMENTS_SKIPPED = Counter(
    "finpulse_documents_skipped_total",
    "Documents stored unscored (other language, model error), by reason.",
    ["reason"],
)
DOCUMENTS_BAD = Counter(
    "finpulse_documents_bad_total", "Undecodable payloads dropped, by stage.", ["stage"]
)
LATE_DOCUMENTS = Counter(
    "finpulse_late_documents_total",
    "Documents later than the allowed lateness: counted, not windowed.",
)
EVENT_TIME_REFUSED = Counter(
    "finpulse_event_time_refused_total",
    "Documents stored but kept out of the windows for their time (future, too-old, "
    "outlier: a lone jump far ahead of its partition), by reason and source.",
    ["reason", "source"],
)
REDELIVERED_DOCUMENTS = Counter(
    "finpulse_redelivered_documents_total",
    "Documents the aggregation saw again after a restart: applied once, not counted late.",
)
BATCH_SIZE = Histogram(
    "finpulse_batch_size", "Documents per processed batch, by stage.", ["stage"],
    buckets=_BATCH_BUCKETS,
)  # fmt: skip
MODEL_LATENCY = Histogram(
    "finpulse_model_batch_seconds", "Wall time to classify one batch.",
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip

# ---------------------------------------------------------------- Kafka
CONSUMER_LAG = Gauge(
    "finpulse_consumer_lag",
    "Records behind the end of a partition this worker owns (end offset - committed).",
    ["topic", "partition"],
)

# ---------------------------------------------------------------- alerts and delivery
ALERTS = Counter(
    "finpulse_alerts_total", "Alert notifications raised, by rule and status.", ["rule", "status"]
)
NOTIFICATIONS = Counter(
    "finpulse_notifications_total",
    "Notification outcomes per sink: delivered, failed (one attempt), dead (gave up).",
    ["sink", "outcome"],
)

# ---------------------------------------------------------------- sources (ingest)
SOURCE_FETCHES = Counter(
    "finpulse_source_fetches_total", "Feed fetches by source and outcome.", ["source", "outcome"]
)
SOURCE_LAST_SUCCESS = Gauge(
    "finpulse_source_last_success_timestamp_seconds",
    "Unix time of the source's last successful fetch.",
    ["source"],
)

# ---------------------------------------------------------------- store
STORE_WRITE_SECONDS = Histogram(
    "finpulse_store_write_seconds", "Wall time of one store write (batch), by table.", ["table"],
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip

STORE_REJECTED_ROWS = Counter(
    "finpulse_store_rejected_rows_total",
    "Rows the database refused on their own (logged with their key); their batch was stored.",
    ["table"],
)

Role = Literal["worker", "ingest"]


def count_skipped(doc: ScoredDocument) -> None:
    """Count ``doc`` under its skip reason when it was stored unscored."""
    if not doc.scored:
        DOCUMENTS_SKIPPED.labels(doc.skip_reason or "unknown").inc()


@contextmanager
def timed(hist: Histogram, *labels: str) -> Iterator[None]:
    """Observe the block's wall time in ``hist`` (with ``labels``)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        (hist.labels(*labels) if labels else hist).observe(time.perf_counter() - start)


def start_exporter(
    settings: MetricsSettings, role: Role, registry: CollectorRegistry = REGISTRY
) -> int | None:
    """Serve ``/metrics`` for this process on its role's port; returns the port (None: off)."""
    if not settings.enabled:
        log.info("metrics exporter off (metrics.enabled=false)")
        return None
    port = settings.worker_port if role == "worker" else settings.ingest_port
    try:
        server, _thread = start_http_server(port, addr=settings.host, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"metrics.{role}_port: cannot listen on {settings.host}:{port} ({exc}); "
            f"choose another port (FINPULSE_METRICS__{role.upper()}_PORT) or set "
            "metrics.enabled=false"
        ) from None
    bound = int(server.server_port)
    log.info("metrics: http://%s:%d/metrics", settings.host, bound)
    return bound
