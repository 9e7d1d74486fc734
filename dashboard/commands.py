"""``finpulse dashboard`` (serve the app) and ``finpulse corrections export``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from foundation.settings import get_settings

log = logging.getLogger(__name__)


@click.command()
@click.option("--host", default=None, help="Bind address (default: dashboard.host).")
@click.option("--port", type=int, default=None, help="Port (default: dashboard.port).")
@click.option(
    "--hash-password",
    "hash_password",
    is_flag=True,
    help="Prompt for a password, print its hash for dashboard.users, and exit.",
)
@click.pass_context
def dashboard(ctx: click.Context, host: str | None, port: int | None, hash_password: bool) -> None:
    """Serve the dashboard against the configured store."""
    from dashboard import auth

    if hash_password:
        pw = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        click.echo(auth.hash_password(pw))
        return

    from werkzeug.serving import run_simple

    from dashboard.app import create_app

    settings = get_settings(ctx)
    host = host or settings.dashboard.host
    port = port or settings.dashboard.port
    users = auth.load_users(settings.dashboard)
    auth.check_bind(host, users)
    app = create_app(settings)
    if users:
        click.echo(f"dashboard: login required ({len(users)} user(s) configured)", err=True)
    else:
        click.echo(
            f"dashboard: no users configured, so no login and bound to {auth.LOOPBACK} only "
            "(configure dashboard.users to serve other hosts)",
            err=True,
        )
    click.echo(f"dashboard: http://{host}:{port}/  (store {settings.store.url})", err=True)
    run_simple(host, port, app.server, threaded=True, use_reloader=False)


@click.group()
def corrections() -> None:
    """Analysts' label corrections."""


@corrections.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="CSV file.")
@click.option(
    "--task",
    type=click.Choice(["sentiment", "topic"]),
    default="sentiment",
    show_default=True,
    help="Which label's corrections to export.",
)
@click.pass_context
def export(ctx: click.Context, out: str, task: str) -> None:
    """Write corrections as CSV ``text,label`` for ``finpulse train --extra``."""
    from dashboard.feedback import export_corrections
    from foundation.store import Store

    settings = get_settings(ctx)
    store = Store(settings.store.url)
    try:
        n = export_corrections(store.engine, task, Path(out))
    finally:
        store.dispose()
    click.echo(f"wrote {n} {task} correction(s) to {out}", err=True)
