"""``finpulse dashboard`` (serve the app), ``finpulse corrections export`` and
``finpulse backtest FILE... [--json] [--html PATH] [--model baseline|DIR] [--cache DIR]
[--events FILE]`` (its ``--html`` report is built by dashboard/report.py, which the monitor
layer may not import)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from foundation.redact import mask_url
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
    store = mask_url(settings.store.url)
    click.echo(f"dashboard: http://{host}:{port}/  (store {store})", err=True)
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
    store = Store.from_settings(settings.store)
    try:
        n = export_corrections(store, task, Path(out))
    finally:
        store.dispose()
    click.echo(f"wrote {n} {task} correction(s) to {out}", err=True)


# --- backtest ------------------------------------------------------------------------------


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (alerts and counts).")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Write an HTML report: every alert with its figures and evidence, a chart per "
    "alerted scope (docs/dashboard.md).",
)
@click.option(
    "--model",
    "model_path",
    default=None,
    help="'baseline' (lexicon baseline) or a model folder; default: the configured/shipped one.",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of cached model outputs (keyed by model identity + document id + text); "
    "default: <data_dir>/cache/backtest.",
)
@click.option("--no-cache", is_flag=True, help="Classify everything; read and write no cache.")
@click.option(
    "--events",
    "events_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Score the alerts against a labelled-events CSV (event, pattern, window_start, "
    "window_end, first_coverage): events covered, lags, alerts that cover none.",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bars (default: on a terminal)."
)
@click.pass_context
def backtest(
    ctx: click.Context,
    files: tuple[str, ...],
    as_json: bool,
    html_path: str | None,
    model_path: str | None,
    cache_dir: str | None,
    no_cache: bool,
    events_path: str | None,
    progress: bool | None,
) -> None:
    """Classify, window and detect over archive FILES offline (no broker) and list the alerts
    that would have been raised. Deterministic: the same input gives the same output.

    Model outputs are cached under --cache, so a second run over the same archive (other rule
    settings, a new ticker list) skips the model and takes seconds."""
    from pathlib import Path

    from dashboard.report import write_report
    from foundation.paths import backtest_cache_dir
    from models.registry import load_classifier, model_folder
    from monitor.backtest.cache import ClassificationCache, model_identity
    from monitor.backtest.run import run_backtest
    from monitor.core.events_scoring import format_events, load_events

    settings = get_settings(ctx)
    # Read the events first: a bad file fails before minutes of classification.
    events = load_events(events_path) if events_path else None
    if model_path is not None:
        settings = settings.model_copy(
            update={"model": settings.model.model_copy(update={"path": model_path})}
        )
    classifier = load_classifier(settings.model)
    cache = None
    if not no_cache:
        folder = model_folder(settings.model.path)
        where = Path(cache_dir) if cache_dir else backtest_cache_dir(settings.data_dir)
        cache = ClassificationCache.open(where, model_identity(classifier, folder))
    result = run_backtest(list(files), settings, classifier, cache=cache, progress=progress)
    log.info(
        "backtest: %d documents, %d scored, %d alerts in %.1fs",
        result.documents,
        result.scored,
        len(result.episodes()),
        result.seconds,
    )
    if html_path:
        write_report(result, html_path)
        log.info("wrote %s", html_path)
    data = result.to_json()
    if events is not None:
        data["events"] = result.score_events(events)
    if as_json:
        click.echo(json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False))
        return
    click.echo(
        f"{data['documents']} documents, {data['scored']} scored with {data['model']}, "
        f"{data['windows']} windows, {data['alert_count']} alerts "
        f"({data['notifications']} notifications), {data['incident_count']} incidents"
    )
    by_mode = data["notifications_by_mode"]
    click.echo(
        f'a sink with notify = "incident" gets {by_mode["incident"]} notifications; '
        f'with notify = "alert" {by_mode["alert_requests"]} requests '
        f"({by_mode['alert']} PagerDuty events)"
    )
    for inc in data["incidents"]:
        click.echo(
            f"{inc['startsAt']} -> {inc['endsAt'] or 'still firing'}  incident {inc['id']}: "
            + ", ".join(inc["scopes"])
        )
    for e in data["alerts"]:
        click.echo(
            f"{e['startsAt']} -> {e['endsAt'] or 'still firing'}  {e['scope_kind']}:{e['scope']}"
            f"  {e['rule']}  {e['fingerprint']}"
        )
    if events is not None:
        for line in format_events(data["events"]):
            click.echo(line)


# --- export ---------------------------------------------------------------------------------


@click.command("export")
@click.argument("what", type=click.Choice(["documents", "windows", "alerts"]))
@click.option("--from", "start", default=None, help="At/after this time (ISO 8601, UTC).")
@click.option("--to", "end", default=None, help="Before this time (ISO 8601, UTC).")
@click.option(
    "--scope",
    default=None,
    metavar="KIND:NAME",
    help="Only this scope, e.g. topic:financials, ticker:AAPL (documents: topic, ticker, source).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.pass_context
def export_data(
    ctx: click.Context,
    what: str,
    start: str | None,
    end: str | None,
    scope: str | None,
    fmt: str,
    out: str,
) -> None:
    """Write the store's documents, window stats or alerts in a time range to CSV or Parquet.

    Documents by published time, windows by window start, alerts by start time; the range is
    [--from, --to). Prints the row count on stderr."""
    from dashboard.export import parse_scope, write_batches
    from foundation.store import Store
    from ingest.replay_command import parse_time

    settings = get_settings(ctx)
    t0, t1 = parse_time(start, "--from"), parse_time(end, "--to")
    where = parse_scope(scope)
    store = Store(settings.store.url)
    try:
        rows = store.export_rows(what, start=t0, end=t1, scope=where)
        n = write_batches(rows, store.export_columns(what), out, fmt)  # type: ignore[arg-type]
    finally:
        store.dispose()
    click.echo(f"wrote {n} {what} row(s) to {out}", err=True)
