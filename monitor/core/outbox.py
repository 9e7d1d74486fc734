"""The outbox's rules, pure: notification keys, what one request carries, ordering and folding.

- **Key** (idempotent): ``<subject>|<status>|<updated_at>``. The subject is what a receiver
  tracks: ``alert:<fingerprint>:<starts_at>`` (one alert episode) for a sink with
  ``notify = "alert"``; ``incident:<id>`` for one in incident mode (the default), whose
  notifications are the alert events that carry an incident transition
  (``Alert.incident_notice``, filed by ``monitor.core.incidents``): the firing when the
  incident opens or re-flares (``updated_at`` = that episode's start), the resolved when it
  closes. (key, sink) is unique in the store: the same alert event enqueued twice (a Kafka
  redelivery, a restart) is one notification. The ``alertmanager_api`` kind keeps one event per
  alert in both modes, each labelled ``incident=<id>``: Alertmanager groups by labels itself.
  An alert with no incident id (from a producer that files none) is notified per alert.
- **Order**: a sink's queue is sent strictly oldest first, one request at a time, so a firing
  always goes before its resolved; only the head of the queue waits on a down sink.
- **A resolved whose firing never reached the sink** (the firing became a dead letter, or
  the sink was added while the alert was firing): ``webhook``, ``alertmanager`` and
  ``pagerduty`` get the firing first, then the resolved (an incident tool needs the trigger to
  record the episode); ``slack`` gets the resolved alone (*folded*: the message shows start →
  end, and a chat channel gains nothing from a firing immediately followed by its end);
  ``alertmanager_api`` too (Alertmanager then applies its own rule: a resolved alert it
  never notified as firing is not notified).
- **Silences** hold back firings, and the resolveds of firings they held back (a receiver
  never gets the end of something it never saw). A resolved whose firing *was* delivered is
  always sent, silenced or not, so the receiver's incident closes. An incident notification
  is matched on its *opening* alert's labels (the incident is known by its opener).
- **Superseded**: a notification older than one already delivered for the same fingerprint
  (an incident: for the same incident subject), e.g. a re-driven dead letter, is not sent:
  it would reopen or close the wrong episode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from foundation.schemas import Alert, isoformat
from foundation.settings import SinkSettings
from foundation.store import OutboxEntry, OutboxRow
from monitor.core.lifecycle import summary_line
from monitor.core.silences import Silence, alert_labels, silenced_by
from monitor.core.watchlists import routed, routes

# Alerts per request for the grouped kinds (Slack allows 50 blocks per message).
MAX_GROUP = 40
# Alertmanager's API only notifies a resolved alert it notified firing: it folds by itself.
FOLDING_KINDS = frozenset({"slack", "alertmanager_api"})
ONE_PER_REQUEST = frozenset({"pagerduty"})
# Kinds whose receiver groups alerts by their labels (route ``group_by: ['incident']``): in
# incident mode they keep one event per alert, labelled with its incident.
LABEL_GROUPED_KINDS = frozenset({"alertmanager_api"})
INCIDENT_PREFIX = "incident:"


def alert_subject(a: Alert) -> str:
    return f"alert:{a.fingerprint}:{isoformat(a.starts_at)}"


def incident_subject(incident_id: str) -> str:
    return f"{INCIDENT_PREFIX}{incident_id}"


def is_incident_subject(subject: str) -> bool:
    return subject.startswith(INCIDENT_PREFIX)


def notification_key(subject: str, status: str, updated_at: datetime) -> str:
    return f"{subject}|{status}|{isoformat(updated_at)}"


def alert_entry(a: Alert) -> OutboxEntry:
    subject = alert_subject(a)
    return OutboxEntry(notification_key(subject, a.status, a.updated_at), subject, a)


def incident_entry(a: Alert) -> OutboxEntry:
    """The incident notification ``a`` carries (it must carry one): a firing is keyed by its
    episode's start, a resolved by its own time."""
    n = a.incident_notice
    if n is None:
        raise ValueError(f"alert {a.fingerprint} carries no incident notice")
    subject = incident_subject(n.id)
    at = n.episode_at if n.status == "firing" else a.updated_at
    return OutboxEntry(notification_key(subject, n.status, at), subject, a)


def entries_for(a: Alert, notify: str, kind: str) -> list[OutboxEntry]:
    """What one alert event makes for a sink of ``kind`` in mode ``notify`` (module
    docstring): its own notification, its incident's, or nothing (a member joining a firing
    incident, a resolve that leaves another member firing)."""
    if notify == "alert" or kind in LABEL_GROUPED_KINDS or not a.incident:
        return [alert_entry(a)]
    return [incident_entry(a)] if a.incident_notice is not None else []


def sink_entries(a: Alert, sink: SinkSettings) -> list[OutboxEntry]:
    """:func:`entries_for` through the sink's route (``scope_kinds``, ``watchlists``): an
    alert notification by its scope; an incident's when any member so far is routed there."""
    out = []
    for e in entries_for(a, sink.notify, sink.kind):
        n = e.alert.incident_notice
        if is_incident_subject(e.subject) and n is not None:
            ok = any(routes(sink, m.scope_kind, m.scope) for m in n.members) or routed(sink, a)
        else:
            ok = routed(sink, a)
        if ok:
            out.append(e)
    return out


def silence_labels(subject: str, a: Alert) -> dict[str, str]:
    """What a silence is matched on: the alert's labels, or for an incident notification its
    opening alert's (falling back to the carrying alert's when the opener is not listed)."""
    n = a.incident_notice
    if is_incident_subject(subject) and n is not None:
        for m in n.members:
            if m.fingerprint == n.opener:
                return alert_labels(m.rule, m.scope_kind, m.scope, m.fingerprint)
    return alert_labels(a.rule, a.scope_kind, a.scope, a.fingerprint)


def supersede_key(subject: str, a: Alert) -> str:
    """What "already delivered something newer" is judged on: the fingerprint for an alert
    notification, the subject for an incident's."""
    return subject if is_incident_subject(subject) else a.fingerprint


def missing_firing_policy(kind: str) -> Literal["firing_first", "fold"]:
    return "fold" if kind in FOLDING_KINDS else "firing_first"


def firing_of(resolved: Alert, subject: str = "") -> Alert:
    """The firing notification of an episode, rebuilt from its resolved one (when the sink
    was added after the firing went out elsewhere); "as of" the episode's start. For an
    incident ``subject``, "as of" the incident episode's start (its key is then the real
    firing's) and with its notice turned back to firing."""
    update: dict[str, object] = {
        "status": "firing",
        "ends_at": None,
        "updated_at": resolved.starts_at,
        "summary": summary_line(
            resolved.rule, resolved.scope_kind, resolved.scope, "firing", resolved.figures
        ),
    }
    n = resolved.incident_notice
    if is_incident_subject(subject) and n is not None:
        update["updated_at"] = n.episode_at
        update["incident_notice"] = n.model_copy(
            update={"status": "firing", "event": "opened", "ends_at": None}
        )
    return resolved.model_copy(update=update)


def group_key(r: OutboxRow) -> tuple[str, str, datetime]:
    return (r.alert.rule, r.alert.status, r.alert.updated_at)


def head_group(rows: Sequence[OutboxRow], kind: str, limit: int = MAX_GROUP) -> list[OutboxRow]:
    """The head of a sink's queue and the rows right behind it that share its group (same
    rule, status and evaluation time): one request. PagerDuty takes one event per request;
    an incident notification is one request of its own."""
    if not rows:
        return []
    if kind in ONE_PER_REQUEST or is_incident_subject(rows[0].subject):
        return [rows[0]]
    head = group_key(rows[0])
    out: list[OutboxRow] = []
    for r in rows:
        if group_key(r) != head or is_incident_subject(r.subject) or len(out) >= limit:
            break
        out.append(r)
    return out


@dataclass(slots=True)
class Plan:
    """What to do with a head group: rows to mark, then requests to send in order."""

    silenced: list[tuple[int, str]] = field(default_factory=list)  # (row id, silence id)
    superseded: list[int] = field(default_factory=list)
    folded: list[int] = field(default_factory=list)  # dead firings folded into a resolved
    firings_first: list[OutboxEntry] = field(default_factory=list)
    send: list[OutboxRow] = field(default_factory=list)

    @property
    def entries(self) -> list[OutboxEntry]:
        return [*self.firings_first, *(r.entry for r in self.send)]


def plan_group(
    group: Sequence[OutboxRow],
    kind: str,
    *,
    firing_state: Mapping[str, str],
    dead_firings: Mapping[str, OutboxRow],
    latest_delivered: Mapping[str, datetime],
    silences: Sequence[Silence],
    now: datetime,
    watchlists: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Decide for each row of ``group`` (module docstring). ``firing_state``: subject -> state
    of that episode's firing on this sink (absent: none was enqueued); ``dead_firings``:
    subject -> the dead firing row; ``latest_delivered``: :func:`supersede_key` -> newest
    ``updated_at`` delivered to this sink; ``now`` decides which silences are active."""
    plan = Plan()
    wl = watchlists or {}
    for r in group:
        a = r.alert
        newest = latest_delivered.get(supersede_key(r.subject, a))
        if newest is not None and newest > a.updated_at:
            plan.superseded.append(r.id)
            continue
        labels = silence_labels(r.subject, a)
        silence = silenced_by(labels, silences, now, wl)
        if a.status == "firing":
            if silence is not None:
                plan.silenced.append((r.id, silence.id))
            else:
                plan.send.append(r)
            continue
        state = firing_state.get(r.subject)
        if state in ("delivered", "superseded"):
            plan.send.append(r)  # closes what the receiver knows, silenced or not
            continue
        if state == "silenced":
            plan.silenced.append((r.id, silence.id if silence else r.silence_id or ""))
            continue
        if silence is not None:
            plan.silenced.append((r.id, silence.id))
            continue
        dead = dead_firings.get(r.subject)
        if missing_firing_policy(kind) == "fold":
            if dead is not None:
                plan.folded.append(dead.id)
        elif dead is not None:
            plan.firings_first.append(dead.entry)
        elif state is None or state == "folded":
            firing = firing_of(a, r.subject)
            plan.firings_first.append(
                OutboxEntry(
                    notification_key(r.subject, "firing", firing.updated_at), r.subject, firing
                )
            )
        plan.send.append(r)
    return plan
