"""``finpulse ingest`` (poll the configured sources forever) and ``finpulse feeds check``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from foundation.errors import ConfigError, SourceError
from foundation.redact import mask_url, redact
from foundation.schemas import Document, isoformat, utcnow
from foundation.settings import Settings, SourceSettings, get_settings
from foundation.store import Store
from ingest.dedup import Deduplicator
from ingest.health import HealthBook
from ingest.poller import FetchError, Pipeline, Poller, SourceState, fetch, is_remote
from ingest.sources.base import ParseResult, Source, detect_kind
from ingest.sources.registry import build_sources, configured_sources, make_source
from ingest.url_guard import guarded_client, policy_for

log = logging.getLogger(__name__)


class _PrintPublisher:
    """``--dry-run``: documents as archive lines on stdout instead of the broker."""

    def publish(self, doc: Document) -> None:
        from ingest.archive import document_line

        click.echo(document_line(doc))

    def flush(self, timeout: float = 60.0) -> None:
        sys.stdout.flush()


def seed_dedup(dedup: Deduplicator, archive_dir: str | Path, days: float = 3.0) -> int:
    """Remember the documents of archive files written in the last ``days`` (by mtime).

    A restarted ``finpulse ingest`` sees the same feed items again; without this it would
    publish them a second time (dedup state is in memory). Files are picked by modification
    time, not by name, because a file is named for its documents' *published* day and feeds
    carry old items too. At most ``dedup.capacity`` documents are kept, the newest written
    last. Returns how many documents were read.
    """
    import time

    from ingest.archive import ReadReport, read_archive

    root = Path(archive_dir)
    if not root.is_dir():
        return 0
    cutoff = time.time() - days * 86400
    files = sorted(
        (p for p in root.glob("*.jsonl.gz") if p.stat().st_mtime >= cutoff),
        key=lambda p: p.stat().st_mtime,
    )
    n = 0
    report = ReadReport()
    for path in files:
        for doc in read_archive(path, report):
            dedup.check(doc)
            n += 1
    if n:
        log.info("dedup: remembered %d documents from %d archive files", n, len(files))
    return n


def run_ingest(
    settings: Settings,
    publisher: Any,
    *,
    sources: Sequence[Source] | None = None,
    archive: Any = None,
    store: Store | None = None,
    once: bool = False,
    stop: asyncio.Event | None = None,
) -> HealthBook:
    """The ingest loop (for the CLI and for ``finpulse demo`` in-process): returns counters."""
    srcs = list(sources) if sources is not None else build_sources(settings)
    health = HealthBook()
    if store is not None:
        try:
            health.load(store)
        except Exception as exc:
            log.warning("cannot read previous source health: %s", exc)
    dedup = Deduplicator(settings.ingest.dedup_capacity)
    if archive is not None and getattr(archive, "root", None) is not None:
        try:
            seed_dedup(dedup, archive.root)
        except Exception as exc:  # a damaged archive must not stop ingest
            log.warning("cannot seed dedup from the archive: %s", exc)
    pipeline = Pipeline(
        publisher=publisher,
        archive=archive,
        dedup=dedup,
        health=health,
        languages=tuple(settings.model.languages),
    )
    poller = Poller(srcs, pipeline, allow_networks=settings.ingest.allow_networks)

    async def main() -> None:
        if once:
            await poller.run_once()
            if store is not None:
                health.write(store)
            return
        ev = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Outside the main thread (in-process demo) the caller sets ``stop`` instead.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, ev.set)
        await poller.run(ev, store=store)

    log.info("ingest: polling %d sources", len(srcs))
    asyncio.run(main())
    log.info("ingest: %s", health.summary_line())
    return health


@click.command()
@click.option("--once", is_flag=True, help="Poll every source once, then exit.")
@click.option("--source", "only", multiple=True, help="Poll only this source (repeatable).")
@click.option("--no-archive", is_flag=True, help="Do not append to the archive.")
@click.option(
    "--dry-run", is_flag=True, help="Print documents as archive lines; no broker, no archive."
)
@click.pass_context
def ingest(ctx: click.Context, once: bool, only: tuple[str, ...], no_archive: bool, dry_run: bool):
    """Poll the configured sources and publish new documents to the broker.

    Sources come from settings.ingest.sources ([[ingest.sources]] in the settings TOML) or,
    when none are set, the shipped list (ingest/default_sources.toml). Every published
    document is appended to the daily archive in settings.ingest.archive_dir.
    """
    settings: Settings = get_settings(ctx)
    sources = build_sources(settings, only)
    if not sources:
        raise ConfigError("no enabled sources to poll")
    if dry_run:
        health = run_ingest(settings, _PrintPublisher(), sources=sources, store=None, once=once)
    else:
        store = None
        try:
            store = Store(settings.store.url)
        except Exception as exc:  # health is useful, not essential
            log.warning("source health will not be stored: %s", exc)
        from foundation.kafka.broker import (
            check_reachable,
            create_topics,
            resolve_bootstrap,
        )
        from foundation.kafka.publisher import Publisher
        from foundation.kafka.topics import DOCUMENTS, settings_topics
        from ingest.archive import ArchiveWriter

        # broker.url, else the embedded broker this machine runs (`finpulse broker`/`demo`).
        bootstrap = resolve_bootstrap(settings)
        check_reachable(bootstrap)
        create_topics(bootstrap, settings_topics(settings), settings.broker.replication_factor)
        if not once:
            from foundation.metrics import start_exporter

            start_exporter(settings.metrics, "ingest")
        publisher = Publisher(
            bootstrap,
            settings.broker.topic(DOCUMENTS),
            embedded=settings.broker.embedded,
        )
        archive = None if no_archive else ArchiveWriter(settings.ingest.archive_dir)
        try:
            health = run_ingest(
                settings, publisher, sources=sources, archive=archive, store=store, once=once
            )
        finally:
            publisher.close()
    click.echo(health.summary_line(), err=True)


# --- feeds ----------------------------------------------------------------------------------


@click.group()
def feeds() -> None:
    """Inspect feeds: what a source yields and what is wrong with it."""


def check_feed(
    target: str,
    *,
    kind: str = "auto",
    user_agent: str,
    timeout_s: float = 15.0,
    max_bytes: int = 5_000_000,
    language: str | None = None,
    allow_private: bool = False,
    allow_networks: Sequence[str] = (),
) -> tuple[str, ParseResult]:
    """Fetch or read one feed and parse it; returns (kind, result). Never raises on content.

    A path given here is the operator's own file, so it is read (``local``); a URL goes
    through the same SSRF guard as the poller.
    """
    probe = SourceSettings(
        name=target if len(target) < 200 else target[:200],
        kind="rss",
        url=target,
        timeout_s=timeout_s,
        max_bytes=max_bytes,
        language=language,
        allow_private=allow_private,
        local=not is_remote(target),
    )

    async def get() -> bytes:
        async with guarded_client(policy_for(allow_private, allow_networks)) as client:
            got = await fetch(client, make_source(probe, user_agent=user_agent), SourceState())
            return got.body

    if not is_remote(target) and not Path(target.removeprefix("file://")).exists():
        raise SourceError(f"no such file: {target} (give a path or an http(s) URL)")
    try:
        body = asyncio.run(get())
    except FetchError as exc:
        result = ParseResult()
        result.problems.append(f"fetch failed: {exc}")
        return kind, result
    if kind == "auto":
        kind = detect_kind(body, target)
    src = make_source(probe.model_copy(update={"kind": kind}), user_agent=user_agent)
    return kind, src.parse(body, fetched_at=utcnow())


@feeds.command("check")
@click.argument("target")
@click.option(
    "--kind",
    type=click.Choice(["auto", "rss", "reddit", "stocktwits", "jsonl"]),
    default="auto",
    show_default=True,
    help="Feed kind; auto detects it from the content.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.option("--timeout", default=15.0, show_default=True, help="Seconds for a URL.")
@click.option("--max-bytes", default=5_000_000, show_default=True, help="Size limit.")
@click.option(
    "--allow-private",
    is_flag=True,
    help="Allow a loopback/private/link-local address (an intranet feed); refused otherwise.",
)
@click.pass_context
def check(
    ctx: click.Context,
    target: str,
    kind: str,
    as_json: bool,
    timeout: float,
    max_bytes: int,
    allow_private: bool,
) -> None:
    """Parse one feed (URL or FILE) and print its documents and every problem found.

    Exit status: 1 when no document could be read and there were problems (unreachable,
    not a feed, ...); 0 otherwise (an empty feed is fine; problems may still be listed).
    """
    settings: Settings = get_settings(ctx)
    kind, result = check_feed(
        target,
        kind=kind,
        user_agent=settings.ingest.user_agent,
        timeout_s=timeout,
        max_bytes=max_bytes,
        allow_private=allow_private,
        allow_networks=settings.ingest.allow_networks,
    )
    languages = set(settings.model.languages)
    if as_json:
        out = {
            "target": target,
            "kind": kind,
            "feed_title": result.feed_title,
            "feed_language": result.feed_language,
            "documents": [d.model_dump(mode="json") for d in result.documents],
            "count": len(result.documents),
            "skipped": result.skipped,
            "not_scored_language": sum(d.language not in languages for d in result.documents),
            "problems": result.problems,
        }
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(
            f"{target}\n  kind: {kind}   title: {result.feed_title or '-'}   "
            f"language: {result.feed_language or '-'}\n  documents: {len(result.documents)}"
            f"   skipped: {result.skipped}   problems: {len(result.problems)}"
        )
        for d in result.documents:
            tick = f" [{' '.join(d.tickers)}]" if d.tickers else ""
            mark = "" if d.language in languages else " (not scored)"
            click.echo(f"\n{isoformat(d.published)}  {d.language or '??'}{mark}{tick}  {d.title}")
            if d.link:
                click.echo(f"    {d.link}")
            if d.flags:
                click.echo(f"    flags: {', '.join(d.flags)}")
        if result.problems:
            click.echo("\nproblems:")
            for p in result.problems:
                click.echo(f"  - {p}")
    if not result.documents and result.problems:
        ctx.exit(1)


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines instead of a table.")
@click.pass_context
def list_sources(ctx: click.Context, as_json: bool) -> None:
    """Print the configured sources (or the shipped defaults)."""
    settings: Settings = get_settings(ctx)
    for s in configured_sources(settings):
        if as_json:
            click.echo(redact(s.model_dump_json()))
        else:
            click.echo(f"{s.kind:10} {s.interval_s:>6g}s  {s.name:32} {mask_url(s.url)}")
