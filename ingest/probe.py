"""``finpulse config check --online``: is every configured source reachable right now?"""

from __future__ import annotations

import asyncio

import httpx

from foundation.settings import Settings
from ingest.poller import FetchError, SourceState, fetch
from ingest.sources.base import Source
from ingest.sources.registry import build_sources

# Feeds are fetched with the poller's own GET (same headers, size limit, timeout), a few at
# a time so a long list does not open ~190 connections at once.
CONCURRENCY = 16


def probe_sources(settings: Settings) -> list[tuple[str, str | None]]:
    """(source name, problem or None) for every enabled source, in configuration order."""
    sources = build_sources(settings)

    async def run() -> list[tuple[str, str | None]]:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient(follow_redirects=True) as client:

            async def one(src: Source) -> tuple[str, str | None]:
                async with gate:
                    try:
                        await asyncio.wait_for(
                            fetch(client, src, SourceState()), timeout=src.settings.timeout_s
                        )
                    except (FetchError, OSError) as exc:
                        return src.name, str(exc) or type(exc).__name__
                    except TimeoutError:
                        return src.name, "timed out"
                    return src.name, None

            return list(await asyncio.gather(*(one(s) for s in sources)))

    return asyncio.run(run())
