"""Builders of scored documents with explicit timestamps for the monitor unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from foundation.schemas import Document, ScoredDocument

T0 = datetime(2024, 3, 1, tzinfo=UTC)

PROBS = {
    "negative": {"negative": 0.8, "neutral": 0.15, "positive": 0.05},
    "neutral": {"negative": 0.1, "neutral": 0.8, "positive": 0.1},
    "positive": {"negative": 0.05, "neutral": 0.15, "positive": 0.8},
}


def scored(
    doc_id: str,
    at: datetime | float,
    sentiment: str = "neutral",
    *,
    topic: str = "financials",
    source: str = "Wire",
    tickers: tuple[str, ...] = (),
    entities: tuple[str, ...] = (),
    scored_ok: bool = True,
    p_neg: float | None = None,
) -> ScoredDocument:
    """A scored document published at ``at`` (a datetime, or seconds after T0)."""
    published = at if isinstance(at, datetime) else T0 + timedelta(seconds=at)
    probs = dict(PROBS[sentiment])
    if p_neg is not None:
        probs = {"negative": p_neg, "neutral": 1 - p_neg, "positive": 0.0}
    doc = Document(
        id=doc_id,
        source=source,
        title=f"headline {doc_id}",
        link=f"https://news.example/{doc_id}",
        published=published,
        tickers=tickers,
        entities=entities,
    )
    if not scored_ok:
        return ScoredDocument(document=doc, scored=False, skip_reason="language", scored_at=T0)
    return ScoredDocument(
        document=doc,
        topic=topic,
        topic_probs={topic: 1.0},
        sentiment=sentiment,
        sentiment_probs=probs,
        model="test",
        scored_at=T0,
    )
