"""The SQL store (SQLite by default, PostgreSQL in production): idempotent writes only.

Every write is an upsert keyed by the record's natural id, so at-least-once redelivery from
Kafka never duplicates a row. The dashboard reads these tables and nothing else.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
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


# The outbox (monitor/stream/delivery.py): every notification, per sink, persisted before it
# is sent. ``key`` is the idempotent notification key (subject + status + update time, see
# monitor/core/outbox.py); (key, sink) is unique, so an alert event redelivered by Kafka or
# re-enqueued after a restart is stored once. ``id`` gives the order of a sink's queue.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("sink", String(80), nullable=False),
    Column("subject", String(200), nullable=False),  # the alert episode (or an incident)
    Column("fingerprint", String(64), nullable=False),
    Column("rule", String(80), nullable=False),
    Column("status", String(10), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=False),
    # pending | delivered | dead | silenced | folded | superseded
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("dead_reason", String(12)),  # age | retries | rejected
    Column("silence_id", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deadline_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    Index("ux_outbox_key_sink", "key", "sink", unique=True),
    Index("ix_outbox_sink_state", "sink", "state", "id"),
)

# Which process sends to a sink now: one holder per sink keeps a sink's order and exactly-once.
outbox_leases = Table(
    "outbox_leases",
    metadata,
    Column("sink", String(80), primary_key=True),
    Column("owner", String(80), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
)

silences = Table(
    "silences",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("matchers", JSON, nullable=False),  # ["scope_kind=ticker", "scope=SIVB"]
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expired_by", String(80)),
)

# One acknowledgement per alert episode (fingerprint + starts_at, the alerts table's key).
alert_acks = Table(
    "alert_acks",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("starts_at", DateTime(timezone=True), primary_key=True),
    Column("user", String(80), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("at", DateTime(timezone=True), nullable=False),
)

# Every operator action on alerts (silence, unsilence, ack, redeliver, test-sink): who, when.
alert_audit = Table(
    "alert_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user", String(80), nullable=False),
    Column("action", String(20), nullable=False),
    Column("target", String(300), nullable=False),
    Column("detail", JSON, nullable=False, default=dict),
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


def _upsert_stmt(dialect: str, table: Table, keys: Sequence[str] | None = None) -> Any:
    """INSERT ... ON CONFLICT (keys: the primary key unless given) DO UPDATE the rest."""
    keys = list(keys) if keys is not None else [c.name for c in table.primary_key.columns]
    ins: Any = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    update = {
        c.name: ins.excluded[c.name]
        for c in table.columns
        if c.name not in keys and not c.primary_key
    }
    return ins.on_conflict_do_update(index_elements=keys, set_=update)


@dataclass(frozen=True, slots=True)
class _Plan:
    """An upsert compiled once for SQLite: the SQL text and, per parameter, the column
    type's own bind processor (None: passed as is)."""

    sql: str
    names: tuple[str, ...]
    procs: tuple[Callable[[Any], Any] | None, ...]

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            v if p is None or v is None else p(v)
            for v, p in zip((row[n] for n in self.names), self.procs, strict=True)
        )


_plans: weakref.WeakKeyDictionary[Any, dict[str, _Plan]] = weakref.WeakKeyDictionary()


def _sqlite_plan(engine: Engine, table: Table, stmt: Any, row: dict[str, Any]) -> _Plan | None:
    """The compiled upsert for rows carrying every column of ``table`` on SQLite, else None.
    Same statement, same type processing as ``conn.execute(stmt, rows)``, without
    SQLAlchemy's per-row parameter building (most of a batch's write time in the worker's
    profile, docs/performance.md)."""
    dialect = engine.dialect
    if dialect.name != "sqlite" or set(row) != {c.name for c in table.columns}:
        return None
    per = _plans.setdefault(dialect, {})
    plan = per.get(table.name)
    if plan is None:
        compiled = stmt.compile(dialect=dialect, column_keys=[c.name for c in table.columns])
        names = tuple(compiled.positiontup or ())
        if set(names) != set(row):
            return None
        procs = tuple(table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
        plan = per[table.name] = _Plan(str(compiled), names, procs)
    return plan


def _upsert(engine: Engine, table: Table, rows: Sequence[dict[str, Any]], retries: int = 5) -> int:
    if not rows:
        return 0
    keys = [c.name for c in table.primary_key.columns]
    stmt = _upsert_stmt(engine.dialect.name, table)
    # Rows in key order: concurrent workers upserting overlapping batches then lock rows in
    # the same order and cannot deadlock each other (PostgreSQL).
    ordered = sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))
    plan = _sqlite_plan(engine, table, stmt, ordered[0])

    def write(batch: Sequence[dict[str, Any]]) -> None:
        with metrics.timed(metrics.STORE_WRITE_SECONDS, table.name), engine.begin() as conn:
            if plan is None:
                conn.execute(stmt, batch)
            else:
                conn.exec_driver_sql(plan.sql, [plan.params(r) for r in batch])

    try:
        retrying(lambda: write(ordered), retries, f"writing {len(rows)} rows to {table.name}")
        return len(rows)
    except StoreError:
        if len(ordered) == 1:
            raise
    # One bad row must not lose its neighbours: the batch was rolled back as a whole, so each
    # row goes alone; a row the database refuses is logged with its key and counted, the
    # rest are stored. (A store that is down fails every row: that is still raised.)
    written, refused = 0, 0
    for row in ordered:
        key = ", ".join(f"{k}={str(row[k])[:80]!r}" for k in keys)
        try:
            write([row])
            written += 1
        except SQLAlchemyError as exc:
            if _transient(exc):  # the store itself is failing, not this row
                raise StoreError(f"writing to {table.name} failed: {redact(str(exc))}") from None
            refused += 1
            metrics.STORE_REJECTED_ROWS.labels(table.name).inc()
            log.error(
                "store: %s row %s refused, the rest of its batch kept: %s",
                table.name,
                key,
                redact(str(exc).splitlines()[0]),
            )
    if not written:
        raise StoreError(f"writing {len(rows)} rows to {table.name}: every row was refused")
    return written


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


def _aware(dt: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A notification to enqueue: its idempotent key, its subject (the alert episode or an
    incident: what ordering and folding are about) and the alert it carries."""

    key: str
    subject: str
    alert: Alert
    # The sinks it goes to (their routes, e.g. by scope kind or watchlist); None: every sink.
    sinks: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One notification for one sink, as stored."""

    id: int
    key: str
    sink: str
    subject: str
    state: str
    attempts: int
    created_at: datetime
    deadline_at: datetime
    alert: Alert
    last_error: str | None = None
    dead_reason: str | None = None
    silence_id: str | None = None

    @property
    def entry(self) -> OutboxEntry:
        return OutboxEntry(self.key, self.subject, self.alert)


@dataclass(frozen=True, slots=True)
class SilenceRow:
    id: str
    matchers: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    expired_by: str | None = None


@dataclass(frozen=True, slots=True)
class AckRow:
    fingerprint: str
    starts_at: datetime
    user: str
    comment: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: datetime
    user: str
    action: str
    target: str
    detail: dict[str, Any]


def _outbox_row(r: Any) -> OutboxRow:
    return OutboxRow(
        id=int(r.id),
        key=r.key,
        sink=r.sink,
        subject=r.subject,
        state=r.state,
        attempts=int(r.attempts),
        created_at=_aware(r.created_at),  # type: ignore[arg-type]
        deadline_at=_aware(r.deadline_at),  # type: ignore[arg-type]
        alert=Alert.model_validate(r.payload),
        last_error=r.last_error,
        dead_reason=r.dead_reason,
        silence_id=r.silence_id,
    )


def _silence_row(r: Any) -> SilenceRow:
    return SilenceRow(
        id=r.id,
        matchers=tuple(r.matchers),
        starts_at=_aware(r.starts_at),  # type: ignore[arg-type]
        ends_at=_aware(r.ends_at),  # type: ignore[arg-type]
        created_by=r.created_by,
        comment=r.comment or "",
        created_at=_aware(r.created_at),  # type: ignore[arg-type]
        expired_by=r.expired_by,
    )


def _delivery_row(alert: Alert, sink: str, state: str, attempts: int, error: str | None) -> dict:
    return {
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "updated_at": alert.updated_at,
        "sink": sink,
        "state": state,
        "attempts": attempts,
        "error": error,
        "at": utcnow(),
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

    def alert_payloads(
        self, status: str | None = None, limit: int = 50, fingerprint: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored alert payloads (one per episode, its latest state), newest update first."""
        c = alerts.c
        stmt = select(c.payload)
        if status is not None:
            stmt = stmt.where(c.status == status)
        if fingerprint is not None:
            stmt = stmt.where(c.fingerprint == fingerprint)
        stmt = stmt.order_by(c.updated_at.desc(), c.fingerprint).limit(limit)
        with self.engine.connect() as conn:
            return [payload for (payload,) in conn.execute(stmt).all()]

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

    # ------------------------------------------------------------------ outbox

    def outbox_enqueue(
        self, entries: Sequence[OutboxEntry], max_age_s: dict[str, float], now: datetime
    ) -> int:
        """Persist each entry once per sink (``max_age_s``: sink -> age limit); an entry
        already there (same key and sink) is left as it is. Returns how many were new."""
        rows = [
            {
                "key": e.key,
                "sink": sink,
                "subject": e.subject,
                "fingerprint": e.alert.fingerprint,
                "rule": e.alert.rule,
                "status": e.alert.status,
                "updated_at": e.alert.updated_at,
                "payload": json.loads(e.alert.model_dump_json()),
                "state": "pending",
                "attempts": 0,
                "created_at": now,
                "deadline_at": now + timedelta(seconds=age),
            }
            for e in entries
            for sink, age in max_age_s.items()
            if e.sinks is None or sink in e.sinks
        ]
        if not rows:
            return 0
        dialect = self.engine.dialect.name
        ins: Any = postgresql.insert(outbox) if dialect == "postgresql" else sqlite.insert(outbox)
        # RETURNING tells what was new (psycopg reports no rowcount for ON CONFLICT DO NOTHING).
        stmt = ins.on_conflict_do_nothing(index_elements=["key", "sink"]).returning(outbox.c.id)
        new = 0
        with self.engine.begin() as conn:
            for row in rows:
                new += len(conn.execute(stmt, row).all())
        return new

    def outbox_rows(
        self,
        sink: str | None = None,
        states: Sequence[str] = ("pending",),
        *,
        subjects: Sequence[str] | None = None,
        fingerprint: str | None = None,
        limit: int = 100,
    ) -> list[OutboxRow]:
        """A sink's notifications in ``states``, in queue order (oldest first)."""
        c = outbox.c
        stmt = select(outbox).where(c.state.in_(list(states)))
        if sink is not None:
            stmt = stmt.where(c.sink == sink)
        if subjects is not None:
            stmt = stmt.where(c.subject.in_(list(subjects)))
        if fingerprint is not None:
            stmt = stmt.where(c.fingerprint == fingerprint)
        with self.engine.connect() as conn:
            return [_outbox_row(r) for r in conn.execute(stmt.order_by(c.id).limit(limit))]

    def outbox_states(self, sink: str, subjects: Sequence[str]) -> dict[tuple[str, str], str]:
        """(subject, status) -> state of the latest notification, for ``subjects`` on ``sink``."""
        c = outbox.c
        stmt = (
            select(c.subject, c.status, c.state)
            .where(c.sink == sink, c.subject.in_(list(subjects)))
            .order_by(c.id)
        )
        with self.engine.connect() as conn:
            return {(r[0], r[1]): r[2] for r in conn.execute(stmt)}

    def outbox_latest_delivered(
        self, sink: str, fingerprints: Sequence[str]
    ) -> dict[str, datetime]:
        """fingerprint -> the newest ``updated_at`` delivered to ``sink``."""
        c = outbox.c
        stmt = (
            select(c.fingerprint, func.max(c.updated_at))
            .where(c.sink == sink, c.state == "delivered", c.fingerprint.in_(list(fingerprints)))
            .group_by(c.fingerprint)
        )
        with self.engine.connect() as conn:
            return {r[0]: _aware(r[1]) for r in conn.execute(stmt)}  # type: ignore[misc]

    def outbox_latest_by_subject(
        self,
        sink: str,
        subjects: Sequence[str],
        *,
        states: Sequence[str] | None = ("delivered",),
        status: str | None = None,
    ) -> dict[str, datetime]:
        """subject -> the newest ``updated_at`` of its notifications on ``sink`` in ``states``
        (None: any) and of ``status`` (None: either): an incident's episodes share a subject."""
        if not subjects:
            return {}
        c = outbox.c
        stmt = select(c.subject, func.max(c.updated_at)).where(
            c.sink == sink, c.subject.in_(list(subjects))
        )
        if states is not None:
            stmt = stmt.where(c.state.in_(list(states)))
        if status is not None:
            stmt = stmt.where(c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.group_by(c.subject))
            return {r[0]: _aware(r[1]) for r in rows}  # type: ignore[misc]

    def outbox_delivered(
        self, sink: str, entries: Sequence[OutboxEntry], attempts: int, now: datetime
    ) -> None:
        """After a 2xx: these notifications are delivered, in one transaction (an entry not in
        the outbox yet, e.g. a firing sent before its resolved, is inserted as delivered)."""
        dialect = self.engine.dialect.name
        rows = []
        for e in entries:
            rows.append(
                {
                    "key": e.key,
                    "sink": sink,
                    "subject": e.subject,
                    "fingerprint": e.alert.fingerprint,
                    "rule": e.alert.rule,
                    "status": e.alert.status,
                    "updated_at": e.alert.updated_at,
                    "payload": json.loads(e.alert.model_dump_json()),
                    "state": "delivered",
                    "attempts": attempts,
                    "last_error": None,
                    "dead_reason": None,
                    "silence_id": None,
                    "created_at": now,
                    "deadline_at": now,
                    "done_at": now,
                }
            )
        if not rows:
            return
        ins: Any = postgresql.insert(outbox) if dialect == "postgresql" else sqlite.insert(outbox)
        stmt = ins.on_conflict_do_update(
            index_elements=["key", "sink"],
            set_={
                "state": "delivered",
                "attempts": outbox.c.attempts + 1,
                "last_error": None,
                "dead_reason": None,
                "done_at": now,
            },
        )
        d = dead_letters.c
        with self.engine.begin() as conn:
            for row in rows:
                conn.execute(stmt, row)
            conn.execute(
                _upsert_stmt(dialect, deliveries),
                [_delivery_row(e.alert, sink, "delivered", attempts, None) for e in entries],
            )
            for e in entries:  # a re-driven dead letter is no longer one
                conn.execute(
                    delete(dead_letters).where(
                        d.fingerprint == e.alert.fingerprint,
                        d.status == e.alert.status,
                        d.updated_at == e.alert.updated_at,
                        d.sink == sink,
                    )
                )

    def outbox_failed(self, ids: Sequence[int], error: str) -> None:
        """One more failed attempt for these rows (they stay pending)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(ids)))
                .values(attempts=outbox.c.attempts + 1, last_error=error)
            )

    def outbox_set_state(
        self,
        ids: Sequence[int],
        state: str,
        now: datetime,
        *,
        reason: str | None = None,
        error: str | None = None,
        silence_id: str | None = None,
    ) -> None:
        """Move rows to ``state`` (dead, silenced, folded, superseded, pending). A dead row is
        also listed in ``dead_letters`` and ``deliveries`` (what the dashboard shows)."""
        if not ids:
            return
        values: dict[str, Any] = {"state": state, "done_at": now}
        if state == "dead":
            values.update(dead_reason=reason, last_error=error)
        if state == "silenced":
            values["silence_id"] = silence_id
        with self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_(list(ids))).values(**values))
            dialect = self.engine.dialect.name
            for r in conn.execute(select(outbox).where(outbox.c.id.in_(list(ids)))):
                row = _outbox_row(r)
                if state != "dead":
                    # Folded into its resolved, or superseded: no longer a dead letter.
                    d = dead_letters.c
                    conn.execute(
                        delete(dead_letters).where(
                            d.fingerprint == row.alert.fingerprint,
                            d.status == row.alert.status,
                            d.updated_at == row.alert.updated_at,
                            d.sink == row.sink,
                        )
                    )
                    continue
                dl = _delivery_row(row.alert, row.sink, "dead", row.attempts, error)
                conn.execute(_upsert_stmt(dialect, deliveries), [dl])
                conn.execute(
                    _upsert_stmt(dialect, dead_letters),
                    [
                        {
                            **{k: dl[k] for k in ("fingerprint", "status", "updated_at", "sink")},
                            "error": error or "",
                            "attempts": row.attempts,
                            "payload": r.payload,
                            "at": now,
                        }
                    ],
                )

    def outbox_requeue(
        self,
        now: datetime,
        max_age_s: dict[str, float],
        *,
        states: Sequence[str] = ("dead",),
        reasons: Sequence[str] | None = None,
        ids: Sequence[int] | None = None,
        fingerprint: str | None = None,
    ) -> int:
        """Back to pending with a fresh age limit (redeliver): dead letters of the sinks in
        ``max_age_s`` (optionally only some reasons, ids or one fingerprint)."""
        c = outbox.c
        n = 0
        with self.engine.begin() as conn:
            for sink, age in max_age_s.items():
                stmt = update(outbox).where(c.sink == sink, c.state.in_(list(states)))
                if reasons is not None:
                    stmt = stmt.where(c.dead_reason.in_(list(reasons)))
                if ids is not None:
                    stmt = stmt.where(c.id.in_(list(ids)))
                if fingerprint is not None:
                    stmt = stmt.where(c.fingerprint == fingerprint)
                n += (
                    conn.execute(
                        stmt.values(
                            state="pending",
                            attempts=0,
                            dead_reason=None,
                            silence_id=None,
                            deadline_at=now + timedelta(seconds=age),
                        )
                    ).rowcount
                    or 0
                )
        return n

    def outbox_counts(self) -> dict[tuple[str, str], int]:
        """(sink, state) -> number of notifications."""
        c = outbox.c
        stmt = select(c.sink, c.state, func.count()).group_by(c.sink, c.state)
        with self.engine.connect() as conn:
            return {(r[0], r[1]): int(r[2]) for r in conn.execute(stmt)}

    def outbox_lease(self, sink: str, owner: str, now: datetime, lease_s: float) -> bool:
        """Take or renew the right to send to ``sink`` (True), unless another owner holds an
        unexpired lease. Each statement is atomic, so two processes never both hold it."""
        until = now + timedelta(seconds=lease_s)
        dialect = self.engine.dialect.name
        ins: Any = (
            postgresql.insert(outbox_leases)
            if dialect == "postgresql"
            else sqlite.insert(outbox_leases)
        )
        c = outbox_leases.c
        with self.engine.begin() as conn:
            conn.execute(
                ins.on_conflict_do_nothing(index_elements=["sink"]),
                {"sink": sink, "owner": owner, "until": until},
            )
            got = conn.execute(
                update(outbox_leases)
                .where(c.sink == sink, or_(c.owner == owner, c.until < now))
                .values(owner=owner, until=until)
            ).rowcount
        return bool(got)

    def outbox_release(self, sink: str, owner: str) -> None:
        c = outbox_leases.c
        with self.engine.begin() as conn:
            conn.execute(delete(outbox_leases).where(c.sink == sink, c.owner == owner))

    # ------------------------------------------------------- silences, acks, audit

    def add_silence(
        self,
        silence_id: str,
        matchers: Sequence[str],
        starts_at: datetime,
        ends_at: datetime,
        user: str,
        comment: str,
        now: datetime,
    ) -> None:
        """Store a silence (matchers already validated by monitor.core.silences); audited."""
        with self.engine.begin() as conn:
            conn.execute(
                silences.insert().values(
                    id=silence_id,
                    matchers=list(matchers),
                    starts_at=starts_at,
                    ends_at=ends_at,
                    created_by=user,
                    comment=comment,
                    created_at=now,
                )
            )
            self._audit(
                conn,
                now,
                user,
                "silence",
                silence_id,
                {
                    "matchers": list(matchers),
                    "starts_at": starts_at.isoformat(),
                    "ends_at": ends_at.isoformat(),
                    "comment": comment,
                },
            )

    def expire_silence(self, silence_id: str, user: str, now: datetime) -> SilenceRow:
        """End a silence now (Alertmanager's expire); audited. A missing id is a StoreError."""
        c = silences.c
        with self.engine.begin() as conn:
            r = conn.execute(select(silences).where(c.id == silence_id)).first()
            if r is None:
                raise StoreError(f"no silence with id {silence_id!r}")
            row = _silence_row(r)
            if row.ends_at > now:
                conn.execute(
                    update(silences)
                    .where(c.id == silence_id)
                    .values(ends_at=max(now, row.starts_at), expired_by=user)
                )
            self._audit(conn, now, user, "unsilence", silence_id, {})
        return row

    def silence_rows(self, active_at: datetime | None = None, limit: int = 500) -> list[SilenceRow]:
        """Silences newest first; with ``active_at``, only those not ended by then."""
        c = silences.c
        stmt = select(silences)
        if active_at is not None:
            stmt = stmt.where(c.ends_at > active_at)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(c.created_at.desc()).limit(limit))
            return [_silence_row(r) for r in rows]

    def ack_alert(
        self, fingerprint: str, starts_at: datetime, user: str, comment: str, now: datetime
    ) -> None:
        """Acknowledge an alert episode (the latest ack wins); audited. An unknown episode
        is a StoreError."""
        a = alerts.c
        starts_at = starts_at.astimezone(UTC)
        with self.engine.begin() as conn:
            found = conn.execute(
                select(a.fingerprint).where(a.fingerprint == fingerprint, a.starts_at == starts_at)
            ).first()
            if found is None:
                raise StoreError(
                    f"no alert {fingerprint} starting {starts_at.isoformat()} in the store"
                )
            row = {
                "fingerprint": fingerprint,
                "starts_at": starts_at,
                "user": user,
                "comment": comment,
                "at": now,
            }
            conn.execute(_upsert_stmt(self.engine.dialect.name, alert_acks), [row])
            self._audit(
                conn,
                now,
                user,
                "ack",
                f"{fingerprint}@{starts_at.isoformat()}",
                {"comment": comment},
            )

    def acks_for(self, fingerprints: Iterable[str]) -> dict[tuple[str, datetime], AckRow]:
        """(fingerprint, starts_at) -> acknowledgement, for these fingerprints."""
        fps = sorted(set(fingerprints))
        if not fps:
            return {}
        c = alert_acks.c
        with self.engine.connect() as conn:
            out = {}
            for r in conn.execute(select(alert_acks).where(c.fingerprint.in_(fps))):
                ack = AckRow(r.fingerprint, _aware(r.starts_at), r.user, r.comment, _aware(r.at))  # type: ignore[arg-type]
                out[(ack.fingerprint, ack.starts_at)] = ack
            return out

    def audit(
        self, user: str, action: str, target: str, detail: dict[str, Any], now: datetime
    ) -> None:
        """Record an operator action that changes no other table (redeliver, test-sink)."""
        with self.engine.begin() as conn:
            self._audit(conn, now, user, action, target, detail)

    def audit_rows(self, limit: int = 100) -> list[AuditRow]:
        c = alert_audit.c
        stmt = select(alert_audit).order_by(c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [
                AuditRow(_aware(r.at), r.user, r.action, r.target, dict(r.detail or {}))  # type: ignore[arg-type]
                for r in conn.execute(stmt)
            ]

    @staticmethod
    def _audit(
        conn: Any, now: datetime, user: str, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        conn.execute(
            alert_audit.insert().values(
                at=now, user=user, action=action, target=target, detail=detail
            )
        )

    def export_rows(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        scope: tuple[str, str] | None = None,
        batch: int = 5000,
    ) -> Iterator[list[dict[str, Any]]]:
        """Rows of ``name`` (documents | windows | alerts) in time order, in lists of ``batch``
        (keyset paging on the time column and the primary key, so memory stays flat)."""
        from sqlalchemy import and_

        if name not in EXPORT_TABLES:
            raise StoreError(f"unknown export {name!r}: one of {', '.join(EXPORT_TABLES)}")
        table = EXPORT_TABLES[name]
        order = _export_order(name)
        where = _export_where(name, start, end, scope)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=batch).execute(
                select(table).where(and_(True, *where)).order_by(*order)
            )
            for part in result.mappings().partitions(batch):
                yield [_aware_row(dict(r)) for r in part]

    def export_columns(self, name: str) -> dict[str, str]:
        """Column name -> kind (str, time, int, float, bool, json) of an export, in order."""
        if name not in EXPORT_TABLES:
            raise StoreError(f"unknown export {name!r}: one of {', '.join(EXPORT_TABLES)}")
        kinds = {DateTime: "time", Integer: "int", Float: "float", Boolean: "bool", JSON: "json"}
        return {
            c.name: next((k for t, k in kinds.items() if isinstance(c.type, t)), "str")
            for c in EXPORT_TABLES[name].columns
        }

    def count_rows(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        scope: tuple[str, str] | None = None,
    ) -> int:
        """How many rows :meth:`Store.export_rows` would give."""
        from sqlalchemy import and_, func

        if name not in EXPORT_TABLES:
            raise StoreError(f"unknown export {name!r}: one of {', '.join(EXPORT_TABLES)}")
        stmt = (
            select(func.count())
            .select_from(EXPORT_TABLES[name])
            .where(and_(True, *_export_where(name, start, end, scope)))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def dispose(self) -> None:
        self.engine.dispose()


# --- exports (``finpulse export``): one table's rows by time range and scope -----------------

EXPORT_TABLES = {"documents": documents, "windows": window_stats, "alerts": alerts}


def _export_where(
    name: str, start: datetime | None, end: datetime | None, scope: tuple[str, str] | None
) -> list[Any]:
    """Filters of an export: ``published`` (documents), ``window_start`` (windows) or
    ``starts_at`` (alerts) in [start, end); a scope by its kind and name."""
    from sqlalchemy import String, cast

    table = EXPORT_TABLES[name]
    column = {"documents": "published", "windows": "window_start", "alerts": "starts_at"}[name]
    t = table.c[column]
    where: list[Any] = []
    if start is not None:
        where.append(t >= start.astimezone(UTC))
    if end is not None:
        where.append(t < end.astimezone(UTC))
    if scope is not None:
        kind, value = scope
        if name != "documents":
            where += [table.c.scope_kind == kind, table.c.scope == value]
        elif kind == "topic":
            where.append(documents.c.topic == value)
        elif kind == "source":
            where.append(documents.c.source == value)
        elif kind == "ticker":
            # tickers is a JSON array: its text holds "SYM" with the quotes.
            where.append(cast(documents.c.tickers, String).like(f'%"{value.upper()}"%'))
        elif kind != "all":
            raise StoreError(
                f"documents cannot be filtered by a {kind!r} scope (only topic, ticker, "
                "source or all): a document's sector or entity is not stored with it"
            )
    return where


def _export_order(name: str) -> list[Any]:
    table = EXPORT_TABLES[name]
    keys = [c for c in table.primary_key.columns]
    first = {"documents": "published", "windows": "window_start", "alerts": "starts_at"}[name]
    return [table.c[first], *[k for k in keys if k.name != first]]


def _aware_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with every datetime made aware UTC (:func:`_aware`)."""
    return {k: (_aware(v) if isinstance(v, datetime) else v) for k, v in row.items()}
