"""A small, deterministic synthetic store for tests, screenshots and trying the dashboard.

Documents are written through ``Store`` upserts and the window stats are aggregated from
them, so the charts and the drill-downs agree. One topic ("banking" is not a label, so
"financials") turns negative in the last hours and carries an alert; one headline holds
HTML to show it is rendered as text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from foundation.schemas import Alert, Document, Evidence, ScoredDocument, WindowStat
from foundation.store import Store
from models.labels import SENTIMENTS, TOPICS

SURGE_TOPIC = "financials"
XSS_TITLE = '<script>window.__xss=1</script><b>Bold</b> bank "run" & <img src=x onerror=alert(1)>'
SOURCES = ("wire-a", "wire-b", "social-c")
TICKERS = ("AAPL", "MSFT", "SIVB", "JPM", "XOM")
VERBS = {
    "negative": ("plunges", "slumps", "tumbles after downgrade"),
    "neutral": ("holds steady", "is little changed", "trades flat"),
    "positive": ("surges", "jumps", "rallies after upgrade"),
}


@dataclass(frozen=True, slots=True)
class SampleInfo:
    start: datetime
    end: datetime
    documents: int
    surge_start: datetime
    alert_fingerprint: str
    xss_id: str


def _probs(label: str, rnd: random.Random) -> dict[str, float]:
    main = 0.6 + 0.35 * rnd.random()
    rest = (1.0 - main) / 2
    return {s: (main if s == label else rest) for s in SENTIMENTS}


def fill(
    store: Store,
    end: datetime,
    *,
    hours: int = 24,
    per_window: int = 6,
    window_s: int = 300,
    topics: tuple[str, ...] = (SURGE_TOPIC, "earnings", "macro", "energy_oil"),
    seed: int = 7,
) -> SampleInfo:
    """Documents every window for ``hours`` before ``end`` (aligned to the window)."""
    rnd = random.Random(seed)
    end_ts = int(end.timestamp()) // window_s * window_s
    end = datetime.fromtimestamp(end_ts, end.tzinfo)
    start = end - timedelta(hours=hours)
    surge_start = end - timedelta(hours=3)
    docs: list[ScoredDocument] = []
    n_windows = hours * 3600 // window_s
    i = 0
    for w in range(n_windows):
        ws = start + timedelta(seconds=w * window_s)
        for k in range(per_window):
            topic = topics[(w + k) % len(topics)]
            neg_p = 0.8 if (topic == SURGE_TOPIC and ws >= surge_start) else 0.2
            r = rnd.random()
            sentiment = "negative" if r < neg_p else ("neutral" if r < neg_p + 0.4 else "positive")
            pub = ws + timedelta(seconds=rnd.randrange(window_s))
            ticker = TICKERS[(w * per_window + k) % len(TICKERS)]
            verb = VERBS[sentiment][i % len(VERBS[sentiment])]
            title = f"{ticker} {verb} on {topic.replace('_', ' ')} news (item {i})"
            doc = Document(
                id=f"doc-{i:06d}",
                source=SOURCES[i % len(SOURCES)],
                title=title,
                link=f"https://example.com/news/{i}",
                published=pub,
                tickers=(ticker,),
            )
            tprobs = {t: (0.7 if t == topic else 0.3 / (len(TOPICS) - 1)) for t in TOPICS}
            docs.append(
                ScoredDocument(
                    document=doc,
                    topic=topic,
                    topic_probs=tprobs,
                    sentiment=sentiment,
                    sentiment_probs=_probs(sentiment, rnd),
                    model="sample",
                    scored_at=pub,
                )
            )
            i += 1
    xss = docs[-1]
    xss_doc = xss.document.model_copy(update={"title": XSS_TITLE, "link": "javascript:alert(1)"})
    docs[-1] = xss.model_copy(update={"document": xss_doc})
    store.upsert_scored(docs)
    store.upsert_window_stats(aggregate(docs, window_s))

    fp = "negative_surge-topic-" + SURGE_TOPIC
    worst = [d for d in docs if d.topic == SURGE_TOPIC and d.sentiment == "negative"][-3:]
    alert = Alert(
        fingerprint=fp,
        rule="negative_surge",
        scope_kind="topic",
        scope=SURGE_TOPIC,
        status="firing",
        starts_at=surge_start + timedelta(minutes=30),
        updated_at=surge_start + timedelta(minutes=30),
        figures={"negative_share": 0.8, "baseline_share": 0.2, "count": 42.0, "share_z": 6.1},
        peak={"negative_share": 0.86},
        evidence=tuple(
            Evidence(
                id=d.id,
                title=d.document.title,
                source=d.document.source,
                link=d.document.link,
                published=d.document.published,
                sentiment_probs=d.sentiment_probs,
            )
            for d in worst
        ),
        summary=f"Negative share of {SURGE_TOPIC} at 80% vs 20% baseline",
    )
    old = alert.model_copy(
        update={
            "fingerprint": "negative_surge-topic-earnings",
            "scope": "earnings",
            "status": "resolved",
            "starts_at": start + timedelta(hours=4),
            "ends_at": start + timedelta(hours=5),
            "updated_at": start + timedelta(hours=5),
            "summary": "earnings turned negative for an hour",
        }
    )
    store.upsert_alerts([alert, old])
    store.record_delivery(alert, "slack", "delivered", 1)
    store.record_delivery(alert, "pagerduty", "dead", 7, error="HTTP 500 from receiver")
    store.upsert_source_health(
        [
            {
                "source": s,
                "fetched": 100 + j,
                "published": 90 + j,
                "duplicates": 10,
                "errors": 3 if s == "social-c" else 0,
                "last_success": end - timedelta(minutes=5 + j),
                "last_error": "timeout after 15 s" if s == "social-c" else None,
            }
            for j, s in enumerate(SOURCES)
        ]
    )
    return SampleInfo(start, end, len(docs), surge_start, fp, xss_doc.id)


def aggregate(docs: list[ScoredDocument], window_s: int) -> list[WindowStat]:
    """Tumbling-window stats per topic, ticker, sector, source and "all" (what the worker
    writes)."""
    from ingest.tickers import default_sector_lookup

    sectors = default_sector_lookup()
    acc: dict[tuple[str, str, int], list[float]] = {}
    for d in docs:
        t = int(d.document.published.timestamp()) // window_s * window_s
        keys = [("all", "all"), ("source", d.document.source)]
        if d.topic:
            keys.append(("topic", d.topic))
        keys += [("ticker", sym) for sym in d.document.tickers]
        keys += [("sector", s) for s in sectors.sectors(d.document.tickers, d.document.entities)]
        for kind, scope in keys:
            a = acc.setdefault((kind, scope, t), [0, 0, 0, 0, 0.0])
            a[0] += 1
            a[1 + SENTIMENTS.index(d.sentiment or "neutral")] += 1
            a[4] += d.score
    tz = docs[0].document.published.tzinfo if docs else None
    return [
        WindowStat(
            scope_kind=kind,  # type: ignore[arg-type]
            scope=scope,
            window_start=datetime.fromtimestamp(t, tz),
            window_end=datetime.fromtimestamp(t + window_s, tz),
            count=int(a[0]),
            negative=int(a[1]),
            neutral=int(a[2]),
            positive=int(a[3]),
            score_sum=a[4],
        )
        for (kind, scope, t), a in acc.items()
    ]
