"""Schema migrations on SQLite and PostgreSQL: head equals the code's tables, a first-release
store upgrades and keeps its rows, and processes refuse a schema older than the code."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from servers import count_rows
from sqlalchemy import MetaData, create_engine, func, insert, inspect, select, text
from sqlalchemy.pool import NullPool

from cli.main import main
from foundation.errors import StoreError
from foundation.store import Store, metadata, schema

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

# Revisions as shipped, and the next one's id (a later release, written by the tests).
HEAD = schema.head_revision()
NEXT = f"{int(HEAD) + 1:04d}"

# A later release: one new nullable column. Written to a copy of the migrations folder.
REVISION_NEXT = f'''"""test: documents.note"""

import sqlalchemy as sa
from alembic import op

revision = "{NEXT}"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "note")
'''


def first_release_store(url: str) -> None:
    """A store as the first release left it: the baseline tables, no version table, rows."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), schema.BASELINE)
        conn.execute(text(f"DROP TABLE {schema.VERSION_TABLE}"))
    old = MetaData()
    old.reflect(engine)  # the tables as they are in that database, not as the code has them
    with engine.begin() as conn:
        conn.execute(
            insert(old.tables["documents"]),
            [
                {
                    "id": f"d{i}", "source": "wire", "title": f"t{i}", "summary": "", "link": "",
                    "published": T0, "language": "en", "kind": "news", "tickers": ["JPM"],
                    "scored": True, "topic": "financials", "sentiment": "negative", "score": -1.0,
                    "topic_probs": {}, "sentiment_probs": {}, "model": "m", "scored_at": T0,
                }
                for i in range(25)
            ],
        )  # fmt: skip
        conn.execute(
            insert(old.tables["corrections"]),
            [
                {
                    "document_id": "d1",
                    "field": "sentiment",
                    "new": "neutral",
                    "user": "ana",
                    "at": T0,
                }
            ],
        )
    engine.dispose()


def count(url: str, table: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(text(table))).scalar_one()
    engine.dispose()
    return int(n)


@pytest.fixture
def migrations_copy(tmp_path, monkeypatch):
    """A copy of the shipped migrations that the code uses instead (tests add revisions)."""
    folder = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(schema, "MIGRATIONS", folder)
    schema.script_directory.cache_clear()
    yield folder
    schema.script_directory.cache_clear()


@pytest.fixture
def later_release(migrations_copy):
    """The code of a later release: the shipped migrations plus one more revision."""
    (migrations_copy / "versions" / f"{NEXT}_note.py").write_text(REVISION_NEXT)
    schema.script_directory.cache_clear()
    return migrations_copy


def test_head_revision_builds_exactly_the_tables_in_code(store_url):
    """A table or column added to foundation/store without a migration fails here."""
    engine = create_engine(store_url, poolclass=NullPool)
    schema.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == [], "the migrations do not build foundation/store's tables; add a revision"


def test_a_new_store_is_created_at_head(store_url):
    s = Store(store_url)
    with s.engine.connect() as conn:
        assert schema.current_revision(conn) == schema.head_revision()
    s.dispose()


def test_a_first_release_store_opens_as_the_baseline_and_keeps_its_rows(store_url):
    first_release_store(store_url)
    engine = create_engine(store_url, poolclass=NullPool)
    with engine.connect() as conn:  # no version table: it counts as the baseline
        assert schema.current_revision(conn) == schema.BASELINE
    if HEAD != schema.BASELINE:
        with pytest.raises(StoreError, match=f"needs {HEAD}"):
            Store(store_url)
        schema.upgrade(engine)
    engine.dispose()
    s = Store(store_url)  # at head now: stamped or upgraded, nothing rewritten
    assert count_rows(s.engine) == 25
    with s.engine.connect() as conn:
        assert schema.current_revision(conn) == HEAD
    s.dispose()


def test_a_later_release_refuses_the_old_schema_until_db_upgrade(
    store_url, later_release, monkeypatch
):
    first_release_store(store_url)
    monkeypatch.setenv("FINPULSE_STORE__URL", store_url)
    runner = CliRunner()

    with pytest.raises(
        StoreError, match=rf"revision 0001 .* needs {NEXT}: run `finpulse db upgrade`"
    ):
        Store(store_url)
    for cmd in (["worker"], ["dashboard"]):
        res = runner.invoke(main, cmd)
        assert res.exit_code == 2, res.output
        assert "run `finpulse db upgrade`" in res.output

    res = runner.invoke(main, ["db", "current"])
    assert res.exit_code == 1 and f"0001 - head is {NEXT}" in res.output
    res = runner.invoke(main, ["db", "upgrade"])
    assert res.exit_code == 0 and f"0001 -> {NEXT}" in res.output, res.output
    res = runner.invoke(main, ["db", "current"])
    assert res.exit_code == 0 and f"{NEXT} (head)" in res.output

    assert count(store_url, "documents") == 25 and count(store_url, "corrections") == 1
    s = Store(store_url)
    assert "note" in {c["name"] for c in inspect(s.engine).get_columns("documents")}
    s.dispose()
    res = runner.invoke(main, ["db", "history"])
    lines = res.output.splitlines()
    assert lines[0] == (
        "<base> -> 0001: baseline: the schema of the first release (what create_all made "
        "before migrations)."
    )
    assert lines[-1] == f"{HEAD} -> {NEXT} (head): test: documents.note"
    assert len(lines) == int(NEXT)


def test_db_revision_writes_the_migration_of_a_table_added_in_code(
    tmp_path, migrations_copy, monkeypatch
):
    """The lead's workflow when a branch adds a table: `finpulse db revision -m ...`."""
    from sqlalchemy import Column, Integer, String, Table

    url = f"sqlite:///{tmp_path / 'dev.db'}"
    Store(url).dispose()  # at head
    scratch = Table(
        "scratch", metadata, Column("id", Integer, primary_key=True), Column("x", String(8))
    )
    try:
        monkeypatch.setenv("FINPULSE_STORE__URL", url)
        res = CliRunner().invoke(main, ["db", "revision", "-m", "scratch table"])
        assert res.exit_code == 0, res.output
        (path,) = (migrations_copy / "versions").glob(f"{NEXT}_*.py")
        assert re.search(r"create_table\(\s*['\"]scratch['\"]", path.read_text())
        with pytest.raises(StoreError, match=f"needs {NEXT}"):
            Store(url)
        schema.upgrade(create_engine(url, poolclass=NullPool))
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        engine.dispose()
    finally:
        metadata.remove(scratch)


def test_several_processes_opening_a_new_database_at_once(store_url):
    """Workers (and the demo's dashboard) started together on an empty database: one creates
    the schema, none fails."""
    import threading

    url = store_url
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            Store(url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert count(url, schema.VERSION_TABLE) == 1


def test_migrations_folder_ships_with_the_package():
    assert (Path(schema.MIGRATIONS) / "env.py").is_file()
    assert (Path(schema.MIGRATIONS) / "script.py.mako").is_file()
