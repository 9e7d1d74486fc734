"""The polling loop: every source on its own interval, isolated from the others.

Per source: conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the last 200's
``ETag`` / ``Last-Modified``), a timeout on the *whole* request (a server that trickles
bytes cannot hold a poll forever), a response size limit (``max_bytes``, checked on
``Content-Length`` and while streaming), and on any failure a jittered exponential backoff
(:func:`backoff_delay`), honouring ``Retry-After``. Requests to one host are spaced by the
source's ``host_interval_s`` (Reddit, StockTwits). Every connection, redirect hops included,
goes through the SSRF guard (:mod:`ingest.url_guard`). Whatever goes wrong in one source (HTTP
error, parse error, a bug) is counted and logged for that source; the other sources go on.

What the fetched documents go through is :class:`Pipeline`: dedup -> publish -> archive,
with counters in :class:`ingest.health.HealthBook`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import httpx

from foundation.errors import SourceError
from foundation.language import language_supported
from foundation.retry import backoff_delay
from foundation.schemas import Document, utcnow
from ingest.dedup import Deduplicator
from ingest.health import HealthBook
from ingest.sources.base import ParseResult, Source
from ingest.url_guard import (
    FETCH_SCHEMES,
    MAX_REDIRECTS,
    BlockedAddress,
    guarded_client,
    parse_networks,
    policy_for,
)

if TYPE_CHECKING:
    from foundation.store import Store

log = logging.getLogger(__name__)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (when - (now or utcnow())).total_seconds())


@dataclass
class SourceState:
    """What the poller remembers about one source between polls."""

    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    last_delay: float = 0.0
    last_status: int | None = None


@dataclass
class Fetched:
    status: int
    body: bytes = b""
    content_type: str | None = None
    retry_after: float | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(SourceError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def is_remote(url: str) -> bool:
    return urlsplit(url).scheme in FETCH_SCHEMES


def is_local(url: str) -> bool:
    """A ``file://`` URL or a plain path (no scheme; a Windows drive letter is not one)."""
    scheme = urlsplit(url).scheme
    return scheme == "file" or scheme == "" or len(scheme) == 1


def check_scheme(source: Source) -> None:
    """http(s) for every source; files only for a source marked ``local = true``."""
    if is_remote(source.url):
        return
    if not is_local(source.url):
        raise FetchError(
            f"unsupported URL scheme {urlsplit(source.url).scheme!r}: only http and https "
            "are fetched (and files, for a source marked local = true)"
        )
    if not source.settings.local:
        raise FetchError("a file URL or path is read only for a source marked local = true")


def read_local(url: str, max_bytes: int) -> bytes:
    """A local feed file (``file://`` URL or path), held to the same size limit."""
    path = Path(urlsplit(url).path if url.startswith("file://") else url)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(f"file is {size} bytes, over the limit of {max_bytes}")
        return path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None


async def fetch(
    client: httpx.AsyncClient,
    source: Source,
    state: SourceState,
) -> Fetched:
    """One conditional GET of ``source.url``; raises FetchError naming what went wrong.

    ``client`` should come from :func:`ingest.url_guard.guarded_client` (the SSRF guard).
    """
    settings = source.settings
    check_scheme(source)
    if not is_remote(source.url):
        return Fetched(200, await asyncio.to_thread(read_local, source.url, settings.max_bytes))
    headers = source.request_headers()
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified

    async def _get() -> Fetched:
        async with client.stream("GET", source.url, headers=headers) as resp:
            state.last_status = resp.status_code
            if resp.status_code == 304:
                return Fetched(304)
            if resp.status_code >= 400:
                retry = retry_after_seconds(resp.headers.get("Retry-After"))
                raise FetchError(
                    f"HTTP {resp.status_code} {resp.reason_phrase}".strip(), retry_after=retry
                )
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > settings.max_bytes:
                raise FetchError(
                    f"response of {length} bytes is over the limit of {settings.max_bytes}"
                )
            chunks: list[bytes] = []
            total = 0
            async for chunk in resp.aiter_bytes():
                total += len(chunk)
                if total > settings.max_bytes:
                    raise FetchError(f"response is over the limit of {settings.max_bytes} bytes")
                chunks.append(chunk)
            if resp.status_code == 200:
                state.etag = resp.headers.get("ETag") or state.etag
                state.last_modified = resp.headers.get("Last-Modified") or state.last_modified
            return Fetched(resp.status_code, b"".join(chunks), resp.headers.get("Content-Type"))

    try:
        return await asyncio.wait_for(_get(), timeout=settings.timeout_s)
    except TimeoutError:
        raise FetchError(f"timed out after {settings.timeout_s:g} s") from None
    except httpx.TimeoutException:
        raise FetchError(f"timed out after {settings.timeout_s:g} s") from None
    except BlockedAddress as exc:
        raise FetchError(str(exc)) from None
    except httpx.TooManyRedirects:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None


class DocumentPublisher(Protocol):
    """What the pipeline needs from :class:`foundation.kafka.publisher.Publisher`."""

    def publish(self, doc: Document) -> None: ...

    def flush(self, timeout: float = 60.0) -> Any: ...


class DocumentArchive(Protocol):
    def append(self, docs: Iterable[Document]) -> int: ...


@dataclass
class Pipeline:
    """Dedup -> publish -> archive for the documents of one poll; counts per source."""

    publisher: DocumentPublisher
    archive: DocumentArchive | None
    dedup: Deduplicator
    health: HealthBook
    languages: Sequence[str] = ("en",)
    flush_timeout_s: float = 60.0
    _failed_seen: int = field(default=0, init=False)
    # Sources finish polls concurrently (each in a worker thread); dedup state is shared.
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def process(self, source: str, docs: Sequence[Document]) -> list[Document]:
        """Publish the new documents of ``docs``; returns them (duplicates left out)."""
        with self._lock:
            return self._process(source, docs)

    def _process(self, source: str, docs: Sequence[Document]) -> list[Document]:
        fresh: list[Document] = []
        duplicates = 0
        unsupported = 0
        for doc in docs:
            verdict = self.dedup.check(doc)
            if verdict.duplicate:
                duplicates += 1
                log.debug(
                    "%s: duplicate (%s) of %s: %s", source, verdict.reason, verdict.of, doc.id
                )
                continue
            if not language_supported(doc.language, self.languages):
                unsupported += 1  # still published and archived; the worker skips scoring
            fresh.append(doc)
        for doc in fresh:
            self.publisher.publish(doc)
        stats = self.publisher.flush(self.flush_timeout_s) if fresh else None
        failed = 0
        if stats is not None and hasattr(stats, "failed"):
            failed = int(stats.failed) - self._failed_seen
            self._failed_seen = int(stats.failed)
        if self.archive is not None and fresh:
            # Archived even when delivery failed: the archive is what a replay recovers from.
            self.archive.append(fresh)
        self.health.add(
            source,
            fetched=len(docs),
            published=len(fresh) - failed,
            duplicates=duplicates,
            unsupported_language=unsupported,
        )
        if failed:
            self.health.error(source, f"{failed} documents not delivered to the broker")
        return fresh


class Poller:
    """Polls every source on its interval until stopped; one asyncio task per source."""

    def __init__(
        self,
        sources: Sequence[Source],
        pipeline: Pipeline,
        *,
        rng: random.Random | None = None,
        client: httpx.AsyncClient | None = None,
        on_poll: Callable[[Source, ParseResult | None, Exception | None], None] | None = None,
        allow_networks: Sequence[str] = (),
    ) -> None:
        self.sources = list(sources)
        self.pipeline = pipeline
        self.health = pipeline.health
        self.rng = rng or random.Random()
        self.states: dict[str, SourceState] = {s.name: SourceState() for s in self.sources}
        # ``client`` (tests) serves every source; otherwise one guarded client per policy, so
        # a connection opened for an allow_private source is never reused for another.
        self._client = client
        self._own_client = client is None
        self._allow_networks = tuple(allow_networks)
        parse_networks(self._allow_networks)  # a bad entry fails at start, not at first poll
        self._clients: dict[bool, httpx.AsyncClient] = {}
        self._host_next: dict[str, float] = {}
        self._host_lock = asyncio.Lock()
        self._on_poll = on_poll

    async def _client_get(self, source: Source) -> httpx.AsyncClient:
        if self._client is not None:
            return self._client
        allow = source.settings.allow_private
        if allow not in self._clients:
            self._clients[allow] = guarded_client(policy_for(allow, self._allow_networks))
        return self._clients[allow]

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def _host_gate(self, source: Source) -> None:
        interval = type(source).host_interval_s
        if interval <= 0 or not is_remote(source.url):
            return
        host = urlsplit(source.url).hostname or ""
        async with self._host_lock:
            now = time.monotonic()
            start = max(now, self._host_next.get(host, 0.0))
            self._host_next[host] = start + interval
        if start > now:
            await asyncio.sleep(start - now)

    async def poll_once(self, source: Source) -> float:
        """Fetch, parse and publish one source; returns the seconds until its next poll."""
        state = self.states.setdefault(source.name, SourceState())
        settings = source.settings
        result: ParseResult | None = None
        try:
            await self._host_gate(source)
            fetched = await fetch(await self._client_get(source), source, state)
            if fetched.not_modified:
                self.health.success(source.name, not_modified=True)
            else:
                # Parsing is CPU work (a 5 MB feed takes a while): off the event loop, so the
                # other sources' requests and timeouts keep running meanwhile.
                result = await asyncio.to_thread(
                    source.parse,
                    fetched.body,
                    fetched_at=utcnow(),
                    content_type=fetched.content_type,
                )
                if not result.documents and result.problems:
                    raise SourceError("; ".join(result.problems[:3]))
                for problem in result.problems[:5]:
                    log.info("%s: %s", source.name, problem)
                if result.problems:
                    # A bozo feed parsed in part: its error stays visible in source_health.
                    self.health.warn(source.name, result.problems[0])
                await asyncio.to_thread(self.pipeline.process, source.name, result.documents)
                self.health.success(source.name)
        except Exception as exc:
            state.failures += 1
            retry = exc.retry_after if isinstance(exc, FetchError) else None
            delay = backoff_delay(
                state.failures,
                base=settings.backoff_base_s,
                cap=settings.backoff_max_s,
                rng=self.rng.random,
            )
            if retry is not None:
                delay = min(max(delay, retry), settings.backoff_max_s)
            state.last_delay = delay
            message = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
            self.health.error(source.name, message)
            log.warning(
                "source %s failed (%d in a row): %s; next try in %.0f s",
                source.name,
                state.failures,
                message,
                delay,
            )
            if self._on_poll:
                self._on_poll(source, result, exc)
            return delay
        state.failures = 0
        state.last_delay = settings.interval_s
        if self._on_poll:
            self._on_poll(source, result, None)
        # A little jitter on the regular interval too, so feeds drift apart.
        return settings.interval_s * self.rng.uniform(0.95, 1.05)

    async def _run_source(self, source: Source, stop: asyncio.Event) -> None:
        # Stagger the first polls so start-up does not hit every feed in the same second.
        first = self.rng.uniform(0, min(5.0, source.settings.interval_s / 10))
        if await _wait(stop, first):
            return
        while not stop.is_set():
            delay = await self.poll_once(source)
            if await _wait(stop, delay):
                return

    async def run(
        self, stop: asyncio.Event, *, health_every_s: float = 30.0, store: Store | None = None
    ) -> None:
        """Poll until ``stop`` is set; writes source health to ``store`` periodically."""
        tasks = [
            asyncio.create_task(self._run_source(s, stop), name=f"source:{s.name}")
            for s in self.sources
        ]
        try:
            while not stop.is_set():
                if await _wait(stop, health_every_s):
                    break
                if store is not None:
                    await asyncio.to_thread(self.health.write, store)
                log.info("ingest: %s", self.health.summary_line())
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            if store is not None:
                await asyncio.to_thread(self.health.write, store)
            await self.aclose()

    async def run_once(self) -> dict[str, float]:
        """Poll every source once, concurrently; returns each source's next delay."""
        try:
            delays = await asyncio.gather(*(self.poll_once(s) for s in self.sources))
        finally:
            await self.aclose()
        return {s.name: d for s, d in zip(self.sources, delays, strict=True)}


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True when ``stop`` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        return False
    return True
