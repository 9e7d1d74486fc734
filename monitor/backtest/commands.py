"""``finpulse backtest FILE... [--json] [--html PATH] [--model baseline|DIR] [--cache DIR]``."""

from __future__ import annotations

import json
import logging

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
@click.pass_context
def backtest(
    ctx: click.Context,
    files: tuple[str, ...],
    as_json: bool,
    html_path: str | None,
    model_path: str | None,
    cache_dir: str | None,
    no_cache: bool,
) -> None:
    """Classify, window and detect over archive FILES offline (no broker) and list the alerts
    that would have been raised. Deterministic: the same input gives the same output.

    Model outputs are cached under --cache, so a second run over the same archive (other rule
    settings, a new ticker list) skips the model and takes seconds."""
    from pathlib import Path

    from models.registry import load_classifier, model_folder
    from monitor.backtest.cache import CACHE_SUBDIR, ClassificationCache, model_identity
    from monitor.backtest.run import run_backtest, write_html

    settings = get_settings(ctx)
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
    if as_json:
        click.echo(json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False))
        return
    click.echo(
        f"{data['documents']} documents, {data['scored']} scored with {data['model']}, "
        f"{data['windows']} windows, {data['alert_count']} alerts "
        f"({data['notifications']} notifications)"
    )
    for e in data["alerts"]:
        click.echo(
            f"{e['startsAt']} -> {e['endsAt'] or 'still firing'}  {e['scope_kind']}:{e['scope']}"
            f"  peak share {e['peak'].get('negative_share', 0):.0%}  {e['fingerprint']}"
        )
