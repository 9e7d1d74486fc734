from datetime import UTC, datetime, timedelta

import pytest
from servers import BACKENDS, empty_store_url

from dashboard import queries, sample
from foundation.schemas import Alert, Document, ScoredDocument, WindowStat
from foundation.store import Store

END = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=BACKENDS)
def filled(request, tmp_path_factory):
    # The dashboard's queries on each backend (PostgreSQL: tests/servers.py).
    store = Store(empty_store_url(request, request.param, tmp_path_factory.mktemp("q")))
    info = sample.fill(store, END, hours=6, per_window=4)
    yield store, info
    store.dispose()


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.dispose()


def stat(scope, minute, count, neg, kind="topic", score=0.0):
    start = END - timedelta(hours=1) + timedelta(minutes=minute)
    return WindowStat(
        scope_kind=kind,
        scope=scope,
        window_start=start,
        window_end=start + timedelta(minutes=5),
        count=count,
        negative=neg,
        neutral=count - neg,
        positive=0,
        score_sum=score,
    )


def scored(i, published, topic="earnings", sentiment="negative", source="wire", tickers=()):
    return ScoredDocument(
        document=Document(
            id=f"d{i}",
            source=source,
            title=f"t{i}",
            published=published,
            tickers=tickers,
            link="https://x/" + str(i),
        ),
        topic=topic,
        sentiment=sentiment,
        sentiment_probs={"negative": 0.8, "neutral": 0.1, "positive": 0.1},
    )


def test_buckets_sum_windows_and_come_back_aware_utc(store):
    store.upsert_window_stats(
        [
            stat("earnings", 0, 4, 1, score=1.0),
            stat("earnings", 5, 6, 3, score=-2.0),
            stat("macro", 5, 2, 2),
            stat("AAPL", 0, 9, 9, kind="ticker"),
        ]
    )
    start = END - timedelta(hours=1)
    rows = queries.window_buckets(store.engine, "topic", start, END, 900)
    assert [(b.scope, b.count, b.negative) for b in rows] == [("earnings", 10, 4), ("macro", 2, 2)]
    assert rows[0].start == start and rows[0].start.tzinfo is not None
    assert rows[0].mean_score == pytest.approx(-0.1)
    # At the window size the rows are read unchanged.
    raw = queries.window_buckets(store.engine, "topic", start, END, 300, ["earnings"], window_s=300)
    assert [b.count for b in raw] == [4, 6] and raw[1].start == start + timedelta(minutes=5)
    # The end is exclusive and scopes can be chosen.
    assert queries.window_buckets(
        store.engine, "topic", start, start + timedelta(minutes=5), 900
    ) == [rows[0].__class__("earnings", start, 4, 1, 3, 0, 1.0)]
    assert queries.window_buckets(store.engine, "topic", start, END, 900, []) == []


def test_extent_and_anchor(store):
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert queries.anchor_time(store.engine, now) == (now, None)
    store.upsert_window_stats([stat("earnings", 0, 1, 0), stat("earnings", 55, 1, 0)])
    anchor, first = queries.anchor_time(store.engine, now)
    assert anchor == END and first == END - timedelta(hours=1)


def test_choose_bucket_keeps_points_bounded():
    assert queries.choose_bucket(timedelta(hours=6), 300) == 300
    assert queries.choose_bucket(timedelta(hours=24), 300, 150) == 600
    assert queries.choose_bucket(timedelta(days=30), 300, 300) == 10800
    assert queries.choose_bucket(timedelta(minutes=5), 300) == 300


def test_documents_filter_by_topic_ticker_source_sentiment_and_time(store):
    t = END - timedelta(minutes=30)
    store.upsert_scored(
        [
            scored(1, t, tickers=("AAPL",)),
            scored(2, t + timedelta(minutes=1), topic="macro", tickers=("AAPLX",)),
            scored(3, t + timedelta(minutes=2), sentiment="positive", source="other"),
            scored(4, t - timedelta(hours=2)),
        ]
    )
    e = store.engine
    ids = lambda rows: [r.id for r in rows]  # noqa: E731
    assert ids(queries.find_documents(e)) == ["d3", "d2", "d1", "d4"]
    assert ids(queries.find_documents(e, start=t, end=END)) == ["d3", "d2", "d1"]
    assert ids(queries.find_documents(e, topic="earnings", start=t)) == ["d3", "d1"]
    assert ids(queries.find_documents(e, topics=["macro"])) == ["d2"]
    assert ids(queries.find_documents(e, ticker="AAPL")) == ["d1"]  # not AAPLX
    assert ids(queries.find_documents(e, source="other")) == ["d3"]
    assert ids(queries.find_documents(e, sentiment="negative", limit=2)) == ["d2", "d1"]
    doc = queries.get_document(e, "d1")
    assert doc is not None and doc.published == t and doc.tickers == ("AAPL",)
    assert doc.api_json()["published"] == "2026-03-10T17:30:00Z"
    assert queries.get_document(e, "nope") is None


def test_headline_counts_today_against_the_week_before(filled):
    store, info = filled
    h = queries.headline(store.engine, info.end - timedelta(minutes=1))
    assert h.day == datetime(2026, 3, 10, tzinfo=UTC)
    today = queries.find_documents(store.engine, start=h.day, end=info.end, limit=10_000)
    assert h.documents_today == len(today)
    negatives = sum(1 for d in today if d.sentiment == "negative")
    assert h.negative_share_today == pytest.approx(negatives / len(today))
    assert h.negative_share_baseline is None  # nothing before 2026-03-10 in this store
    assert h.alerts_firing == 1


def test_alerts_firing_first_with_deliveries_and_dead_letters(filled):
    store, info = filled
    rows = queries.find_alerts(store.engine, start=info.start, end=info.end)
    assert [a.status for a in rows] == ["firing", "resolved"]
    assert rows[0].figures["negative_share"] == 0.8 and len(rows[0].evidence) == 3
    # Overlap: an alert that ended before the range is not shown.
    late = queries.find_alerts(store.engine, start=info.end - timedelta(minutes=30), end=info.end)
    assert [a.scope for a in late] == [sample.SURGE_TOPIC]
    sent = queries.deliveries_for(store.engine, [info.alert_fingerprint])
    assert {(d.sink, d.state) for d in sent[info.alert_fingerprint]} == {
        ("slack", "delivered"),
        ("pagerduty", "dead"),
    }
    (dead,) = queries.find_dead_letters(store.engine)
    assert dead.sink == "pagerduty" and dead.scope == f"topic={sample.SURGE_TOPIC}"


def test_source_rows_merge_health_and_document_rates(filled):
    store, info = filled
    rows = {r.source: r for r in queries.source_rows(store.engine, info.end)}
    assert set(rows) == set(sample.SOURCES)
    assert next(iter(queries.source_rows(store.engine, info.end))).source == "social-c"  # errors
    total = sum(r.docs_per_hour for r in rows.values()) * 24
    assert total == info.documents  # 6 h of data, all inside the last 24 h
    assert rows["social-c"].errors == 3 and rows["wire-a"].last_success is not None


def test_alert_window_overlap_handles_open_alerts(store):
    a = Alert(
        fingerprint="f",
        rule="r",
        scope_kind="ticker",
        scope="SIVB",
        status="firing",
        starts_at=END - timedelta(days=3),
        updated_at=END,
    )
    store.upsert_alerts([a])
    rows = queries.find_alerts(store.engine, start=END - timedelta(hours=1), end=END)
    assert [r.scope for r in rows] == ["SIVB"]
    assert queries.find_alerts(store.engine, end=END - timedelta(days=4)) == []


def test_cached_chart_buckets_equal_a_direct_query(filled):
    from dashboard.context import Context
    from dashboard.explanations import Explainer
    from foundation.settings import load_settings

    store, _ = filled
    ctx = Context(load_settings(), store, Explainer(load_settings().model))
    for search in ("", "?range=6h", "?range=30d", "?topic=earnings"):
        v = ctx.view(search, 40)
        direct = queries.window_buckets(store.engine, "topic", v.start, v.end, v.bucket_s)
        assert ctx.buckets("topic", v) == direct
        assert ctx.buckets("topic", v) == direct  # second time from the cache
    assert ctx.rollup.hits > 0
