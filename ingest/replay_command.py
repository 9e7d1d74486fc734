"""``finpulse replay FILE...``: publish archives in event-time order to the documents topic."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import click

from foundation.errors import ConfigError
from foundation.progress import progress_enabled
from foundation.settings import get_settings

log = logging.getLogger(__name__)

# Bytes per producer batch. Multi-record batches are safe for the documents topic on the
# embedded broker: its wrong end offsets only break changelog recovery (Faust tables), and
# tests/integration/test_runtime_replay_month.py counts every record of a 49k replay.
REPLAY_BATCH_BYTES = 256 * 1024


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except ValueError:
        raise ConfigError(
            f"{name} {value!r} is not an ISO-8601 time (e.g. 2022-11-08T00:00:00Z)"
        ) from None


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--speed", type=float, default=None, help="X times real time, by published gaps.")
@click.option("--max-rate", type=float, default=None, help="At most N documents per second.")
@click.option("--from", "start", default=None, help="Only documents published at/after (ISO).")
@click.option("--to", "end", default=None, help="Only documents published before (ISO).")
@click.option(
    "--shift",
    "shift_s",
    type=float,
    default=0.0,
    help="Add SECONDS to every published time (the demo moves its sample to today).",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a TTY).")
@click.option(
    "--batch-size",
    type=int,
    default=REPLAY_BATCH_BYTES,
    show_default=True,
    help="Producer batch size in bytes (1 = one record per request).",
)
@click.pass_context
def replay(
    ctx: click.Context,
    paths: tuple[str, ...],
    speed: float | None,
    max_rate: float | None,
    start: str | None,
    end: str | None,
    shift_s: float,
    progress: bool | None,
    batch_size: int,
) -> None:
    """Publish archive FILEs (JSON Lines, .gz allowed; folders too) in event-time order."""
    from foundation.kafka.broker import (
        check_reachable,
        create_topics,
        resolve_bootstrap,
    )
    from foundation.kafka.publisher import Publisher
    from foundation.kafka.topics import DOCUMENTS, settings_topics
    from ingest.archive import archive_files
    from ingest.replay import replay_files
    from ingest.tickers import tag_document

    settings = get_settings(ctx)
    if speed is not None and speed <= 0:
        raise ConfigError("--speed must be positive")
    if max_rate is not None and max_rate <= 0:
        raise ConfigError("--max-rate must be positive")
    t_start, t_end = parse_time(start, "--from"), parse_time(end, "--to")
    files = archive_files(paths)  # fail on a missing file before touching the broker
    bootstrap = resolve_bootstrap(settings)
    check_reachable(bootstrap, 10.0)
    create_topics(bootstrap, settings_topics(settings), settings.broker.replication_factor)
    topic = settings.broker.topic(DOCUMENTS)
    paced = speed is not None or max_rate is not None
    publisher = Publisher(
        bootstrap,
        topic,
        client_id="finpulse-replay",
        batch_bytes=batch_size,
        chunk=1 if paced or batch_size <= 1 else 500,
    )
    log.info(
        "replaying %d file(s) to %s on %s%s%s",
        len(files),
        settings.broker.topic(DOCUMENTS),
        bootstrap,
        f", {speed:g}x real time" if speed else "",
        f", at most {max_rate:g} docs/s" if max_rate else "",
    )
    try:
        summary = replay_files(
            paths,
            publisher,
            speed=speed,
            max_rate=max_rate,
            start=t_start,
            end=t_end,
            shift=timedelta(seconds=shift_s),
            progress=progress_enabled(progress),
            # As the backtest does: archived documents get the tickers and entities the
            # current list finds, so the worker's ticker and sector scopes see them.
            tag=tag_document,
        )
    finally:
        publisher.close()
    for line in summary.lines():
        click.echo(line)
    if summary.failed:
        raise SystemExit(1)
    if summary.read == 0 and summary.bad_lines:
        # Every line refused: almost certainly the wrong file, not an archive to skip through.
        raise click.ClickException(
            f"no valid document in {len(files)} file(s): all {len(summary.bad_lines)} "
            "line(s) were refused (reasons above); nothing was published"
        )
