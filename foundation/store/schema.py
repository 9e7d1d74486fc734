"""Schema versions of the store (Alembic): what revision a database is at, and upgrading it.

- A new, empty database gets the current schema at once (``create_all``) and is stamped
  with the head revision, so ``finpulse demo`` and the tests need no extra step.
- A database made by the first release (tables, no ``alembic_version``) counts as the
  baseline revision ``0001``.
- Any other database must be at the head revision: the worker, ingest and the dashboard
  refuse an older one with the command to run (``finpulse db upgrade``), so no process
  writes rows the schema cannot hold.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from foundation.errors import StoreError
from foundation.redact import redact
from foundation.store.store import metadata

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
VERSION_TABLE = "alembic_version"
# Several workers may open a new PostgreSQL database at once: one creates, the others wait.
_PG_LOCK_KEY = 0x66707573  # "fpus"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the baseline ships with the package
        raise StoreError(f"no migrations found in {MIGRATIONS}")
    return head


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def current_revision(conn: Connection) -> str | None:
    """The database's revision: None when it is empty, ``BASELINE`` when it was made by the
    first release (tables but no version table)."""
    tables = _tables(conn)
    if VERSION_TABLE in tables:
        return MigrationContext.configure(conn).get_current_revision()
    if tables & set(metadata.tables):
        return BASELINE
    return None


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    elif conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        # pysqlite commits each CREATE TABLE on its own, so another process could see the
        # tables before the version stamp (and take a new store for a first-release one):
        # one write transaction around create + stamp (the others wait, busy_timeout).
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def prepare(engine: Engine, attempts: int = 3) -> None:
    """Create the schema in an empty database; refuse one older than the code.

    Two processes opening a new SQLite file at once (the demo's worker and dashboard) may
    both see it empty; the loser's CREATE fails, and its next attempt finds the schema.
    """
    for attempt in range(1, attempts + 1):
        try:
            _prepare(engine)
            return
        except SQLAlchemyError as exc:
            if attempt == attempts:
                raise StoreError(f"cannot prepare the store schema: {redact(str(exc))}") from None
            time.sleep(0.2 * attempt)


def _prepare(engine: Engine) -> None:
    head = head_revision()
    with engine.begin() as conn:
        _lock(conn)
        current = current_revision(conn)
        if current is None:
            metadata.create_all(conn)
            command.stamp(alembic_config(conn), head)
            log.info("store: created schema at revision %s", head)
            return
        if current == head:
            if VERSION_TABLE not in _tables(conn):
                # First-release database and the code still has only the baseline.
                command.stamp(alembic_config(conn), head)
            return
    raise StoreError(
        f"the store's schema is at revision {current} but this finpulse needs {head}: "
        "run `finpulse db upgrade` (back the store up first: docs/operations.md)"
    )


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade to ``revision``; returns (revision before, revision after)."""
    try:
        with engine.begin() as conn:
            _lock(conn)
            before = current_revision(conn)
            cfg = alembic_config(conn)
            if before is not None and VERSION_TABLE not in _tables(conn):
                command.stamp(cfg, BASELINE)  # a first-release database: start from there
            command.upgrade(cfg, revision)
            after = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(
            f"upgrading the store schema failed (nothing changed): {redact(str(exc))}"
        ) from None
    return before, after or ""


def new_revision(url: str, message: str) -> Path:
    """Write the next revision file from the difference between the database at ``url``
    (which must be at head) and the tables in code; returns its path. For developers."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
        head = head_revision()
        if current != head:
            raise StoreError(f"the database is at {current}, not at head {head}: upgrade it first")
        rev_id = f"{len(history()) + 1:04d}"
        with engine.begin() as conn:
            command.revision(
                alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id
            )
    finally:
        engine.dispose()
    script_directory.cache_clear()
    return next((MIGRATIONS / "versions").glob(f"{rev_id}_*.py"))


def history() -> list[tuple[str, str | None, str]]:
    """(revision, down revision, message) from the oldest to the head."""
    revs = list(script_directory().walk_revisions())
    return [
        (r.revision, r.down_revision if isinstance(r.down_revision, str) else None, r.doc or "")
        for r in reversed(revs)
    ]
