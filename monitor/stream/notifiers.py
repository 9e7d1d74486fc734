"""Sending alert groups to sinks over HTTP (httpx, async): rendering, signing, one attempt.

Each :class:`Sink` renders a group into requests (one per group, or one per alert for
PagerDuty) or an incident notification into one request, signs webhook bodies, takes a token
from its bucket (``max_per_minute``) and POSTs once. Retries, ordering, age limits and dead
letters are the outbox's (``monitor/stream/delivery.py``): an attempt only says what happened.

Secrets (HMAC keys, PagerDuty routing keys, Slack webhook URLs) are read from the environment
variable a sink names and never logged: errors name the sink and the HTTP status or exception
type only, never the URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx

from foundation import metrics
from foundation.errors import ConfigError
from foundation.schemas import Alert
from foundation.settings import SinkSettings
from monitor.core.incident_payloads import (
    incident_alertmanager_payload,
    incident_pagerduty_event,
    incident_slack_message,
    incident_webhook_payload,
)
from monitor.core.lifecycle import AlertGroup
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

log = logging.getLogger(__name__)


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
class Request:
    alerts: tuple[Alert, ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one POST: ``ok`` after a 2xx; ``permanent`` for a 4xx other than 429
    (retrying cannot help); ``retry_after`` from the receiver's header, in seconds."""

    ok: bool
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None


@runtime_checkable
class Refreshing(Protocol):
    """A sink whose receiver forgets what is not posted again (Alertmanager's API)."""

    async def refresh(self) -> None: ...

    def remember(self, alerts: list[Alert]) -> None: ...


# A header receivers can deduplicate on (exactly once even if finpulse crashes between a
# receiver's 2xx and recording it): stable per notification and sink.
IDEMPOTENCY_HEADER = "X-Finpulse-Idempotency-Key"


class Sink:
    """One configured sink: renders a group into requests and posts each once."""

    def __init__(
        self,
        cfg: SinkSettings,
        client: httpx.AsyncClient,
        *,
        env: Mapping[str, str],
        external_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.kind = cfg.kind
        self.client = client
        self.external_url = external_url
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

    def incident_request(self, a: Alert) -> Request:
        """One incident notification (``a`` carries its ``incident_notice``)."""
        kind = self.cfg.kind
        payload: dict[str, Any]
        if kind == "pagerduty":
            assert self.secret is not None
            payload = incident_pagerduty_event(a, self.secret)
        elif kind == "alertmanager":
            payload = incident_alertmanager_payload(a, self.name, self.external_url)
        elif kind == "slack":
            payload = incident_slack_message(a)
        elif kind == "webhook":
            payload = incident_webhook_payload(a)
        else:  # alertmanager_api keeps its member alerts (monitor.core.outbox)
            raise ValueError(f"sink kind {kind} takes no incident notifications")
        return Request((a,), body_bytes(payload))

    def headers(self, body: bytes, idempotency_key: str | None = None) -> dict[str, str]:
        h = {"Content-Type": "application/json", "User-Agent": "finpulse-notifier/1"}
        if idempotency_key:
            h[IDEMPOTENCY_HEADER] = idempotency_key
        if self.cfg.kind == "webhook" and self.secret:
            ts = str(int(self.clock()))
            h[TIMESTAMP_HEADER] = ts
            h[SIGNATURE_HEADER] = sign(self.secret, ts, body)
        return h

    async def post(self, req: Request, idempotency_key: str | None = None) -> Attempt:
        """One POST (after a token from the bucket); signed afresh, so the timestamp is new."""
        await self.bucket.acquire()
        try:
            resp = await self.client.post(
                self.url,
                content=req.body,
                headers=self.headers(req.body, idempotency_key),
                timeout=self.cfg.timeout_s,
            )
        except httpx.HTTPError as exc:
            metrics.NOTIFICATIONS.labels(self.name, "failed").inc()
            return Attempt(False, type(exc).__name__)
        if 200 <= resp.status_code < 300:
            return Attempt(True)
        metrics.NOTIFICATIONS.labels(self.name, "failed").inc()
        error = f"HTTP {resp.status_code}"
        if resp.status_code != 429 and resp.status_code < 500:
            return Attempt(False, error, permanent=True)
        ra = resp.headers.get("Retry-After")
        retry_after = float(ra) if ra and ra.strip().isdigit() else None
        return Attempt(False, error, retry_after=retry_after)

    async def send_group(self, group: AlertGroup, idempotency_key: str | None = None) -> Attempt:
        """Every request of ``group`` in order; stops at the first failure."""
        for req in self.requests(group):
            got = await self.post(req, idempotency_key)
            if not got.ok:
                return got
        return Attempt(True)

    async def send_incident(self, a: Alert, idempotency_key: str | None = None) -> Attempt:
        """One incident notification, one request."""
        return await self.post(self.incident_request(a), idempotency_key)


def make_sinks(
    sinks: Sequence[SinkSettings],
    client: httpx.AsyncClient,
    *,
    env: Mapping[str, str],
    external_url: str,
) -> list[Sink]:
    """One :class:`Sink` per setting; a missing secret is a ConfigError naming it."""
    from monitor.stream.alertmanager_api import AlertmanagerApiSink  # it subclasses Sink

    kinds: dict[str, type[Sink]] = {"alertmanager_api": AlertmanagerApiSink}
    return [kinds.get(s.kind, Sink)(s, client, env=env, external_url=external_url) for s in sinks]
