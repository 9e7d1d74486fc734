"""Every Store method on SQLite and on a real PostgreSQL server (tests/servers.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from servers import count_rows
from sqlalchemy import func, select

from foundation.errors import StoreError
from foundation.schemas import Alert, Document, ScoredDocument, WindowStat
from foundation.store import (
    Store,
    alerts,
    corrections,
    dead_letters,
    deliveries,
    documents,
    source_health,
    window_stats,
)

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.dispose()


def doc(i: int, sentiment: str = "negative", **kw) -> ScoredDocument:
    return ScoredDocument(
        document=Document(
            id=f"d{i}",
            source="wire",
            title=f"Bank {i} shares fall",
            published=T0 + timedelta(minutes=i),
            tickers=("JPM", "C"),
            link=f"https://x/{i}",
        ),
        topic="financials",
        sentiment=sentiment,
        score=-0.5,
        sentiment_probs={"negative": 0.7, "neutral": 0.2, "positive": 0.1},
        **kw,
    )


def stat(minute: int, count: int, scope: str = "financials") -> WindowStat:
    start = T0 + timedelta(minutes=minute)
    return WindowStat(
        scope_kind="topic",
        scope=scope,
        window_start=start,
        window_end=start + timedelta(minutes=5),
        count=count,
        negative=count,
        neutral=0,
        positive=0,
        score_sum=-float(count),
    )


def alert(status: str = "firing", minutes: int = 0) -> Alert:
    return Alert(
        fingerprint="fp1",
        rule="negative_surge",
        scope_kind="topic",
        scope="financials",
        status=status,
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=minutes) if status == "resolved" else None,
        updated_at=T0 + timedelta(minutes=minutes),
    )


def rows(store: Store, table) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def test_documents_round_trip_and_redelivery_is_one_row(store):
    assert store.upsert_scored([doc(1), doc(2), doc(1, sentiment="positive")]) == 2
    assert store.upsert_scored([doc(2)]) == 1  # redelivered: same row
    assert count_rows(store.engine) == 2
    got = {r["id"]: r for r in rows(store, documents)}
    assert got["d1"]["sentiment"] == "positive"  # last write in a batch wins
    assert got["d2"]["tickers"] == ["JPM", "C"]
    assert got["d2"]["sentiment_probs"]["negative"] == pytest.approx(0.7)
    published = got["d2"]["published"]
    # Aware on PostgreSQL; SQLite keeps naive UTC: the same instant either way.
    assert published.replace(tzinfo=published.tzinfo or UTC) == T0 + timedelta(minutes=2)


def test_window_stats_upsert_replaces_the_window(store):
    store.upsert_window_stats([stat(0, 3), stat(5, 4)])
    store.upsert_window_stats([stat(0, 9)])  # a late document updated the window
    got = sorted(
        (r["window_start"].replace(tzinfo=None), r["count"]) for r in rows(store, window_stats)
    )
    assert [c for _, c in got] == [9, 4]


def test_an_alert_episode_is_one_row_its_resolve_updates(store):
    store.upsert_alerts([alert()])
    store.upsert_alerts([alert("resolved", 30)])
    (row,) = rows(store, alerts)
    assert row["status"] == "resolved" and row["payload"]["status"] == "resolved"


def test_deliveries_and_dead_letters(store):
    a = alert()
    store.record_delivery(a, "slack", state="delivered", attempts=1)
    store.record_delivery(a, "pager", state="failed", attempts=2, error="HTTP 503")
    store.record_delivery(a, "pager", state="dead", attempts=7, error="HTTP 503")
    states = {(r["sink"], r["state"], r["attempts"]) for r in rows(store, deliveries)}
    assert states == {("slack", "delivered", 1), ("pager", "dead", 7)}
    (dead,) = rows(store, dead_letters)
    assert dead["sink"] == "pager" and dead["payload"]["fingerprint"] == "fp1"


def test_corrections_keep_the_old_value_and_refuse_bad_input(store):
    store.upsert_scored([doc(1)])
    store.add_correction("d1", "sentiment", "neutral", "ana")
    (c,) = rows(store, corrections)
    assert (c["old"], c["new"], c["user"]) == ("negative", "neutral", "ana")
    with pytest.raises(StoreError, match="no document"):
        store.add_correction("nope", "topic", "macro", "ana")
    with pytest.raises(StoreError, match="only sentiment or topic"):
        store.add_correction("d1", "title", "x", "ana")


def test_source_health_upsert(store):
    store.upsert_source_health([{"source": "wire", "fetched": 3, "errors": 0, "last_success": T0}])
    store.upsert_source_health([{"source": "wire", "fetched": 5, "errors": 1, "last_error": "x"}])
    (r,) = rows(store, source_health)
    assert (r["fetched"], r["errors"], r["last_error"]) == (5, 1, "x")


def test_concurrent_overlapping_batches_from_several_writers(store_url):
    """Several workers upserting the same ids at once: no deadlock, no lost or doubled row."""
    stores = [Store(store_url) for _ in range(4)]
    errors: list[BaseException] = []

    def write(k: int) -> None:
        s = stores[k]
        try:
            for rnd in range(5):
                # Overlapping ids in different orders: the classic deadlock shape.
                ids = list(range(40)) if (k + rnd) % 2 else list(reversed(range(40)))
                s.upsert_scored([doc(i) for i in ids])
                s.upsert_window_stats([stat(m * 5, k + rnd + 1) for m in range(10)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert count_rows(stores[0].engine) == 40
    with stores[0].engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(window_stats)).scalar_one() == 10
    for s in stores:
        s.dispose()


def test_typed_reads_delivered_firing_health_and_corrections(store):
    a = alert()
    store.record_delivery(a, "slack", state="delivered", attempts=1)
    store.record_delivery(a, "pager", state="dead", attempts=7, error="HTTP 503")
    store.record_delivery(a, "slack", state="delivered", attempts=1)  # idempotent
    with store.engine.connect() as conn:
        got = conn.execute(select(deliveries.c.sink, deliveries.c.state)).all()
        assert sorted(got) == [("pager", "dead"), ("slack", "delivered")]
        assert conn.execute(select(func.count()).select_from(dead_letters)).scalar_one() == 1

    store.upsert_alerts([a])
    assert [p["fingerprint"] for p in store.firing_alert_payloads()] == ["fp1"]
    store.upsert_alerts([alert("resolved", 30)])
    assert store.firing_alert_payloads() == []

    store.upsert_source_health([{"source": "wire", "fetched": 2, "last_success": T0}])
    (h,) = store.source_health_rows()
    assert h["source"] == "wire" and h["fetched"] == 2

    store.upsert_scored([doc(1), doc(2)])
    store.add_correction("d2", "sentiment", "neutral", "ana")
    store.add_correction("d1", "sentiment", "positive", "ana")
    store.add_correction("d1", "sentiment", "neutral", "bo")
    store.add_correction("d1", "topic", "macro", "bo")
    got = store.corrections_with_text("sentiment")
    assert [(i, new) for i, new, _, _ in got] == [
        ("d1", "positive"),
        ("d1", "neutral"),
        ("d2", "neutral"),
    ]
    assert got[0][2] == "Bank 1 shares fall"


def test_one_row_the_database_refuses_never_loses_its_batch(store, caplog):
    # Rows that bypass the schema's limits (an old producer, a hand-written archive): the
    # database refuses the bad one (PostgreSQL: an id over 64 characters; SQLite, which has no
    # length limits: a NOT NULL title), the batch is written row by row, the others are kept.
    from foundation.store.store import _upsert, scored_row

    rows = [scored_row(doc(i)) for i in range(1, 21)]
    bad = dict(rows[7])
    if store.engine.dialect.name == "postgresql":
        bad["id"] = "x" * 5000
    else:
        bad["title"] = None
    rows[7] = bad
    with caplog.at_level("ERROR"):
        assert _upsert(store.engine, documents, rows) == 19
    assert count_rows(store.engine) == 19
    assert "refused, the rest of its batch kept" in caplog.text
