"""How a classifier's output becomes a ScoredDocument: one rule for the stream worker and the
offline backtest (no Faust import, so the backtest stays broker-free)."""

from __future__ import annotations

from datetime import datetime

from foundation.schemas import Document, ScoredDocument
from models.base import Prediction


def skipped(doc: Document, reason: str) -> ScoredDocument:
    return ScoredDocument(document=doc, scored=False, skip_reason=reason)


def scored(
    doc: Document, pred: Prediction, model: str, scored_at: datetime | None = None
) -> ScoredDocument:
    """``scored_at`` defaults to now; the backtest passes a fixed time for byte-stable output."""
    extra = {"scored_at": scored_at} if scored_at is not None else {}
    return ScoredDocument(
        document=doc,
        topic=pred.topic,
        topic_probs=pred.topic_probs,
        sentiment=pred.sentiment,
        sentiment_probs=pred.sentiment_probs,
        model=model,
        **extra,
    )
