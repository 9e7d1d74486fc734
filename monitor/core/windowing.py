"""Event-time tumbling windows per scope (topic, ticker, sector, source, all): pure, no I/O,
no clock.

A document counts in the ``sector:`` scope of each ticker and entity it carries, looked up
in a :class:`SectorLookup` the caller passes in (built from ingest/data/tickers.csv by
:func:`ingest.tickers.default_sector_lookup`); without one there are no sector scopes.

A document lands in the window ``[floor(t / size) * size, + size)`` of its published time ``t``
for every scope it belongs to. The watermark is the largest event time seen minus the allowed
lateness; a window whose end is at or before the watermark is closed. A document for a closed
window is *late*: it is not applied, it is counted in ``late`` of the current window (the one
holding the largest event time) of each of its scopes. A document within the lateness updates
its window and the window is reported again as updated.

Unscored documents (``ScoredDocument.scored`` False: unsupported language, model error) carry no
sentiment and are not counted. A redelivered document (same id in the same window) is counted
once, so at-least-once delivery does not inflate counts.

Times are float epoch seconds inside (fast and easy to serialise); records carry datetimes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from foundation.schemas import ScopeKind, ScoredDocument, WindowStat, isoformat
from foundation.sectors import SectorLookup

SCOPE_KINDS: tuple[ScopeKind, ...] = (
    "topic",
    "ticker",
    "sector",
    "source",
    "all",
    "entity",
    "watchlist",
    "story",
)
ALL = "all"
ALL_KEY = "all:all"


def scope_key(kind: str, scope: str) -> str:
    """``kind:scope``, the key of a scope in state tables (``topic:financials``)."""
    return f"{kind}:{scope}"


def split_scope_key(key: str) -> tuple[ScopeKind, str]:
    kind, _, scope = key.partition(":")
    if kind not in SCOPE_KINDS:
        raise ValueError(f"not a scope key: {key!r}")
    return kind, scope  # type: ignore[return-value]


def window_start(ts: float, size_s: int) -> int:
    """Start (epoch seconds) of the tumbling window holding ``ts``."""
    return int(ts // size_s) * size_s


def epoch(dt: datetime) -> float:
    return dt.timestamp() if dt.tzinfo else dt.replace(tzinfo=UTC).timestamp()


@lru_cache(maxsize=8192)
def from_epoch(ts: float) -> datetime:
    # Cached: every window stat of a batch shares a few window starts and ends (datetimes
    # are immutable, so sharing them is safe).
    return datetime.fromtimestamp(ts, UTC)


def doc_scope_keys(doc: ScoredDocument, sectors: SectorLookup | None = None) -> list[str]:
    """Scope keys a scored document counts in: all, its source, its topic, each ticker, each
    entity, and (given ``sectors``) the sector of each ticker and entity, each once."""
    d = doc.document
    keys = [ALL_KEY, "source:" + d.source]
    if doc.topic:
        keys.append("topic:" + doc.topic)
    for t in d.tickers:
        t = t.strip().upper()
        if t:
            k = "ticker:" + t
            if k not in keys:
                keys.append(k)
    for e in d.entities:
        k = "entity:" + e
        if k not in keys:
            keys.append(k)
    if sectors is not None:
        keys.extend("sector:" + s for s in sectors.sectors(d.tickers, d.entities))
    return keys


def evidence_item(doc: ScoredDocument) -> dict[str, Any]:
    d = doc.document
    return {
        "id": d.id,
        "title": d.title,
        "source": d.source,
        "link": d.link,
        "published": isoformat(d.published),
        "sentiment_probs": dict(doc.sentiment_probs),
        # The listed names it carries: links a sector or topic alert to the incident of the
        # name its headlines are about (monitor/core/incidents.py).
        "names": [*d.tickers, *d.entities],
    }


def outlet(doc: ScoredDocument) -> str:
    """Who published it: the link's host without ``www.``, else the source name."""
    d = doc.document
    host = ""
    if d.link:
        try:
            host = (urlsplit(d.link).hostname or "").lower()
        except ValueError:
            host = ""
    return host[4:] if host.startswith("www.") else host or d.source


def _ev_key(ev: dict[str, Any]) -> tuple[float, str]:
    return (float(ev["sentiment_probs"].get("negative", 0.0)), str(ev["id"]))


@dataclass(slots=True)
class WindowAcc:
    """Running aggregate of one window of one scope (mutable; serialisable to a dict)."""

    start: int
    count: int = 0
    negative: int = 0
    neutral: int = 0
    positive: int = 0
    score_sum: float = 0.0
    late: int = 0
    # The most negative documents (by p_negative, then id: a total order, so the kept set
    # does not depend on arrival order), most negative first.
    evidence: list[dict[str, Any]] = field(default_factory=list)
    # Ids counted (kept for the "all" scope only, which every document belongs to).
    ids: set[str] | None = None
    # Story scopes only: outlet -> whether one of its documents here read negative. The
    # pipeline turns these into counts of new outlets when the window closes (in event-time
    # order, so the result does not depend on arrival order: monitor/core/stories.py).
    outlets: dict[str, bool] | None = None

    def add(
        self,
        doc: ScoredDocument,
        p_neg: float,
        score: float,
        evidence_docs: int,
        any_sentiment: bool = False,
    ) -> None:
        """Count ``doc``; keep it as evidence if negative (any sentiment with
        ``any_sentiment``: a story's headlines are its evidence whatever the model says)."""
        self.count += 1
        s = doc.sentiment
        if s == "negative":
            self.negative += 1
        elif s == "positive":
            self.positive += 1
        else:
            self.neutral += 1
        self.score_sum += score
        if any_sentiment:
            who = outlet(doc)
            if self.outlets is None:
                self.outlets = {}
            self.outlets[who] = self.outlets.get(who, False) or s == "negative"
        if evidence_docs and (s == "negative" or any_sentiment):
            ev = self.evidence
            if len(ev) < evidence_docs:
                ev.append(evidence_item(doc))
                ev.sort(key=_ev_key, reverse=True)
            elif p_neg >= ev[-1]["sentiment_probs"].get("negative", 0.0) and (
                p_neg,
                doc.document.id,
            ) > _ev_key(ev[-1]):
                ev[-1] = evidence_item(doc)
                ev.sort(key=_ev_key, reverse=True)

    def to_stat(self, key: str, size_s: int) -> WindowStat:
        kind, scope = split_scope_key(key)
        return WindowStat(
            scope_kind=kind,
            scope=scope,
            window_start=from_epoch(self.start),
            window_end=from_epoch(self.start + size_s),
            count=self.count,
            negative=self.negative,
            neutral=self.neutral,
            positive=self.positive,
            score_sum=round(self.score_sum, 9),
            late=self.late,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": self.start,
            "count": self.count,
            "negative": self.negative,
            "neutral": self.neutral,
            "positive": self.positive,
            "score_sum": self.score_sum,
            "late": self.late,
            "evidence": self.evidence,
        }
        if self.ids is not None:
            out["ids"] = sorted(self.ids)
        if self.outlets is not None:
            out["o"] = dict(sorted(self.outlets.items()))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowAcc:
        ids = d.get("ids")
        return cls(
            start=int(d["start"]),
            count=int(d["count"]),
            negative=int(d["negative"]),
            neutral=int(d["neutral"]),
            positive=int(d["positive"]),
            score_sum=float(d["score_sum"]),
            late=int(d.get("late", 0)),
            evidence=list(d.get("evidence", [])),
            ids=set(ids) if ids is not None else None,
            outlets={str(k): bool(v) for k, v in d["o"].items()} if "o" in d else None,
        )


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """A final window: its scope key and aggregate (no more updates will be applied)."""

    key: str
    acc: WindowAcc


class WindowAggregator:
    """Open windows of every scope plus the watermark; ``add`` documents, then ``close_ready``.

    ``touched`` collects the (scope key, window start) pairs changed since the last
    :meth:`updates` call, so a stream shell can publish each changed window once per batch.
    """

    def __init__(
        self,
        size_s: int,
        lateness_s: int,
        evidence_docs: int = 5,
        track: bool = True,
        sectors: SectorLookup | None = None,
        extra_scopes: Callable[[ScoredDocument], list[str]] | None = None,
    ) -> None:
        if size_s <= 0:
            raise ValueError("window size must be positive")
        if lateness_s < 0:
            raise ValueError("allowed lateness must be >= 0")
        self.size_s = size_s
        self.lateness_s = lateness_s
        self.evidence_docs = evidence_docs
        self.track = track
        self.sectors = sectors
        # More scope keys of a document (emerging entities, watchlists), judged at add time.
        self.extra_scopes = extra_scopes
        self.windows: dict[str, dict[int, WindowAcc]] = {}
        self.max_ts: float | None = None
        self.late_total = 0
        self.duplicates = 0
        self.touched: set[tuple[str, int]] = set()
        # Windows end on multiples of size, and a new window always ends after the
        # watermark, so nothing can close until the watermark crosses the next boundary.
        self._scanned_boundary: float | None = None

    @property
    def watermark(self) -> float | None:
        return None if self.max_ts is None else self.max_ts - self.lateness_s

    def is_late(self, ts: float) -> bool:
        wm = self.watermark
        return wm is not None and window_start(ts, self.size_s) + self.size_s <= wm

    def advance_clock(self, ts: float | None) -> None:
        """Move the event clock (the watermark plus the lateness) forward to ``ts``; for a
        caller that computes it itself (per-partition watermarks, monitor.core.watermarks)."""
        if ts is not None and (self.max_ts is None or ts > self.max_ts):
            self.max_ts = ts

    def add(self, doc: ScoredDocument, advance_clock: bool = True) -> str:
        """Apply one document; returns ``"applied"``, ``"late"``, ``"duplicate"`` or
        ``"unscored"``. With ``advance_clock`` False the document does not move the event
        clock (see :meth:`advance_clock`); lateness is judged against the clock as it is."""
        if not doc.scored:
            return "unscored"
        ts = doc.document.published.timestamp()
        if advance_clock and (self.max_ts is None or ts > self.max_ts):
            self.max_ts = ts
        size = self.size_s
        keys = doc_scope_keys(doc, self.sectors)
        if self.is_late(ts):
            assert self.max_ts is not None
            current = window_start(self.max_ts, size)
            for key in keys:
                acc = self._acc(key, current)
                acc.late += 1
                self.touched.add((key, current))
            self.late_total += 1
            return "late"
        start = window_start(ts, size)
        all_acc = self._acc(ALL_KEY, start)
        ids = all_acc.ids
        if ids is None:
            ids = all_acc.ids = set()
        doc_id = doc.document.id
        if doc_id in ids:
            self.duplicates += 1
            return "duplicate"
        ids.add(doc_id)
        if self.extra_scopes is not None:
            # After the late and duplicate checks: a stateful scoper sees each document once.
            keys.extend(k for k in self.extra_scopes(doc) if k not in keys)
        probs = doc.sentiment_probs
        p_neg = float(probs.get("negative", 0.0))
        score = float(probs.get("positive", 0.0)) - p_neg
        n_ev = self.evidence_docs
        all_acc.add(doc, p_neg, score, n_ev)
        for key in keys[1:]:  # keys[0] is ALL_KEY
            self._acc(key, start).add(doc, p_neg, score, n_ev, key.startswith("story:"))
        if self.track:
            self.touched.update((key, start) for key in keys)
        return "applied"

    def _acc(self, key: str, start: int) -> WindowAcc:
        per = self.windows.get(key)
        if per is None:
            per = self.windows[key] = {}
        acc = per.get(start)
        if acc is None:
            acc = per[start] = WindowAcc(start)
        return acc

    def updates(self) -> list[WindowStat]:
        """Stats of the windows changed since the last call (open ones), in a stable order."""
        out = []
        for key, start in sorted(self.touched, key=lambda t: (t[1], t[0])):
            acc = self.windows.get(key, {}).get(start)
            if acc is not None:
                out.append(acc.to_stat(key, self.size_s))
        self.touched.clear()
        return out

    def close_ready(self, until: float | None = None) -> list[ClosedWindow]:
        """Remove and return every window ending at or before ``until`` (default: the
        watermark), ordered by window start then scope key."""
        limit = self.watermark if until is None else until
        if limit is None:
            return []
        boundary = limit // self.size_s if limit != float("inf") else limit
        if boundary == self._scanned_boundary:
            return []
        self._scanned_boundary = boundary
        out: list[ClosedWindow] = []
        size = self.size_s
        for key in list(self.windows):
            per = self.windows[key]
            for start in [s for s in per if s + size <= limit]:
                out.append(ClosedWindow(key, per.pop(start)))
            if not per:
                del self.windows[key]
        out.sort(key=lambda c: (c.acc.start, c.key))
        return out

    def close_all(self) -> list[ClosedWindow]:
        """Close every open window (end of a finite archive)."""
        return self.close_ready(until=float("inf"))
