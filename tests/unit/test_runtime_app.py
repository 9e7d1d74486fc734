"""The Faust app factory and the classify step (no broker: the batch logic is plain async)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from foundation.language import language_supported
from foundation.schemas import Document
from foundation.settings import load_settings
from foundation.store import Store
from models.base import Prediction
from monitor.stream.app import classify_batch, create_app

PRED = Prediction(
    topic="financials",
    topic_probs={"financials": 1.0},
    sentiment="negative",
    sentiment_probs={"negative": 0.9, "neutral": 0.05, "positive": 0.05},
)


def doc(i: int, language: str | None = "en", title: str = "Bank shares plunge") -> Document:
    return Document(
        id=f"d{i}",
        source="s",
        title=title,
        published=datetime(2024, 3, 10, tzinfo=UTC),
        language=language,
    )


class FakeEngine:
    """The engine's interface: one result per text, an exception for texts containing BOOM."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def classify_many(self, texts: Sequence[str]) -> list[Prediction | BaseException]:
        self.calls.append(list(texts))
        return [RuntimeError("boom") if "BOOM" in t else PRED for t in texts]


@pytest.mark.parametrize(
    ("lang", "ok"),
    [("en", True), ("en-US", True), ("EN_gb", True), (None, True), ("pl-PL", False), ("fr", False)],
)
def test_language_support_uses_the_primary_subtag(lang: str | None, ok: bool) -> None:
    assert language_supported(lang, ["en"]) is ok


def test_classify_batch_skips_other_languages_and_isolates_model_errors() -> None:
    docs = [doc(0), doc(1, "pl-PL"), doc(2, title="BOOM"), doc(3, "en-US")]
    engine = FakeEngine()
    out = asyncio.run(classify_batch(docs, engine, "fake", ["en"]))
    assert [s.id for s in out] == ["d0", "d1", "d2", "d3"]  # nothing lost, order kept
    assert engine.calls == [["Bank shares plunge", "BOOM", "Bank shares plunge"]]  # pl never scored
    assert (out[0].scored, out[0].sentiment, out[0].model) == (True, "negative", "fake")
    assert (out[1].scored, out[1].skip_reason, out[1].sentiment) == (False, "language:pl", None)
    assert (out[2].scored, out[2].skip_reason) == (False, "model-error")
    assert out[3].scored and out[3].score == pytest.approx(-0.85)


def test_create_app_topics_and_embedded_producer_setting(tmp_path) -> None:
    settings = load_settings(
        data_dir=str(tmp_path),
        broker={"url": "kafka://127.0.0.1:9", "topic_prefix": "fx", "partitions": 3},
    )
    app = create_app(settings, store=Store(f"sqlite:///{tmp_path / 's.db'}"))
    t = app.finpulse_topics
    assert [x.get_topic_name() for x in (t.documents, t.scored, t.window_stats)] == [
        "fx.documents",
        "fx.scored",
        "fx.window-stats",
    ]
    assert t.alerts.get_topic_name() == "fx.alerts"
    assert t.alerts_dead.get_topic_name() == "fx.alerts.dead"
    assert app.conf.producer_max_batch_size == 1
    assert app.conf.processing_guarantee.value == "at_least_once"
    assert not app.conf.web_enabled

    prod = load_settings(
        data_dir=str(tmp_path), broker={"url": "kafka://k:9092", "embedded": False}
    )
    app2 = create_app(prod, store=Store(f"sqlite:///{tmp_path / 's2.db'}"))
    assert app2.conf.producer_max_batch_size == 256 * 1024
    assert app2.conf.producer_linger == 0.005
    # Embedded only: a short consumer fetch wait (Tansu holds fetches for the whole wait).
    from aiokafka import AIOKafkaConsumer

    from monitor.stream.embedded import EMBEDDED_FETCH_WAIT_MS, EmbeddedTransport

    assert isinstance(app.transport, EmbeddedTransport)
    assert not isinstance(app2.transport, EmbeddedTransport)
    thread = app.consumer._thread

    async def make() -> AIOKafkaConsumer:
        return thread._create_worker_consumer(app.transport)

    consumer = asyncio.run(make())
    assert consumer._fetch_max_wait_ms == EMBEDDED_FETCH_WAIT_MS
    # The batching data producer is for the embedded broker only.
    assert app.finpulse_sender.bootstrap == "127.0.0.1:9"
    assert app2.finpulse_sender.bootstrap is None


def test_dead_letters_are_versioned_records():
    from datetime import UTC, datetime

    from foundation.schemas import Alert, DeadLetterRecord
    from monitor.stream.alerts import dead_letter_bytes

    t = datetime(2026, 3, 10, 12, tzinfo=UTC)
    a = Alert(
        fingerprint="fp",
        rule="negative_surge",
        scope_kind="ticker",
        scope="SIVB",
        status="firing",
        starts_at=t,
        updated_at=t,
    )
    rec = DeadLetterRecord.from_bytes(dead_letter_bytes(a, "pager", "HTTP 503", 9))
    assert (rec.schema_version, rec.sink, rec.error, rec.attempts) == (1, "pager", "HTTP 503", 9)
    assert rec.alert == a and rec.at.tzinfo is not None
