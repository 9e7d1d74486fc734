"""The view filters and their URL query-string form, so a view can be shared as a link.

Pure: parsing never raises; an unknown or malformed value is dropped (a shared link with a
typo still opens, with that filter off), and :func:`to_query` writes the canonical form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode

from models.labels import SENTIMENTS, TOPICS

# Presets of the time-range control; the range ends at the newest data (see resolve_range).
RANGES: dict[str, timedelta | None] = {
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
DEFAULT_RANGE = "24h"
_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]{0,14}$")
_SOURCE_MAX = 200


@dataclass(frozen=True, slots=True)
class Filters:
    range: str = DEFAULT_RANGE
    start: datetime | None = None  # explicit from/to win over the preset
    end: datetime | None = None
    topics: tuple[str, ...] = ()
    ticker: str | None = None
    source: str | None = None
    sentiment: str | None = None

    def with_(self, **changes: object) -> Filters:
        return replace(self, **changes)  # type: ignore[arg-type]


def _parse_time(value: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def normalise_ticker(value: str | None) -> str | None:
    if not value:
        return None
    sym = value.strip().upper().lstrip("$")
    return sym if _TICKER.match(sym) else None


def parse_query(search: str | None) -> Filters:
    """Filters from a ``?a=b&...`` string (leading ``?`` optional)."""
    qs = parse_qs((search or "").lstrip("?"), keep_blank_values=False)

    def first(key: str) -> str | None:
        vals = qs.get(key)
        return vals[0] if vals else None

    rng = first("range")
    start = _parse_time(first("from") or "") if first("from") else None
    end = _parse_time(first("to") or "") if first("to") else None
    if start and end and start >= end:
        start = end = None
    topics: list[str] = []
    for raw in qs.get("topic", []):
        for t in raw.split(","):
            if t in TOPICS and t not in topics:
                topics.append(t)
    source = first("source")
    sentiment = first("sentiment")
    return Filters(
        range=rng if rng in RANGES else DEFAULT_RANGE,
        start=start,
        end=end,
        topics=tuple(topics),
        ticker=normalise_ticker(first("ticker")),
        source=source.strip()[:_SOURCE_MAX] if source and source.strip() else None,
        sentiment=sentiment if sentiment in SENTIMENTS else None,
    )


def _fmt(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_query(f: Filters) -> str:
    """The canonical query string (``""`` for the defaults, else ``?...``)."""
    pairs: list[tuple[str, str]] = []
    if f.start and f.end:
        pairs += [("from", _fmt(f.start)), ("to", _fmt(f.end))]
    elif f.range != DEFAULT_RANGE:
        pairs.append(("range", f.range))
    pairs += [("topic", t) for t in f.topics]
    for key in ("ticker", "source", "sentiment"):
        val = getattr(f, key)
        if val:
            pairs.append((key, val))
    return "?" + urlencode(pairs) if pairs else ""


def resolve_range(
    f: Filters, anchor: datetime, first: datetime | None
) -> tuple[datetime, datetime]:
    """The [start, end) the view covers.

    ``anchor`` is the end of the newest data (the wall clock for a live store, the end of the
    replay for a historical one), so a preset like "24h" always shows data. ``first`` is the
    oldest data, used by "all".
    """
    if f.start and f.end:
        return f.start, f.end
    span = RANGES.get(f.range)
    if span is None:
        start = first if first is not None and first < anchor else anchor - timedelta(days=1)
        return start, anchor
    return anchor - span, anchor
