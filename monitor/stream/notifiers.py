"""Delivering alert groups to sinks over HTTP (httpx, async): retry, rate limit, dead letters.

Stages per sink (alertmanager style): dedup (skip what the store says was delivered) ->
rate limit (token bucket, ``max_per_minute``) -> POST -> retry with capped exponential backoff
and jitter (connection errors, timeouts, 429 and 5xx; other 4xx are permanent) -> after the
last retry a dead letter (callback to the dead-letter topic) and ``Store.record_delivery(...,
state="dead")``; successes are recorded as ``delivered``.

Secrets (HMAC keys, PagerDuty routing keys, Slack webhook URLs) are read from the environment
variable a sink names and never logged: errors name the sink and the HTTP status or exception
type only, never the URL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx

from foundation import metrics
from foundation.errors import ConfigError
from foundation.retry import backoff_delay
from foundation.schemas import Alert
from foundation.settings import SinkSettings
from foundation.store import Store
from monitor.core.lifecycle import AlertGroup, group_alerts
from monitor.core.payloads import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    alertmanager_payload,
    body_bytes,
    pagerduty_event,
    sign,
    slack_message,
    webhook_payload,
)
from monitor.core.watchlists import routed
from monitor.stream.offload import Offload

log = logging.getLogger(__name__)

T = TypeVar("T")

DeadLetter = Callable[[Alert, str, str, int], Awaitable[None]]


class TokenBucket:
    """``rate_per_minute`` tokens per minute; bursts up to ``burst`` (default: min(rate, 10))."""

    def __init__(
        self,
        rate_per_minute: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = burst if burst is not None else max(1.0, min(10.0, rate_per_minute))
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self) -> float:
        """Take one token, waiting as needed; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            self._refill()
            while self.tokens < 1.0:
                wait = (1.0 - self.tokens) / self.rate
                await self.sleep(wait)
                waited += wait
                self._refill()
            self.tokens -= 1.0
        return waited


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    sink: str
    alert: Alert
    state: str  # delivered | dead | skipped (already delivered)
    attempts: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    alerts: tuple[Alert, ...]
    body: bytes


@runtime_checkable
class Refreshing(Protocol):
    """A sink whose receiver forgets what is not posted again (Alertmanager's API)."""

    async def refresh(self) -> None: ...

    def remember(self, alerts: list[Alert]) -> None: ...


class _Permanent(Exception):
    pass


class Sink:
    """One configured sink: renders a group into requests and posts them with retries."""

    def __init__(
        self,
        cfg: SinkSettings,
        client: httpx.AsyncClient,
        *,
        env: Mapping[str, str],
        external_url: str,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.client = client
        self.external_url = external_url
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.rng = rng
        self.clock = clock
        self.bucket = TokenBucket(cfg.max_per_minute)
        self.url = cfg.url
        self.secret: str | None = None
        if cfg.secret_env:
            self.secret = env.get(cfg.secret_env)
            if not self.secret:
                raise ConfigError(
                    f"sinks[{cfg.name}].secret_env: environment variable {cfg.secret_env} "
                    "is not set"
                )
        elif cfg.kind == "pagerduty":
            raise ConfigError(f"sinks[{cfg.name}].secret_env: PagerDuty needs a routing key")

    def requests(self, group: AlertGroup) -> list[Request]:
        kind = self.cfg.kind
        if kind == "pagerduty":
            assert self.secret is not None
            return [
                Request((a,), body_bytes(pagerduty_event(a, self.secret))) for a in group.alerts
            ]
        payload: dict[str, Any]
        if kind == "alertmanager":
            payload = alertmanager_payload(group, self.name, self.external_url)
        elif kind == "slack":
            payload = slack_message(group)
        else:
            payload = webhook_payload(group)
        return [Request(group.alerts, body_bytes(payload))]

    def headers(self, body: bytes) -> dict[str, str]:
        h = {"Content-Type": "application/json", "User-Agent": "finpulse-notifier/1"}
        if self.cfg.kind == "webhook" and self.secret:
            ts = str(int(self.clock()))
            h[TIMESTAMP_HEADER] = ts
            h[SIGNATURE_HEADER] = sign(self.secret, ts, body)
        return h

    async def post(self, req: Request) -> tuple[bool, int, str | None]:
        """POST with retries: (delivered, attempts, last error)."""
        error: str | None = None
        attempts = 0
        for attempt in range(self.cfg.max_retries + 1):
            await self.bucket.acquire()
            attempts += 1
            retry_after: float | None = None
            try:
                # Re-sign on every attempt: the timestamp must be fresh for the receiver.
                resp = await self.client.post(
                    self.url,
                    content=req.body,
                    headers=self.headers(req.body),
                    timeout=self.cfg.timeout_s,
                )
                if 200 <= resp.status_code < 300:
                    return True, attempts, None
                error = f"HTTP {resp.status_code}"
                if resp.status_code != 429 and resp.status_code < 500:
                    raise _Permanent(error)
                ra = resp.headers.get("Retry-After")
                if ra and ra.strip().isdigit():
                    retry_after = float(ra)
            except _Permanent:
                break
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            metrics.NOTIFICATIONS.labels(self.name, "failed").inc()
            if attempt < self.cfg.max_retries:
                delay = backoff_delay(
                    attempt + 1, base=self.base_delay_s, cap=self.max_delay_s, rng=self.rng
                )
                if retry_after is not None:
                    delay = min(self.max_delay_s, max(delay, retry_after))
                log.warning(
                    "sink %s: attempt %d failed (%s); retrying in %.1fs",
                    self.name,
                    attempts,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
        return False, attempts, error


class Dispatcher:
    """Sends alerts to every configured sink, recording deliveries and dead letters.

    ``store`` (optional) is a ``foundation.store.Store``: used to skip alerts already delivered
    to a sink (so a redelivered alert event or a restart never notifies twice) and to record
    the outcome; with ``offload`` those blocking calls run on its thread, not the event loop.
    ``dead_letter`` (optional) is awaited for every alert that exhausted its retries on a sink
    (the stream shell sends it to the dead-letter topic).
    """

    def __init__(
        self,
        sinks: Sequence[SinkSettings],
        *,
        store: Store | None = None,
        offload: Offload | None = None,
        dead_letter: DeadLetter | None = None,
        external_url: str = "http://127.0.0.1:8050",
        env: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client or httpx.AsyncClient()
        self._own_client = client is None
        env = os.environ if env is None else env
        from monitor.stream.alertmanager_api import AlertmanagerApiSink

        kinds: dict[str, type[Sink]] = {"alertmanager_api": AlertmanagerApiSink}
        self.sinks = [
            kinds.get(s.kind, Sink)(
                s,
                self.client,
                env=env,
                external_url=external_url,
                base_delay_s=base_delay_s,
                max_delay_s=max_delay_s,
                rng=rng,
            )
            for s in sinks
        ]
        self.store = store
        self.offload = offload
        self.dead_letter = dead_letter

    async def dispatch(self, alerts: Sequence[Alert]) -> list[DeliveryResult]:
        """Group ``alerts`` and deliver each group to every sink (sinks concurrently)."""
        groups = group_alerts(alerts)
        per_sink = await asyncio.gather(*(self._to_sink(s, groups) for s in self.sinks))
        return [r for rs in per_sink for r in rs]

    async def _to_sink(self, sink: Sink, groups: list[AlertGroup]) -> list[DeliveryResult]:
        out: list[DeliveryResult] = []
        for g in groups:
            fresh = []
            for a in g.alerts:
                if not routed(sink.cfg, a):
                    continue  # not this sink's route (scope kind / watchlist)
                if await self._delivered(a, sink.name):
                    out.append(DeliveryResult(sink.name, a, "skipped", 0))
                else:
                    fresh.append(a)
            if not fresh:
                continue
            group = AlertGroup(g.key, g.rule, g.status, tuple(fresh))
            for req in sink.requests(group):
                ok, attempts, error = await sink.post(req)
                for a in req.alerts:
                    state = "delivered" if ok else "dead"
                    metrics.NOTIFICATIONS.labels(sink.name, state).inc()
                    out.append(DeliveryResult(sink.name, a, state, attempts, error))
                    await self._record(a, sink.name, state, attempts, error)
                    if ok:
                        log.info("sink %s: delivered %s %s", sink.name, a.status, a.fingerprint)
                    else:
                        log.error(
                            "sink %s: gave up on %s %s after %d attempts (%s): dead letter",
                            sink.name,
                            a.status,
                            a.fingerprint,
                            attempts,
                            error,
                        )
                        if self.dead_letter is not None:
                            await self.dead_letter(a, sink.name, error or "", attempts)
        return out

    async def _store_call(self, fn: Callable[..., T], *args: Any) -> T:
        # Store calls are blocking SQL: off the event loop when the shell gave an executor.
        if self.offload is not None:
            return await self.offload.run(fn, *args)
        return fn(*args)

    async def _delivered(self, a: Alert, sink: str) -> bool:
        if self.store is None:
            return False
        return await self._store_call(self.store.was_delivered, a, sink)

    async def _record(
        self, a: Alert, sink: str, state: str, attempts: int, error: str | None
    ) -> None:
        if self.store is not None:
            await self._store_call(self.store.record_delivery, a, sink, state, attempts, error)

    @property
    def refresh_interval_s(self) -> float | None:
        """How often :meth:`refresh` must run (None: no sink needs it)."""
        periods = [s.cfg.resend_s for s in self.sinks if isinstance(s, Refreshing)]
        return min(periods) if periods else None

    def remember(self, alerts: Sequence[Alert]) -> None:
        """Alerts still firing from before a restart, for the sinks that keep them alive."""
        for s in self.sinks:
            if isinstance(s, Refreshing):
                s.remember(list(alerts))

    async def refresh(self) -> None:
        """Post again what sinks keep alive (Alertmanager's firing alerts)."""
        await asyncio.gather(*(s.refresh() for s in self.sinks if isinstance(s, Refreshing)))

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()
