"""Read-only queries over the store tables (foundation/store.py) that the pages draw from.

Charts read the pre-aggregated ``window_stats`` (grouped into coarser buckets in SQL when a
long range is shown), drill-downs read ``documents`` through its (topic|source, published)
indexes with a LIMIT, so every query stays fast on a store with millions of documents.
Every function takes the engine and explicit times; nothing reads the clock. SQLite returns
naive datetimes; they are UTC and come back aware.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    desc,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from foundation.store import (
    alerts,
    corrections,
    dead_letters,
    deliveries,
    documents,
    source_health,
    window_stats,
)

log = logging.getLogger(__name__)

# Bucket sizes a chart may use, coarsest last; the first one >= span / max_points wins.
_BUCKETS_S = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 7 * 86400)


def utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    if isinstance(dt, str):  # a raw SQLite value from a bare column expression
        dt = datetime.fromisoformat(dt)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _db(dt: datetime) -> datetime:
    # Store and compare in UTC; SQLite keeps the wall time without the offset.
    return dt.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Bucket:
    scope: str
    start: datetime
    count: int
    negative: int
    neutral: int
    positive: int
    score_sum: float

    @property
    def negative_share(self) -> float:
        return self.negative / self.count if self.count else 0.0

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.count if self.count else 0.0


@dataclass(frozen=True, slots=True)
class DocRow:
    id: str
    title: str
    summary: str
    source: str
    link: str
    published: datetime
    topic: str | None
    sentiment: str | None
    score: float
    tickers: tuple[str, ...] = ()
    topic_probs: dict[str, float] = field(default_factory=dict)
    sentiment_probs: dict[str, float] = field(default_factory=dict)
    model: str = ""
    scored: bool = True

    @property
    def text(self) -> str:
        return self.title if self.title else self.summary

    def api_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "published": self.published.isoformat().replace("+00:00", "Z"),
            "topic": self.topic,
            "sentiment": self.sentiment,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class AlertRow:
    fingerprint: str
    starts_at: datetime
    rule: str
    scope_kind: str
    scope: str
    status: str
    ends_at: datetime | None
    updated_at: datetime
    payload: dict[str, Any]

    @property
    def figures(self) -> dict[str, float]:
        return dict(self.payload.get("figures") or {})

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return list(self.payload.get("evidence") or [])

    @property
    def key(self) -> str:
        return f"{self.fingerprint}|{self.starts_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    fingerprint: str
    status: str
    sink: str
    state: str
    attempts: int
    error: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    fingerprint: str
    status: str
    sink: str
    error: str
    attempts: int
    at: datetime
    scope: str


@dataclass(frozen=True, slots=True)
class SourceRow:
    source: str
    fetched: int
    published: int
    duplicates: int
    errors: int
    last_success: datetime | None
    last_error: str | None
    updated_at: datetime | None
    docs_last_hour: int
    docs_per_hour: float  # over the 24 h before the anchor
    newest: datetime | None


@dataclass(frozen=True, slots=True)
class Headline:
    day: datetime  # UTC midnight of the anchor's day
    documents_today: int
    negative_share_today: float | None
    negative_share_baseline: float | None  # the 7 days before ``day``
    alerts_firing: int


@dataclass(frozen=True, slots=True)
class CorrectionRow:
    document_id: str
    field: str
    old: str | None
    new: str
    user: str
    at: datetime


# ---------------------------------------------------------------- extent and buckets


def data_extent(engine: Engine) -> tuple[datetime | None, datetime | None]:
    """(oldest window start, newest window end) in window_stats; (None, None) when empty."""
    with engine.connect() as conn:
        first = conn.execute(select(func.min(window_stats.c.window_start))).scalar()
        last = conn.execute(select(func.max(window_stats.c.window_start))).scalar()
        if last is None:
            return None, None
        end = conn.execute(
            select(window_stats.c.window_end).where(window_stats.c.window_start == last).limit(1)
        ).scalar()
    return utc(first), utc(end) or utc(last)


def anchor_time(engine: Engine, now: datetime) -> tuple[datetime, datetime | None]:
    """(end of the newest data, or ``now`` for an empty store; start of the oldest data)."""
    first, last = data_extent(engine)
    return (last or now), first


def choose_bucket(span: timedelta, window_s: int, max_points: int = 300) -> int:
    """Bucket seconds for a chart over ``span``: no finer than the window, <= max_points."""
    need = max(span.total_seconds() / max_points, window_s)
    for b in _BUCKETS_S:
        if b >= need and b % window_s == 0:
            return b
    return max(_BUCKETS_S[-1], window_s)


def _epoch(engine: Engine, col: Any) -> ColumnElement[Any]:
    if engine.dialect.name == "sqlite":
        return cast(func.strftime("%s", col), Integer)
    return cast(func.floor(func.extract("epoch", col)), Integer)


def window_buckets(
    engine: Engine,
    scope_kind: str,
    start: datetime,
    end: datetime,
    bucket_s: int,
    scopes: Sequence[str] | None = None,
    window_s: int | None = None,
) -> list[Bucket]:
    """Window stats of ``scope_kind`` (optionally only ``scopes``) summed per bucket.

    Sorted by scope, then time. When ``bucket_s`` equals the window size the rows are read
    as they are (no grouping).
    """
    ws = window_stats.c
    where = [ws.scope_kind == scope_kind, ws.window_start >= _db(start), ws.window_start < _db(end)]
    if scopes is not None:
        if not scopes:
            return []
        where.append(ws.scope.in_(list(scopes)))
    if window_s is not None and bucket_s == window_s:
        stmt = (
            select(
                ws.scope,
                ws.window_start,
                ws.count,
                ws.negative,
                ws.neutral,
                ws.positive,
                ws.score_sum,
            )
            .where(*where)
            .order_by(ws.scope, ws.window_start)
        )
        with engine.connect() as conn:
            return [
                Bucket(r[0], utc(r[1]), r[2], r[3], r[4], r[5], r[6])  # type: ignore[arg-type]
                for r in conn.execute(stmt)
            ]
    ep = _epoch(engine, ws.window_start)
    b = literal(bucket_s, Integer)
    bucket = (ep // b) * b
    stmt = (
        select(
            ws.scope,
            bucket.label("b"),
            func.sum(ws.count),
            func.sum(ws.negative),
            func.sum(ws.neutral),
            func.sum(ws.positive),
            func.sum(ws.score_sum),
        )
        .where(*where)
        .group_by(ws.scope, "b")
        .order_by(ws.scope, "b")
    )
    with engine.connect() as conn:
        return [
            Bucket(
                r[0],
                datetime.fromtimestamp(int(r[1]), UTC),
                int(r[2]),
                int(r[3]),
                int(r[4]),
                int(r[5]),
                float(r[6]),
            )
            for r in conn.execute(stmt)
        ]


def top_scopes(
    engine: Engine, scope_kind: str, start: datetime, end: datetime, limit: int = 50
) -> list[tuple[str, int]]:
    """The busiest scopes of a kind in the range: [(scope, documents)]."""
    ws = window_stats.c
    total = func.sum(ws.count).label("n")
    stmt = (
        select(ws.scope, total)
        .where(
            ws.scope_kind == scope_kind,
            ws.window_start >= _db(start),
            ws.window_start < _db(end),
        )
        .group_by(ws.scope)
        .order_by(desc("n"))
        .limit(limit)
    )
    with engine.connect() as conn:
        return [(r[0], int(r[1])) for r in conn.execute(stmt)]


def totals(
    engine: Engine, start: datetime, end: datetime, scope_kind: str = "all"
) -> tuple[int, int]:
    """(documents, negative) over the range from window stats of ``scope_kind``."""
    ws = window_stats.c
    stmt = select(func.sum(ws.count), func.sum(ws.negative)).where(
        ws.scope_kind == scope_kind, ws.window_start >= _db(start), ws.window_start < _db(end)
    )
    with engine.connect() as conn:
        n, neg = conn.execute(stmt).one()
    return int(n or 0), int(neg or 0)


def headline(engine: Engine, anchor: datetime) -> Headline:
    """Documents on the anchor's UTC day, its negative share versus the 7 days before, firing."""
    day = anchor.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    nxt = day + timedelta(days=1)
    d = documents.c
    with engine.connect() as conn:
        docs_today = conn.execute(
            select(func.count())
            .select_from(documents)
            .where(d.published >= _db(day), d.published < _db(nxt))
        ).scalar_one()
        firing = conn.execute(
            select(func.count()).select_from(alerts).where(alerts.c.status == "firing")
        ).scalar_one()
    # Shares from the "all" scope; a store without it (custom aggregation) sums the topics.
    kind = "all"
    n, neg = totals(engine, day, nxt, kind)
    if n == 0:
        kind = "topic"
        n, neg = totals(engine, day, nxt, kind)
    bn, bneg = totals(engine, day - timedelta(days=7), day, kind)
    return Headline(
        day=day,
        documents_today=int(docs_today),
        negative_share_today=neg / n if n else None,
        negative_share_baseline=bneg / bn if bn else None,
        alerts_firing=int(firing),
    )


# ---------------------------------------------------------------- documents

_DOC_COLS = (
    documents.c.id,
    documents.c.title,
    documents.c.summary,
    documents.c.source,
    documents.c.link,
    documents.c.published,
    documents.c.topic,
    documents.c.sentiment,
    documents.c.score,
    documents.c.tickers,
    documents.c.topic_probs,
    documents.c.sentiment_probs,
    documents.c.model,
    documents.c.scored,
)


def _doc(r: Any) -> DocRow:
    return DocRow(
        id=r.id,
        title=r.title,
        summary=r.summary or "",
        source=r.source,
        link=r.link or "",
        published=utc(r.published),  # type: ignore[arg-type]
        topic=r.topic,
        sentiment=r.sentiment,
        score=float(r.score or 0.0),
        tickers=tuple(r.tickers or ()),
        topic_probs=dict(r.topic_probs or {}),
        sentiment_probs=dict(r.sentiment_probs or {}),
        model=r.model or "",
        scored=bool(r.scored),
    )


def ticker_clause(sym: str) -> ColumnElement[bool]:
    # tickers is a JSON array; its text holds "SYM" with the quotes, and symbols are
    # validated upper-case [A-Z0-9.-^=] (filters.normalise_ticker), so no LIKE escaping.
    return cast(documents.c.tickers, String).like(f'%"{sym}"%')


def find_documents(
    engine: Engine,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    topic: str | None = None,
    topics: Iterable[str] = (),
    ticker: str | None = None,
    any_tickers: Iterable[str] | None = None,
    title_terms: Iterable[str] = (),
    source: str | None = None,
    sentiment: str | None = None,
    limit: int = 100,
) -> list[DocRow]:
    """Newest first, at most ``limit``, in [start, end) when given. ``any_tickers`` (with
    ``title_terms``, names matched in the title) keeps documents carrying any of those
    tickers or naming any of those terms: a sector page's documents."""
    d = documents.c
    where: list[ColumnElement[bool]] = []
    if start is not None:
        where.append(d.published >= _db(start))
    if end is not None:
        where.append(d.published < _db(end))
    if topic:
        where.append(d.topic == topic)
    topic_list = list(topics)
    if topic_list:
        where.append(d.topic.in_(topic_list))
    if ticker:
        where.append(ticker_clause(ticker))
    if any_tickers is not None:
        anyof = [ticker_clause(t) for t in sorted(set(any_tickers))]
        anyof += [d.title.contains(t, autoescape=True) for t in sorted(set(title_terms))]
        where.append(or_(False, *anyof))
    if source:
        where.append(d.source == source)
    if sentiment:
        where.append(d.sentiment == sentiment)
    stmt = select(*_DOC_COLS).where(and_(True, *where)).order_by(d.published.desc()).limit(limit)
    with engine.connect() as conn:
        return [_doc(r) for r in conn.execute(stmt)]


def get_document(engine: Engine, doc_id: str) -> DocRow | None:
    with engine.connect() as conn:
        r = conn.execute(select(*_DOC_COLS).where(documents.c.id == doc_id)).first()
    return _doc(r) if r is not None else None


def corrections_for(engine: Engine, doc_id: str) -> list[CorrectionRow]:
    c = corrections.c
    stmt = select(c.document_id, c.field, c.old, c.new, c.user, c.at).where(c.document_id == doc_id)
    with engine.connect() as conn:
        rows = [
            CorrectionRow(r[0], r[1], r[2], r[3], r[4], utc(r[5]))  # type: ignore[arg-type]
            for r in conn.execute(stmt.order_by(c.id))
        ]
    return rows


# ---------------------------------------------------------------- alerts


def _alert(r: Any) -> AlertRow:
    return AlertRow(
        fingerprint=r.fingerprint,
        starts_at=utc(r.starts_at),  # type: ignore[arg-type]
        rule=r.rule,
        scope_kind=r.scope_kind,
        scope=r.scope,
        status=r.status,
        ends_at=utc(r.ends_at),
        updated_at=utc(r.updated_at),  # type: ignore[arg-type]
        payload=dict(r.payload or {}),
    )


def find_alerts(
    engine: Engine,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    scope_kind: str | None = None,
    scopes: Iterable[str] = (),
    limit: int = 200,
) -> list[AlertRow]:
    """Alerts overlapping [start, end): firing first, then newest first."""
    a = alerts.c
    where: list[ColumnElement[bool]] = []
    if end is not None:
        where.append(a.starts_at < _db(end))
    if start is not None:
        where.append(or_(a.ends_at.is_(None), a.ends_at >= _db(start)))
    if status:
        where.append(a.status == status)
    if scope_kind:
        where.append(a.scope_kind == scope_kind)
    scope_list = list(scopes)
    if scope_list:
        where.append(a.scope.in_(scope_list))
    firing_first = case((a.status == "firing", 0), else_=1)
    stmt = (
        select(alerts)
        .where(and_(True, *where))
        .order_by(firing_first, a.starts_at.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_alert(r) for r in conn.execute(stmt)]


def deliveries_for(engine: Engine, fingerprints: Iterable[str]) -> dict[str, list[DeliveryRow]]:
    fps = sorted(set(fingerprints))
    if not fps:
        return {}
    c = deliveries.c
    stmt = (
        select(c.fingerprint, c.status, c.sink, c.state, c.attempts, c.error, c.at)
        .where(c.fingerprint.in_(fps))
        .order_by(c.fingerprint, c.at)
    )
    out: dict[str, list[DeliveryRow]] = {}
    with engine.connect() as conn:
        for r in conn.execute(stmt):
            out.setdefault(r[0], []).append(
                DeliveryRow(r[0], r[1], r[2], r[3], int(r[4]), r[5], utc(r[6]))  # type: ignore[arg-type]
            )
    return out


def _scope_of(payload: Any) -> str:
    p = payload or {}
    return f"{p.get('scope_kind', '?')}={p.get('scope', '?')}"


def find_dead_letters(engine: Engine, limit: int = 100) -> list[DeadLetterRow]:
    c = dead_letters.c
    stmt = select(dead_letters).order_by(c.at.desc()).limit(limit)
    with engine.connect() as conn:
        return [
            DeadLetterRow(
                fingerprint=r.fingerprint,
                status=r.status,
                sink=r.sink,
                error=r.error,
                attempts=int(r.attempts),
                at=utc(r.at),  # type: ignore[arg-type]
                scope=_scope_of(r.payload),
            )
            for r in conn.execute(stmt)
        ]


# ---------------------------------------------------------------- sources


def source_rows(engine: Engine, anchor: datetime) -> list[SourceRow]:
    """Health counters per source, with documents in the last hour and per hour over 24 h."""
    d = documents.c
    day_ago, hour_ago = anchor - timedelta(hours=24), anchor - timedelta(hours=1)
    recent = case((d.published >= _db(hour_ago), 1), else_=0)
    stmt = (
        select(d.source, func.count(), func.sum(recent), func.max(d.published))
        .where(d.published >= _db(day_ago), d.published <= _db(anchor))
        .group_by(d.source)
    )
    with engine.connect() as conn:
        counts = {r[0]: (int(r[1]), int(r[2] or 0), utc(r[3])) for r in conn.execute(stmt)}
        health = list(conn.execute(select(source_health)))
    out: list[SourceRow] = []
    seen: set[str] = set()
    for h in health:
        n, last_hour, newest = counts.get(h.source, (0, 0, None))
        seen.add(h.source)
        out.append(
            SourceRow(
                source=h.source,
                fetched=int(h.fetched or 0),
                published=int(h.published or 0),
                duplicates=int(h.duplicates or 0),
                errors=int(h.errors or 0),
                last_success=utc(h.last_success),
                last_error=h.last_error,
                updated_at=utc(h.updated_at),
                docs_last_hour=last_hour,
                docs_per_hour=n / 24.0,
                newest=newest,
            )
        )
    # Sources seen only through documents (a replay has no fetch health) still show.
    for src, (n, last_hour, newest) in counts.items():
        if src not in seen:
            out.append(SourceRow(src, 0, 0, 0, 0, None, None, None, last_hour, n / 24.0, newest))
    out.sort(key=lambda r: (-r.errors, r.source))
    return out


def source_names(engine: Engine, start: datetime, end: datetime, limit: int = 100) -> list[str]:
    """Sources for the filter: those with health rows and the busiest in the range."""
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(select(source_health.c.source))}
    names.update(s for s, _ in top_scopes(engine, "source", start, end, limit))
    return sorted(names)
