"""The SQL store (SQLite by default, PostgreSQL in production): idempotent writes only.

Every write is an upsert keyed by the record's natural id, so at-least-once redelivery from
Kafka never duplicates a row. The dashboard reads these tables and nothing else.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from foundation import metrics
from foundation.errors import StoreError
from foundation.redact import mask_url, redact
from foundation.retry import backoff_delay
from foundation.schemas import Alert, ScoredDocument, WindowStat, utcnow
from foundation.settings import StoreSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

metadata = MetaData()

documents = Table(
    "documents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("link", Text, nullable=False, default=""),
    Column("published", DateTime(timezone=True), nullable=False),
    Column("language", String(16)),
    Column("kind", String(8), nullable=False, default="news"),
    Column("tickers", JSON, nullable=False, default=list),
    Column("scored", Boolean, nullable=False, default=True),
    Column("topic", String(40)),
    Column("sentiment", String(10)),
    Column("score", Float, nullable=False, default=0.0),
    Column("topic_probs", JSON, nullable=False, default=dict),
    Column("sentiment_probs", JSON, nullable=False, default=dict),
    Column("model", String(200), nullable=False, default=""),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("skip_reason", String(60)),
    Index("ix_documents_published", "published"),
    Index("ix_documents_topic_published", "topic", "published"),
    Index("ix_documents_source_published", "source", "published"),
)

window_stats = Table(
    "window_stats",
    metadata,
    Column("scope_kind", String(8), primary_key=True),
    Column("scope", String(200), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
    Column("negative", Integer, nullable=False),
    Column("neutral", Integer, nullable=False),
    Column("positive", Integer, nullable=False),
    Column("score_sum", Float, nullable=False),
    Column("late", Integer, nullable=False, default=0),
    Index("ix_window_stats_start", "window_start"),
    # Dashboard: the charts read one scope kind over a time range; covering, so SQLite
    # answers from the index alone (bench/dashboard.py).
    Index(
        "ix_window_stats_kind_start_cover",
        "scope_kind",
        "window_start",
        "scope",
        "count",
        "negative",
        "neutral",
        "positive",
        "score_sum",
    ),
)

# One row per alert episode: fingerprint + starts_at. A resolve updates the same row.
alerts = Table(
    "alerts",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("starts_at", DateTime(timezone=True), primary_key=True),
    Column("rule", String(80), nullable=False),
    Column("scope_kind", String(8), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("status", String(10), nullable=False),
    Column("ends_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=False),
    Index("ix_alerts_status", "status"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("status", String(10), primary_key=True),
    Column("updated_at", DateTime(timezone=True), primary_key=True),
    Column("sink", String(80), primary_key=True),
    Column("state", String(12), nullable=False),  # delivered | failed | dead
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("status", String(10), primary_key=True),
    Column("updated_at", DateTime(timezone=True), primary_key=True),
    Column("sink", String(80), primary_key=True),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(64), nullable=False, index=True),
    Column("field", String(10), nullable=False),  # sentiment | topic
    Column("old", String(40)),
    Column("new", String(40), nullable=False),
    Column("user", String(80), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

source_health = Table(
    "source_health",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("fetched", Integer, nullable=False, default=0),
    Column("published", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("last_success", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the dashboard read while the worker writes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _transient(exc: BaseException) -> bool:
    """A failure worth retrying: the connection went away, a deadlock or serialization
    failure (PostgreSQL), or a busy SQLite file."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in ("40P01", "40001"):  # deadlock_detected, serialization_failure
        return True
    return isinstance(exc, OperationalError)


def retrying(fn: Callable[[], T], retries: int, what: str, base_s: float = 0.05) -> T:
    """``fn()``, retried on transient errors; a permanent error or the last one is a
    StoreError naming ``what``. Only idempotent work may be passed (the upserts)."""
    for failures in itertools.count(1):
        try:
            return fn()
        except SQLAlchemyError as exc:
            if failures > retries or not _transient(exc):
                raise StoreError(f"{what} failed: {redact(str(exc))}") from None
            delay = backoff_delay(failures, base=base_s, cap=5.0)
            log.warning("store: %s failed (%s); retry %d in %.2fs", what, exc, failures, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def make_engine(url: str, create: bool = True, options: StoreSettings | None = None) -> Engine:
    """Engine for ``url``; with ``create``, creates the SQLite folder and the schema of an
    empty database, and refuses a database whose schema is older than the code."""
    opts = options or StoreSettings(url=url)
    shown = mask_url(url)  # errors name the store, never its password
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, a read-only data dir
            blocker = next((p for p in (folder, *folder.parents) if p.is_file()), None)
            reason = f"{blocker} is a file" if blocker else (exc.strerror or str(exc))
            raise StoreError(f"cannot create the store folder {folder}: {reason}") from None
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        kwargs.update(
            pool_size=opts.pool_size,
            max_overflow=opts.max_overflow,
            pool_timeout=opts.pool_timeout_s,
            # A connection dropped by a database restart is noticed before use, not mid-write.
            pool_pre_ping=True,
            pool_recycle=1800,
        )
    try:
        engine = create_engine(url, future=True, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot open store {shown!r}: {redact(str(exc))}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        from foundation.store import schema

        _wait_for(engine, opts.connect_timeout_s)
        schema.prepare(engine)
        ensure_indexes(engine)
    return engine


def _wait_for(engine: Engine, timeout_s: float) -> None:
    """Wait (bounded) for a database that is still starting, e.g. beside a fresh container."""
    deadline = time.monotonic() + timeout_s
    for failures in itertools.count(1):
        try:
            with engine.connect():
                return
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                shown = engine.url.render_as_string(hide_password=True)
                raise StoreError(
                    f"cannot connect to the store {shown!r}: {redact(str(exc))}"
                ) from None
            delay = min(backoff_delay(failures, base=0.2, cap=5.0), timeout_s)
            log.warning("store not reachable yet (%s); retrying in %.1fs", exc, delay)
            time.sleep(delay)


def ensure_indexes(engine: Engine) -> None:
    """Create the indexes the dashboard reads through, on a store made before they existed.

    ``create_all`` only creates missing tables, so an older store lacks newer indexes.
    Failing (e.g. a read-only database user) only costs speed, so it is logged, not raised.
    """
    for table in (documents, window_stats, alerts):
        for idx in table.indexes:
            try:
                idx.create(bind=engine, checkfirst=True)
            except SQLAlchemyError as exc:
                log.warning("cannot create index %s (queries will be slower): %s", idx.name, exc)


def _upsert(engine: Engine, table: Table, rows: Sequence[dict[str, Any]], retries: int = 5) -> int:
    if not rows:
        return 0
    keys = [c.name for c in table.primary_key.columns]
    ins: Any
    if engine.dialect.name == "postgresql":
        ins = postgresql.insert(table)
    else:
        ins = sqlite.insert(table)
    update = {c.name: ins.excluded[c.name] for c in table.columns if c.name not in keys}
    stmt = ins.on_conflict_do_update(index_elements=keys, set_=update)
    # Rows in key order: concurrent workers upserting overlapping batches then lock rows in
    # the same order and cannot deadlock each other (PostgreSQL).
    ordered = sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))

    def write() -> None:
        with metrics.timed(metrics.STORE_WRITE_SECONDS, table.name), engine.begin() as conn:
            conn.execute(stmt, ordered)

    retrying(write, retries, f"writing {len(rows)} rows to {table.name}")
    return len(rows)


def scored_row(s: ScoredDocument) -> dict[str, Any]:
    d = s.document
    return {
        "id": d.id,
        "source": d.source,
        "title": d.title,
        "summary": d.summary,
        "link": d.link,
        "published": d.published,
        "language": d.language,
        "kind": d.kind,
        "tickers": list(d.tickers),
        "scored": s.scored,
        "topic": s.topic,
        "sentiment": s.sentiment,
        "score": s.score,
        "topic_probs": s.topic_probs,
        "sentiment_probs": s.sentiment_probs,
        "model": s.model,
        "scored_at": s.scored_at,
        "skip_reason": s.skip_reason,
    }


def window_row(w: WindowStat) -> dict[str, Any]:
    return w.model_dump(exclude={"schema_version"})


def alert_row(a: Alert) -> dict[str, Any]:
    return {
        "fingerprint": a.fingerprint,
        "starts_at": a.starts_at,
        "rule": a.rule,
        "scope_kind": a.scope_kind,
        "scope": a.scope,
        "status": a.status,
        "ends_at": a.ends_at,
        "updated_at": a.updated_at,
        "payload": json.loads(a.model_dump_json()),
    }


class Store:
    """Thin write/read facade over the tables; one per process."""

    def __init__(self, url: str, create: bool = True, options: StoreSettings | None = None) -> None:
        self.url = url
        self.options = options or StoreSettings(url=url)
        self.engine = make_engine(url, create=create, options=self.options)

    @classmethod
    def from_settings(cls, settings: StoreSettings, create: bool = True) -> Store:
        """The store of ``settings.store`` with its pool and retry settings."""
        return cls(settings.url, create=create, options=settings)

    def upsert_scored(self, docs: Iterable[ScoredDocument]) -> int:
        # Last write per id wins inside one batch too (a batch may hold a redelivery).
        rows = {s.id: scored_row(s) for s in docs}
        return _upsert(self.engine, documents, list(rows.values()), self.options.retries)

    def upsert_window_stats(self, stats: Iterable[WindowStat]) -> int:
        rows = {(w.scope_kind, w.scope, w.window_start): window_row(w) for w in stats}
        return _upsert(self.engine, window_stats, list(rows.values()), self.options.retries)

    def upsert_alerts(self, items: Iterable[Alert]) -> int:
        rows = {(a.fingerprint, a.starts_at): alert_row(a) for a in items}
        return _upsert(self.engine, alerts, list(rows.values()), self.options.retries)

    def record_delivery(
        self,
        alert: Alert,
        sink: str,
        state: str,
        attempts: int,
        error: str | None = None,
    ) -> None:
        row = {
            "fingerprint": alert.fingerprint,
            "status": alert.status,
            "updated_at": alert.updated_at,
            "sink": sink,
            "state": state,
            "attempts": attempts,
            "error": error,
            "at": utcnow(),
        }
        _upsert(self.engine, deliveries, [row], self.options.retries)
        if state == "dead":
            dead = {k: row[k] for k in ("fingerprint", "status", "updated_at", "sink", "at")}
            dead.update(
                error=error or "", attempts=attempts, payload=json.loads(alert.model_dump_json())
            )
            _upsert(self.engine, dead_letters, [dead], self.options.retries)

    def add_correction(
        self, document_id: str, field: str, new: str, user: str, at: datetime | None = None
    ) -> None:
        if field not in ("sentiment", "topic"):
            raise StoreError(f"cannot correct field {field!r}: only sentiment or topic")
        with self.engine.begin() as conn:
            old = conn.execute(
                select(documents.c[field]).where(documents.c.id == document_id)
            ).scalar_one_or_none()
            if (
                old is None
                and conn.execute(
                    select(documents.c.id).where(documents.c.id == document_id)
                ).first()
                is None
            ):
                raise StoreError(f"no document with id {document_id!r}")
            conn.execute(
                corrections.insert().values(
                    document_id=document_id,
                    field=field,
                    old=old,
                    new=new,
                    user=user,
                    at=at or utcnow(),
                )
            )

    def upsert_source_health(self, rows: Iterable[dict[str, Any]]) -> int:
        now = utcnow()
        return _upsert(
            self.engine,
            source_health,
            [{**r, "updated_at": now} for r in rows],
            self.options.retries,
        )

    def source_health_rows(self) -> list[dict[str, Any]]:
        """Every source's stored health row (counters, last success and error), as dicts."""
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(source_health)).mappings().all()]

    def was_delivered(self, alert: Alert, sink: str) -> bool:
        """True when this very notification (fingerprint, status, update) reached ``sink``."""
        c = deliveries.c
        stmt = select(c.state).where(
            and_(
                c.fingerprint == alert.fingerprint,
                c.status == alert.status,
                c.updated_at == alert.updated_at,
                c.sink == sink,
            )
        )
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one_or_none() == "delivered"

    def firing_alert_payloads(self) -> list[dict[str, Any]]:
        """The stored payload of every alert row whose status is firing."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(alerts.c.payload).where(alerts.c.status == "firing"))
            return [payload for (payload,) in rows.all()]

    def corrections_with_text(self, task: str) -> list[tuple[str, str, str | None, str | None]]:
        """(document id, new label, title, summary) of every correction of ``task`` to a
        stored document, oldest first per document."""
        c, d = corrections.c, documents.c
        stmt = (
            select(c.document_id, c.new, d.title, d.summary)
            .join(documents, d.id == c.document_id)
            .where(c.field == task)
            .order_by(c.document_id, c.id)
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1], r[2], r[3]) for r in conn.execute(stmt).all()]

    def dispose(self) -> None:
        self.engine.dispose()
