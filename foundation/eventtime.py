"""The one rule for a plausible event time (``published``), used by ingest, replay and the
stream worker alike.

A document's time is implausible when it lies more than :data:`MAX_FUTURE` after the time it
was seen (fetched by the poller, read by the replay, produced to Kafka for the worker), or
before :data:`EARLIEST` (no RSS item predates it; epoch-0 and year-1900 placeholders do).
Ingest replaces such a time with the fetch time and flags the document; replay rejects the
line with the reason; the worker counts the document per source and keeps it out of the
windows, so one bad date can never move the watermark.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
EARLIEST_TS = EARLIEST.timestamp()
MAX_FUTURE = timedelta(days=1)
MAX_FUTURE_S = MAX_FUTURE.total_seconds()


def implausible_ts(ts: float, seen_ts: float) -> str | None:
    """``"future"`` or ``"too-old"`` when epoch ``ts`` is implausible for a document seen at
    epoch ``seen_ts``; None when it is fine."""
    if ts != ts:  # NaN compares false everywhere: never let it through
        return "too-old"
    if ts > seen_ts + MAX_FUTURE_S:
        return "future"
    if ts < EARLIEST_TS:
        return "too-old"
    return None


def implausible(published: datetime, seen: datetime) -> str | None:
    """:func:`implausible_ts` for aware datetimes."""
    try:
        ts = published.timestamp()
    except (OverflowError, OSError, ValueError):
        return "future" if published.year > 2000 else "too-old"
    return implausible_ts(ts, seen.timestamp())


def describe(reason: str, published: datetime) -> str:
    """A one-line reason naming the offending time (for replay's bad-line list and logs)."""
    stamp = published.isoformat().replace("+00:00", "Z")
    if reason == "future":
        return f"published {stamp} is more than {MAX_FUTURE} after it was seen"
    return f"published {stamp} is before {EARLIEST.date()} (implausibly old)"
