"""Pure parts of the poller: backoff delays, Retry-After, the dedup/publish pipeline."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from foundation.retry import backoff_delay
from foundation.schemas import Document
from ingest.dedup import Deduplicator
from ingest.health import HealthBook
from ingest.poller import Pipeline, retry_after_seconds


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    rng = random.Random(7)
    for failures in range(1, 12):
        raw = min(600.0, 10.0 * 2 ** (failures - 1))
        delays = [backoff_delay(failures, base=10, cap=600, rng=rng.random) for _ in range(200)]
        assert all(raw / 2 <= d <= raw for d in delays)
        assert len({round(d, 6) for d in delays}) > 150  # jittered, not lockstep
    assert backoff_delay(0, base=10, cap=600, rng=rng.random) == 0.0
    assert backoff_delay(10_000, base=10, cap=600, rng=rng.random) <= 600


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:01:00 GMT", now) == 60.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


class ListPublisher:
    def __init__(self) -> None:
        self.sent: list[Document] = []

    def publish(self, doc: Document) -> None:
        self.sent.append(doc)

    def flush(self, timeout: float = 60.0) -> None:
        return None


class ListArchive:
    def __init__(self) -> None:
        self.docs: list[Document] = []

    def append(self, docs) -> int:
        self.docs.extend(docs)
        return len(self.docs)


def mk(i: int, title: str, lang: str = "en") -> Document:
    return Document(
        id=f"{i:040x}",
        source="s",
        title=title,
        link=f"https://x/{i}",
        published=datetime(2022, 11, 8, tzinfo=UTC),
        language=lang,
    )


def test_pipeline_publishes_once_counts_duplicates_and_other_languages():
    pub, arch, health = ListPublisher(), ListArchive(), HealthBook()
    pipe = Pipeline(pub, arch, Deduplicator(1000), health, languages=("en",))
    batch = [
        mk(1, "Binance agrees to buy FTX - Reuters"),
        mk(2, "Binance Agrees to Buy FTX | CNBC"),
        mk(3, "Giełda w Warszawie spada po decyzji RPP", lang="pl"),
    ]
    assert [d.id for d in pipe.process("feed-a", batch)] == [batch[0].id, batch[2].id]
    assert pipe.process("feed-b", [batch[0]]) == []
    assert [d.id for d in pub.sent] == [batch[0].id, batch[2].id]
    assert arch.docs == pub.sent  # every published document is archived, non-English too
    a, b = health.counters("feed-a"), health.counters("feed-b")
    assert (a.fetched, a.published, a.duplicates, a.unsupported_language) == (3, 2, 1, 1)
    assert (b.fetched, b.published, b.duplicates) == (1, 0, 1)
    rows = {r["source"]: r for r in health.rows()}
    assert rows["feed-a"]["published"] == 2 and rows["feed-b"]["duplicates"] == 1


@pytest.mark.parametrize("failures", [1, 3, 8])
def test_backoff_respects_base(failures):
    d = backoff_delay(failures, base=1.0, cap=1e9, rng=random.Random(1).random)
    assert 2 ** (failures - 1) / 2 <= d <= 2 ** (failures - 1)
