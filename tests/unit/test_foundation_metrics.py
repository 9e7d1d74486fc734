"""The exporter serves the catalogue, honours its off switch and names a busy port; the
ingest and lag instrumentation move their series."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from foundation import metrics
from foundation.errors import ConfigError
from foundation.settings import MetricsSettings
from ingest.health import HealthBook
from monitor.stream.lag import sample_lag


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_exporter_serves_every_finpulse_metric_and_can_be_off():
    assert metrics.start_exporter(MetricsSettings(enabled=False), "worker") is None
    port = metrics.start_exporter(MetricsSettings(worker_port=0), "worker")
    assert port
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {
        "finpulse_documents_in",
        "finpulse_consumer_lag",
        "finpulse_model_batch_seconds",
        "finpulse_store_write_seconds",
        "finpulse_source_last_success_timestamp_seconds",
    } <= names


def test_a_busy_port_is_a_config_error_naming_the_setting():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(
            ConfigError, match=r"metrics\.ingest_port.*FINPULSE_METRICS__INGEST_PORT"
        ):
            metrics.start_exporter(MetricsSettings(ingest_port=busy), "ingest")


def test_ingest_health_moves_source_and_document_series():
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    book = HealthBook(clock=lambda: now)
    ok0 = value("finpulse_source_fetches_total", source="m-wire", outcome="success")
    err0 = value("finpulse_source_fetches_total", source="m-wire", outcome="error")
    in0 = value("finpulse_documents_in_total", stage="ingest")
    book.success("m-wire")
    book.error("m-wire", "HTTP 503")
    book.add("m-wire", fetched=7, published=5, duplicates=2)
    assert value("finpulse_source_fetches_total", source="m-wire", outcome="success") == ok0 + 1
    assert value("finpulse_source_fetches_total", source="m-wire", outcome="error") == err0 + 1
    assert value("finpulse_source_last_success_timestamp_seconds", source="m-wire") == (
        now.timestamp()
    )
    assert value("finpulse_documents_in_total", stage="ingest") == in0 + 7


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


class Consumer:
    """The two calls of Faust's consumer the sampler uses (an edge we do not own)."""

    def __init__(self) -> None:
        self._committed_offset = {TP("t", 0): 40, TP("t", 1): None}
        self.high = {TP("t", 0): 100, TP("t", 1): 7, TP("t", 2): None}

    def assignment(self):
        return set(self.high)

    def highwater(self, tp):
        return self.high[tp]


def test_lag_is_end_offset_minus_committed_per_partition():
    assert sample_lag(Consumer()) == {("t", 0): 60, ("t", 1): 7}


def test_last_success_survives_an_ingest_restart(tmp_path):
    """A source silent since before a restart keeps its last success, so the silent-source
    rule still sees it."""
    from foundation.store import Store

    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    t = datetime(2026, 3, 10, 9, tzinfo=UTC)
    store.upsert_source_health([{"source": "m-old", "fetched": 3, "last_success": t}])
    HealthBook().load(store)
    assert value("finpulse_source_last_success_timestamp_seconds", source="m-old") == t.timestamp()
    store.dispose()
