"""Operator actions on alerts, shared by ``finpulse alerts`` and the dashboard: silence,
unsilence, acknowledge, and how each stored alert stands (silenced by what, acknowledged by
whom). Validation is ``monitor.core.silences``; storage and the audit trail are the store's.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from foundation.errors import FinpulseError
from foundation.schemas import Alert
from foundation.store import AckRow, Store
from monitor.core.silences import (
    Silence,
    SilenceError,
    alert_labels,
    check_period,
    parse_matchers,
    silenced_by,
)
from monitor.stream.delivery import to_silence

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ActionError(FinpulseError):
    """An action that cannot be done as asked; the message says why."""


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1w``."""
    m = _DURATION.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ActionError(f"duration {text!r}: expected a positive number and s, m, h, d or w")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; without a zone it is UTC."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ActionError(f"time {text!r}: expected ISO-8601, e.g. 2026-03-10T18:00Z") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def create_silence(
    store: Store,
    matchers: Sequence[str],
    *,
    starts_at: datetime,
    ends_at: datetime,
    user: str,
    comment: str,
    now: datetime,
    watchlists: Mapping[str, Sequence[str]],
) -> str:
    """Validate and store a silence; returns its id."""
    if not comment.strip():
        raise ActionError("a silence needs a comment (why, e.g. the maintenance or event)")
    try:
        parsed = parse_matchers(matchers, watchlists)
        check_period(starts_at, ends_at)
    except SilenceError as exc:
        raise ActionError(str(exc)) from None
    if ends_at <= now:
        raise ActionError(f"this silence would already be over (ends {ends_at.isoformat()})")
    silence_id = secrets.token_hex(6)
    store.add_silence(
        silence_id, [str(m) for m in parsed], starts_at, ends_at, user, comment.strip(), now
    )
    return silence_id


def active_silences(store: Store, now: datetime) -> list[Silence]:
    """Silences not ended at ``now`` (pending ones included: ``Silence.state`` tells)."""
    return [to_silence(r) for r in store.silence_rows(active_at=now)]


def latest_episode(store: Store, fingerprint: str) -> Alert:
    payloads = store.alert_payloads(fingerprint=fingerprint, limit=1)
    if not payloads:
        raise ActionError(f"no alert with fingerprint {fingerprint!r} in the store")
    return Alert.model_validate(payloads[0])


def acknowledge(
    store: Store,
    fingerprint: str,
    *,
    user: str,
    comment: str,
    now: datetime,
    starts_at: datetime | None = None,
) -> Alert:
    """Acknowledge an episode (by default the latest of ``fingerprint``); returns it."""
    alert = latest_episode(store, fingerprint)
    if starts_at is not None and starts_at != alert.starts_at:
        alert = alert.model_copy(update={"starts_at": starts_at})
    store.ack_alert(fingerprint, alert.starts_at, user, comment.strip(), now)
    return alert


@dataclass(frozen=True, slots=True)
class Marks:
    """How an alert stands now: the silence holding its notifications back, its ack."""

    silence: Silence | None
    ack: AckRow | None


def marks(
    store: Store,
    items: Iterable[tuple[str, str, str, str, datetime]],
    now: datetime,
    watchlists: Mapping[str, Sequence[str]],
) -> dict[tuple[str, datetime], Marks]:
    """(fingerprint, starts_at) -> marks, for (rule, scope_kind, scope, fingerprint,
    starts_at) items (alerts or dashboard rows)."""
    rows = list(items)
    silences = active_silences(store, now)
    acks = store.acks_for(r[3] for r in rows)
    out = {}
    for rule, kind, scope, fp, starts in rows:
        s = silenced_by(alert_labels(rule, kind, scope, fp), silences, now, watchlists)
        out[(fp, starts)] = Marks(s, acks.get((fp, starts)))
    return out
