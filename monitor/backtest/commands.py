"""``finpulse backtest FILE... [--json] [--html PATH] [--model baseline|DIR] [--cache DIR]``."""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from foundation.settings import get_settings

log = logging.getLogger(__name__)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (alerts and counts).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Write a plotly report.")
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
) -> None:
    """Classify, window and detect over archive FILES offline (no broker) and list the alerts
    that would have been raised. Deterministic: the same input gives the same output.

    Model outputs are cached under --cache, so a second run over the same archive (other rule
    settings, a new ticker list) skips the model and takes seconds."""
    from pathlib import Path

    from models.registry import load_classifier, model_folder
    from monitor.backtest.cache import CACHE_SUBDIR, ClassificationCache, model_identity
    from monitor.backtest.run import run_backtest, write_html
    from monitor.core.events_scoring import load_events

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
        where = Path(cache_dir) if cache_dir else settings.data_path / CACHE_SUBDIR
        cache = ClassificationCache.open(where, model_identity(classifier, folder))
    result = run_backtest(list(files), settings, classifier, cache=cache)
    log.info(
        "backtest: %d documents, %d scored, %d alerts in %.1fs",
        result.documents,
        result.scored,
        len(result.episodes()),
        result.seconds,
    )
    if html_path:
        write_html(result, html_path)
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
        echo_events(data["events"])


def echo_events(ev: dict[str, Any]) -> None:
    """The --events scoring as text (the JSON carries the same under "events")."""
    click.echo(
        f"events covered: {ev['covered']}/{ev['events']}, median lag {ev['median_lag_h']} h "
        f"(notified after first coverage); {ev['alerts']} alerts, {ev['incidents']} incidents "
        f"({ev['alerts_per_30_days']} and {ev['incidents_per_30_days']} per 30 days)"
    )
    for e in ev["per_event"]:
        first = e["first_alert"]
        where = f"{first['scope']} at {first['startsAt']}, lag {e['lag_h']} h" if first else "-"
        click.echo(f"  {'covered' if e['covered'] else 'MISSED '}  {e['event']}: {where}")
    click.echo(f"alerts covering no labelled event: {len(ev['unmatched_alerts'])}")
    for a in ev["unmatched_alerts"]:
        click.echo(f"  {a['startsAt']}  {a['scope']}  {a['rule']}  {a['headline']}")
