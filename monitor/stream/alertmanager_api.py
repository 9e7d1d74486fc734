"""The ``alertmanager_api`` sink: alerts to Alertmanager's own ``POST /api/v2/alerts``.

Alertmanager expects a client to keep posting its firing alerts (Prometheus does every
minute) and resolves an alert whose ``endsAt`` passes. So this sink remembers the alerts it
posted as firing and :meth:`refresh` posts them again every ``resend_s`` with a fresh
``endsAt``; a resolved alert is posted with its ``ends_at`` and forgotten. Grouping, dedup,
silences and routing are Alertmanager's. Payloads: ``monitor.core.payloads``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from foundation import metrics
from foundation.schemas import Alert, utcnow
from monitor.core.lifecycle import AlertGroup
from monitor.core.payloads import alertmanager_api_alerts, body_bytes
from monitor.stream.notifiers import Request, Sink

log = logging.getLogger(__name__)
API_PATH = "/api/v2/alerts"


class AlertmanagerApiSink(Sink):
    def __init__(self, *args: Any, now: Callable[[], datetime] = utcnow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url = self.cfg.url.rstrip("/") + API_PATH
        self.now = now
        self.firing: dict[str, Alert] = {}  # fingerprint -> the last firing alert posted

    def requests(self, group: AlertGroup) -> list[Request]:
        for a in group.alerts:
            if a.status == "firing":
                self.firing[a.fingerprint] = a
            else:
                self.firing.pop(a.fingerprint, None)
        items = alertmanager_api_alerts(group.alerts, now=self.now(), resend_s=self.cfg.resend_s)
        return [Request(group.alerts, body_bytes(items))]

    def remember(self, alerts: list[Alert]) -> None:
        """Alerts firing before a restart (from the store): kept alive from now on."""
        for a in alerts:
            if a.status == "firing":
                self.firing[a.fingerprint] = a

    async def refresh(self) -> None:
        """One POST of every firing alert with a new endsAt; a failure waits for the next."""
        if not self.firing:
            return
        items = alertmanager_api_alerts(
            list(self.firing.values()), now=self.now(), resend_s=self.cfg.resend_s
        )
        body = body_bytes(items)
        try:
            resp = await self.client.post(
                self.url, content=body, headers=self.headers(body), timeout=self.cfg.timeout_s
            )
            ok, error = 200 <= resp.status_code < 300, f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, type(exc).__name__
        if not ok:
            metrics.NOTIFICATIONS.labels(self.name, "failed").inc()
            log.warning(
                "sink %s: re-posting %d firing alert(s) failed (%s)", self.name, len(items), error
            )
