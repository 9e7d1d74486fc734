"""Durable alert delivery: the outbox and one delivery loop per sink.

Every notification is written to the store's ``outbox`` (one row per notification and sink,
idempotent key: ``monitor.core.outbox``) before anything is sent. Each sink has its own loop,
so a dead sink never delays another:

  take the sink's lease (one sender per sink, across processes) -> the head of its queue and
  the rows of the same group -> plan (silences, superseded, a resolved's missing firing:
  ``monitor.core.outbox.plan_group``) -> POST -> on a 2xx the rows are marked delivered in one
  transaction -> on a retryable failure (connection error, timeout, 429, 5xx) the sink backs
  off (``foundation.retry.backoff_delay``, capped at ``backoff_max_s``, ``Retry-After``
  honoured up to the cap) and retries the same head; a row older than its age limit
  (``max_age_s``, default 24 h) becomes a dead letter and the queue moves on; a 4xx is
  permanent (dead at once, reason ``rejected``).

Dead letters of an outage (reasons ``age`` and ``retries``) are re-driven when the sink is
healthy again: after a success that follows failures, on a loop's first success, and by a
probe (the oldest dead letter tried every ``backoff_max_s`` while the queue is empty); also by
``finpulse alerts redeliver``. A restarted process picks up the pending rows where the last
one stopped; a row marked delivered is never sent again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx

from foundation import metrics
from foundation.retry import backoff_delay
from foundation.schemas import Alert, utcnow
from foundation.settings import Settings, SinkSettings
from foundation.store import OutboxEntry, OutboxRow, SilenceRow, Store
from monitor.core.lifecycle import group_alerts
from monitor.core.outbox import (
    MAX_GROUP,
    Plan,
    alert_entry,
    head_group,
    is_incident_subject,
    plan_group,
    silence_labels,
    sink_entries,
)
from monitor.core.silences import Silence, parse_matchers
from monitor.stream.notifiers import Attempt, Refreshing, Sink, make_sinks
from monitor.stream.offload import Offload

log = logging.getLogger(__name__)

T = TypeVar("T")
DeadLetter = Callable[[Alert, str, str, int], Awaitable[None]]
REDRIVE_REASONS = ("age", "retries")


def to_silence(row: SilenceRow) -> Silence:
    """A stored silence as the pure matcher (its matchers were validated when it was made)."""
    return Silence(
        id=row.id,
        matchers=parse_matchers(row.matchers),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        comment=row.comment,
        created_at=row.created_at,
    )


def request_key(sink: str, entries: Sequence[OutboxEntry]) -> str:
    """The idempotency header of one request: the same notifications to the same sink."""
    h = hashlib.sha256(sink.encode())
    for e in sorted(x.key for x in entries):
        h.update(b"\x1f" + e.encode())
    return h.hexdigest()[:32]


@dataclass(slots=True)
class SinkState:
    sink: Sink
    cfg: SinkSettings
    failures: int = 0
    healthy: bool = False  # set by the first success: dead letters are re-driven then
    retry_at: float = 0.0  # monotonic
    probe_at: float = 0.0
    rearm_at: float = 0.0
    lease_until: float = 0.0  # monotonic; renewed when half of it is left
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Deliverer:
    """The outbox shell: :meth:`enqueue` persists, :meth:`run` delivers until :meth:`stop`."""

    def __init__(
        self,
        sinks: Sequence[SinkSettings],
        store: Store,
        *,
        offload: Offload | None = None,
        dead_letter: DeadLetter | None = None,
        external_url: str = "http://127.0.0.1:8050",
        env: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        poll_s: float = 5.0,
        lease_s: float = 60.0,
        watchlists: Mapping[str, Sequence[str]] | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client or httpx.AsyncClient()
        self._own_client = client is None
        env = os.environ if env is None else env
        built = make_sinks(sinks, self.client, env=env, external_url=external_url)
        self.states = {s.name: SinkState(s, cfg) for s, cfg in zip(built, sinks, strict=True)}
        # A sink's lease must outlive one request, or a second process could send it too.
        slowest = max((s.timeout_s for s in sinks), default=0.0)
        self.lease_s = max(lease_s, 2 * slowest + poll_s)
        self.store = store
        self.offload = offload
        self.dead_letter = dead_letter
        self.poll_s = poll_s
        self.watchlists = dict(watchlists or {})
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"
        self.clock = clock
        self.rng = rng
        self._stop = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, **kw: Any) -> Deliverer:
        return cls(
            settings.sinks,
            store,
            external_url=settings.alerts.dashboard_url,
            poll_s=settings.alerts.delivery_poll_s,
            lease_s=settings.alerts.delivery_lease_s,
            watchlists=settings.silence_lists(),
            **kw,
        )

    @property
    def sinks(self) -> list[Sink]:
        return [st.sink for st in self.states.values()]

    @property
    def refresh_interval_s(self) -> float | None:
        """How often :meth:`refresh` must run (None: no sink needs it)."""
        periods = [s.cfg.resend_s for s in self.sinks if isinstance(s, Refreshing)]
        return min(periods) if periods else None

    def remember(self, alerts: Sequence[Alert]) -> None:
        """Alerts still firing from before a restart, for the sinks that keep them alive:
        only those the sink was sent (not one a silence held back, nor one still queued)."""
        entries = [alert_entry(a) for a in alerts]
        for s in self.sinks:
            if isinstance(s, Refreshing) and entries:
                states = self.store.outbox_states(s.name, [e.subject for e in entries])
                s.remember(
                    [e.alert for e in entries if states.get((e.subject, "firing")) == "delivered"]
                )

    async def refresh(self) -> None:
        """Post again what sinks keep alive (Alertmanager's firing alerts)."""
        await asyncio.gather(*(s.refresh() for s in self.sinks if isinstance(s, Refreshing)))

    @property
    def max_ages(self) -> dict[str, float]:
        return {name: st.cfg.max_age_s for name, st in self.states.items()}

    # ------------------------------------------------------------------ API

    async def enqueue(self, alerts: Sequence[Alert]) -> int:
        """Persist each alert event's notifications (idempotent), then wake the loops: per
        alert or per incident by each sink's ``notify``, through its route
        (``monitor.core.outbox.sink_entries``); one entry per key, listing its sinks."""
        by_key: dict[str, OutboxEntry] = {}
        to: dict[str, list[str]] = {}
        for a in alerts:
            for name, st in self.states.items():
                for e in sink_entries(a, st.cfg):
                    by_key.setdefault(e.key, e)
                    to.setdefault(e.key, []).append(name)
        entries = [dataclasses.replace(e, sinks=tuple(to[k])) for k, e in by_key.items()]
        return await self.enqueue_entries(entries)

    async def enqueue_entries(self, entries: Sequence[OutboxEntry]) -> int:
        if not entries or not self.states:
            return 0
        new = await self._call(self.store.outbox_enqueue, entries, self.max_ages, self.clock())
        self.wake()
        return new

    def wake(self) -> None:
        for st in self.states.values():
            st.wake.set()

    async def run(self) -> None:
        """One loop per sink until :meth:`stop`; the leases are given back at the end."""
        try:
            await asyncio.gather(*(self._loop(st) for st in self.states.values()))
        finally:
            for name in self.states:
                try:
                    await self._call(self.store.outbox_release, name, self.owner)
                except Exception as exc:  # the store may be gone at shutdown
                    log.warning("could not release the lease of sink %s: %s", name, exc)

    def stop(self) -> None:
        self._stop.set()
        self.wake()

    async def drain(self, timeout_s: float) -> bool:
        """Deliver until no sink has pending rows (True) or ``timeout_s`` passed (False)."""
        self._stop.clear()  # drain may be called again after an earlier one stopped
        task = asyncio.ensure_future(self.run())
        end = time.monotonic() + timeout_s
        try:
            while time.monotonic() < end:
                counts = await self._call(self.store.outbox_counts)
                if not any(
                    n for (s, state), n in counts.items() if state == "pending" and s in self.states
                ):
                    return True
                await asyncio.sleep(0.2)
            return False
        finally:
            self.stop()
            await task

    async def aclose(self) -> None:
        self.stop()
        if self._own_client:
            await self.client.aclose()

    # ------------------------------------------------------------------ loop

    async def _loop(self, st: SinkState) -> None:
        while not self._stop.is_set():
            try:
                delay, wakeable = await self._step(st)
            except Exception:  # a store hiccup must not end a sink's loop
                log.exception("sink %s: delivery step failed; retrying", st.sink.name)
                delay, wakeable = self.poll_s, False
            if delay <= 0:
                continue
            st.wake.clear()
            waiters = [asyncio.ensure_future(self._stop.wait())]
            if wakeable:
                waiters.append(asyncio.ensure_future(st.wake.wait()))
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()

    async def _step(self, st: SinkState) -> tuple[float, bool]:
        """One unit of work for one sink: (seconds to wait before the next, wake on new rows)."""
        name = st.sink.name
        now = self.clock()
        mono = time.monotonic()
        if st.lease_until - mono < self.lease_s / 2:
            # One write per half lease, not per step: a step (one request) is shorter.
            if not await self._call(self.store.outbox_lease, name, self.owner, now, self.lease_s):
                st.lease_until = 0.0
                return self.poll_s, False  # another process sends to this sink
            st.lease_until = mono + self.lease_s
        if st.retry_at > mono:
            return st.retry_at - mono, False  # backing off: new rows do not cut it short
        silences = await self._silences(now)
        if st.rearm_at <= mono:
            st.rearm_at = mono + self.poll_s
            await self._rearm(st, silences, now)
        # The head group is at most MAX_GROUP rows: reading more would only parse payloads.
        rows = await self._call(self.store.outbox_rows, name, ("pending",), limit=MAX_GROUP)
        if not rows:
            if st.probe_at <= mono:
                st.probe_at = mono + st.cfg.backoff_max_s
                dead = await self._call(self.store.outbox_rows, name, ("dead",), limit=50)
                probe = [r for r in dead if r.dead_reason in REDRIVE_REASONS][:1]
                if probe:
                    return await self._send_group(st, probe, silences, now, probe=True)
            return self.poll_s, True
        group = head_group(rows, st.sink.kind)
        return await self._send_group(st, group, silences, now, probe=False)

    async def _send_group(
        self,
        st: SinkState,
        group: list[OutboxRow],
        silences: list[Silence],
        now: datetime,
        *,
        probe: bool,
    ) -> tuple[float, bool]:
        name = st.sink.name
        plan = await self._plan(st, group, silences, now)
        await self._apply_marks(plan, now)
        if not plan.send:
            return 0.0, False
        entries = plan.entries
        result = await self._post(st, entries)
        if result.ok:
            await self._call(
                self.store.outbox_delivered,
                name,
                entries,
                max(r.attempts for r in plan.send) + 1,
                now,
            )
            for e in entries:
                metrics.NOTIFICATIONS.labels(name, "delivered").inc()
                log.info("sink %s: delivered %s %s", name, e.alert.status, e.alert.fingerprint)
            if st.failures or not st.healthy or probe:
                n = await self._call(
                    self.store.outbox_requeue,
                    now,
                    {name: st.cfg.max_age_s},
                    reasons=REDRIVE_REASONS,
                )
                if n:
                    log.info("sink %s is healthy again: %d dead letter(s) re-queued", name, n)
            st.failures, st.healthy, st.retry_at = 0, True, 0.0
            return 0.0, False
        st.failures += 1
        st.healthy = False
        error = result.error or "error"
        if probe:
            await self._call(self.store.outbox_failed, [r.id for r in plan.send], error)
            return self.poll_s, True
        await self._call(self.store.outbox_failed, [r.id for r in plan.send], error)
        if result.permanent:
            await self._dead(st, plan.send, "rejected", error, now, extra=1)
            return 0.0, False
        cfg = st.cfg
        expired = [
            r
            for r in plan.send
            if r.deadline_at <= now
            or (cfg.max_retries is not None and r.attempts >= cfg.max_retries)
        ]
        if expired:
            reason = "age" if all(r.deadline_at <= now for r in expired) else "retries"
            await self._dead(st, expired, reason, error, now, extra=1)
        delay = backoff_delay(
            st.failures, base=cfg.backoff_base_s, cap=cfg.backoff_max_s, rng=self.rng
        )
        if result.retry_after is not None:
            delay = min(cfg.backoff_max_s, max(delay, result.retry_after))
        log.warning(
            "sink %s: attempt failed (%s), %d notification(s) waiting; retrying in %.1fs",
            name,
            error,
            len(plan.send),
            delay,
        )
        st.retry_at = time.monotonic() + delay
        return delay, False

    async def _plan(
        self, st: SinkState, group: list[OutboxRow], silences: list[Silence], now: datetime
    ) -> Plan:
        name = st.sink.name
        subjects = sorted({r.subject for r in group if r.alert.status == "resolved"})
        states: dict[tuple[str, str], str] = {}
        dead: dict[str, OutboxRow] = {}
        if subjects:
            states = await self._call(self.store.outbox_states, name, subjects)
            for r in await self._call(
                self.store.outbox_rows, name, ("dead",), subjects=subjects, limit=MAX_ROWS
            ):
                if r.alert.status == "firing":
                    dead[r.subject] = r
        latest = await self._call(
            self.store.outbox_latest_delivered,
            name,
            sorted({r.alert.fingerprint for r in group if not is_incident_subject(r.subject)}),
        )
        incidents = sorted({r.subject for r in group if is_incident_subject(r.subject)})
        if incidents:
            latest.update(await self._call(self.store.outbox_latest_by_subject, name, incidents))
        return plan_group(
            group,
            st.sink.kind,
            firing_state={s: state for (s, status), state in states.items() if status == "firing"},
            dead_firings=dead,
            latest_delivered=latest,
            silences=silences,
            now=now,
            watchlists=self.watchlists,
        )

    async def _apply_marks(self, plan: Plan, now: datetime) -> None:
        for row_id, silence_id in plan.silenced:
            await self._call(
                self.store.outbox_set_state, [row_id], "silenced", now, silence_id=silence_id
            )
        if plan.superseded:
            await self._call(self.store.outbox_set_state, plan.superseded, "superseded", now)
        if plan.folded:
            await self._call(self.store.outbox_set_state, plan.folded, "folded", now)

    async def _post(self, st: SinkState, entries: list[OutboxEntry]) -> Attempt:
        # The firings that must go first are their own group(s), then the group itself; an
        # incident notification is a request of its own.
        for e in entries:
            if is_incident_subject(e.subject):
                result = await st.sink.send_incident(e.alert, request_key(st.sink.name, [e]))
                if not result.ok:
                    return result
        grouped = [e for e in entries if not is_incident_subject(e.subject)]
        for group in group_alerts([e.alert for e in grouped]):
            keyed = [e for e in grouped if e.alert in group.alerts]
            result = await st.sink.send_group(group, request_key(st.sink.name, keyed))
            if not result.ok:
                return result
        return Attempt(True)

    async def _dead(
        self,
        st: SinkState,
        rows: Sequence[OutboxRow],
        reason: str,
        error: str,
        now: datetime,
        extra: int = 0,
    ) -> None:
        await self._call(
            self.store.outbox_set_state,
            [r.id for r in rows],
            "dead",
            now,
            reason=reason,
            error=error,
        )
        for r in rows:
            metrics.NOTIFICATIONS.labels(st.sink.name, "dead").inc()
            log.error(
                "sink %s: %s %s is a dead letter (%s, %s after %d attempts)",
                st.sink.name,
                r.alert.status,
                r.alert.fingerprint,
                reason,
                error,
                r.attempts + extra,
            )
            if self.dead_letter is not None:
                await self.dead_letter(r.alert, st.sink.name, error, r.attempts + extra)

    async def _rearm(self, st: SinkState, silences: list[Silence], now: datetime) -> None:
        """A firing held back by a silence that no longer applies goes out (if its episode
        has not resolved and it is within its age limit), as with Alertmanager."""
        from monitor.core.silences import silenced_by

        held = await self._call(self.store.outbox_rows, st.sink.name, ("silenced",), limit=MAX_ROWS)
        firing = [r for r in held if r.alert.status == "firing" and r.deadline_at > now]
        if not firing:
            return
        subjects = sorted({r.subject for r in firing})
        states = await self._call(self.store.outbox_states, st.sink.name, subjects)
        # An incident subject has an episode per open or re-flare: resolved means resolved
        # after this firing.
        ended = await self._call(
            self.store.outbox_latest_by_subject,
            st.sink.name,
            [s for s in subjects if is_incident_subject(s)],
            states=None,
            status="resolved",
        )
        back = []
        for r in firing:
            labels = silence_labels(r.subject, r.alert)
            if is_incident_subject(r.subject):
                end = ended.get(r.subject)
                if end is not None and end >= r.alert.updated_at:
                    continue
            elif (r.subject, "resolved") in states:
                continue
            if silenced_by(labels, silences, now, self.watchlists) is None:
                back.append(r.id)
        if back:
            n = await self._call(
                self.store.outbox_requeue,
                now,
                {st.sink.name: st.cfg.max_age_s},
                states=("silenced",),
                ids=back,
            )
            log.info("sink %s: %d firing alert(s) no longer silenced, queued", st.sink.name, n)

    async def _silences(self, now: datetime) -> list[Silence]:
        rows = await self._call(self.store.silence_rows, now)
        out = []
        for r in rows:
            try:
                out.append(to_silence(r))
            except ValueError as exc:  # stored by hand? never let it stop delivery
                log.warning("ignoring unreadable silence %s: %s", r.id, exc)
        return out

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # Store calls are blocking SQL: off the event loop when the shell gave an executor.
        if self.offload is not None:
            return await self.offload.run(lambda: fn(*args, **kwargs))
        return fn(*args, **kwargs)


MAX_ROWS = 200
