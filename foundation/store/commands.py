"""``finpulse db upgrade|current|history``: the store's schema migrations (Alembic)."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from foundation.errors import StoreError
from foundation.settings import get_settings


def _engine(ctx: click.Context):  # type: ignore[no-untyped-def]
    from foundation.store.store import make_engine

    settings = get_settings(ctx)
    return make_engine(settings.store.url, create=False, options=settings.store)


@click.group()
def db() -> None:
    """Schema migrations of the store (store.url). Back the store up before upgrading."""


@db.command()
@click.argument("revision", default="head")
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Upgrade the store's schema to REVISION (default: the newest)."""
    from foundation.store import schema

    engine = _engine(ctx)
    try:
        before, after = schema.upgrade(engine, revision)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"store schema already at {after}")
    else:
        click.echo(f"store schema upgraded: {before or '(empty)'} -> {after}")


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Print the store's revision and whether it is the newest."""
    from foundation.store import schema

    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            rev = schema.current_revision(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the store's revision: {exc}") from None
    finally:
        engine.dispose()
    head = schema.head_revision()
    if rev is None:
        click.echo(
            f"(empty) - head is {head}; the first worker or `finpulse db upgrade` creates it"
        )
    elif rev == head:
        click.echo(f"{rev} (head)")
    else:
        click.echo(f"{rev} - head is {head}: run `finpulse db upgrade`")
        ctx.exit(1)


@db.command()
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.pass_context
def revision(ctx: click.Context, message: str) -> None:
    """(Developers) Write the next revision from the tables in code vs. the store at head."""
    from foundation.store import schema

    path = schema.new_revision(get_settings(ctx).store.url, message)
    click.echo(f"wrote {path}: review it, then `finpulse db upgrade`")


@db.command()
def history() -> None:
    """List the schema revisions, oldest first."""
    from foundation.store import schema

    head = schema.head_revision()
    for rev, down, message in schema.history():
        mark = " (head)" if rev == head else ""
        click.echo(
            f"{down or '<base>'} -> {rev}{mark}: {message.splitlines()[0] if message else ''}"
        )
