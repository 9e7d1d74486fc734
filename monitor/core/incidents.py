"""Incidents: the alerts of one story grouped together (pure, online, deterministic).

One story raises alerts on several scopes at once (``entity:FTX``, ``sector:crypto``,
``ticker:FTT.X``, a topic, ``all``). A risk team wants one card for it. An alert **joins** an
open incident when it shares a document with one of the incident's alerts (one of the most
negative documents of each window of its span: the same headline raised both), or is a new
episode of a scope that is already a member, or is about the same name as a member (its
ticker, entity or one of its ``story:`` scopes) or about a name its span's headlines carry;
otherwise it **opens** a new incident. An
incident is open while any member is firing and for ``gap_s`` after its last member resolved
(a story that flares up again within hours is the same incident). When an alert could join
several open incidents it joins the one that started first (ties by id), so the grouping does
not depend on dict order.

The pipeline files each evaluation's alerts together (:meth:`IncidentTracker.file`), which
also marks the alert that opened, re-flared or closed its incident (``Alert.incident_notice``):
what a sink in incident mode is sent (``monitor.core.outbox``).

The stream and the backtest feed alerts in the order the pipeline produced them, so both
build the same incidents. Memory is bounded by the open incidents: closed ones are dropped
once they are ``gap_s`` old (the caller keeps the history: the store, the backtest's JSON).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from foundation.schemas import Alert, Headline, IncidentMember, IncidentNotice, isoformat


def incident_id(first: Alert) -> str:
    """Stable id: the opening alert's fingerprint and start (16 hex characters)."""
    key = f"{first.fingerprint}\x1f{isoformat(first.starts_at)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _scope(a: Alert) -> str:
    return f"{a.scope_kind}:{a.scope}"


def scope_name(key: str) -> str | None:
    """The name a scope key is about (``ticker:TWTR``, ``entity:FTX``,
    ``story:TWTR:layoffs`` -> ``TWTR``, ``FTX``, ``TWTR``); None for topics, sectors, ``all``."""
    kind, _, scope = key.partition(":")
    if kind == "story":
        return scope.rpartition(":")[0] or None
    return scope if kind in ("ticker", "entity") else None


@dataclass(slots=True)
class Incident:
    id: str
    starts_at: datetime
    # Latest end of a resolved member; None while a member is firing.
    ends_at: datetime | None = None
    firing: set[str] = field(default_factory=set)  # fingerprints of firing members
    members: dict[str, str] = field(default_factory=dict)  # fingerprint -> scope key
    rules: dict[str, str] = field(default_factory=dict)  # fingerprint -> rule
    episodes: set[tuple[str, str]] = field(default_factory=set)  # (fingerprint, startsAt)
    evidence_ids: set[str] = field(default_factory=set)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # first seen, at most 10
    last_end: datetime | None = None
    # The opening alert's fingerprint (silences of incident notifications match it) and the
    # start of the current firing episode (its open or latest re-flare), for notifications.
    opener: str = ""
    episode_at: datetime | None = None

    def open_at(self, t: datetime, gap: timedelta) -> bool:
        return bool(self.firing) or self.last_end is None or t <= self.last_end + gap

    def to_state(self) -> dict[str, Any]:
        """Everything, for the stream's state table (see :meth:`from_state`)."""
        return {
            "id": self.id,
            "starts_at": isoformat(self.starts_at),
            "ends_at": isoformat(self.ends_at) if self.ends_at else None,
            "last_end": isoformat(self.last_end) if self.last_end else None,
            "firing": sorted(self.firing),
            "members": dict(sorted(self.members.items())),
            "rules": dict(sorted(self.rules.items())),
            "episodes": sorted([f, t] for f, t in self.episodes),
            "evidence_ids": sorted(self.evidence_ids),
            "evidence": self.evidence,
            "opener": self.opener,
            "episode_at": isoformat(self.episode_at) if self.episode_at else None,
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> Incident:
        def dt(v: str | None) -> datetime | None:
            return datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None

        start = dt(d["starts_at"])
        assert start is not None
        return cls(
            id=d["id"],
            starts_at=start,
            ends_at=dt(d.get("ends_at")),
            firing=set(d.get("firing", [])),
            members=dict(d.get("members", {})),
            rules=dict(d.get("rules", {})),
            episodes={(f, t) for f, t in d.get("episodes", [])},
            evidence_ids=set(d.get("evidence_ids", [])),
            evidence=list(d.get("evidence", [])),
            last_end=dt(d.get("last_end")),
            opener=d.get("opener", ""),
            episode_at=dt(d.get("episode_at")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "startsAt": isoformat(self.starts_at),
            "endsAt": isoformat(self.ends_at) if self.ends_at and not self.firing else None,
            "alerts": sorted(self.members),
            "episodes": [{"fingerprint": f, "startsAt": t} for f, t in sorted(self.episodes)],
            "scopes": sorted(set(self.members.values())),
            "rules": sorted(set(self.rules.values())),
            "evidence": self.evidence,
        }


class IncidentTracker:
    """``keep_history``: also keep every incident ever opened (a finite backtest)."""

    def __init__(self, gap_s: float, max_evidence: int = 10, keep_history: bool = False) -> None:
        self.gap = timedelta(seconds=gap_s)
        self.max_evidence = max_evidence
        self.open: dict[str, Incident] = {}
        self.by_fingerprint: dict[str, str] = {}
        self.history: dict[str, Incident] | None = {} if keep_history else None

    def add(
        self, alert: Alert, link_ids: Iterable[str] = (), names: Iterable[str] = ()
    ) -> tuple[Incident, bool]:
        """File ``alert`` (firing or resolved); returns its incident and whether the alert
        opened it. ``link_ids``: ids of more documents of the alert's span (beyond its
        evidence) that link it to a story; ``names``: the listed names those documents
        carry (a sector alert whose headlines are about TWTR joins TWTR's incident)."""
        now = alert.updated_at
        self._expire(now)
        inc_id = self.by_fingerprint.get(alert.fingerprint)
        inc = self.open.get(inc_id) if inc_id else None
        opened = False
        links = {e.id for e in alert.evidence} | set(link_ids)
        if inc is None:
            inc = self._match(alert, links, set(names))
        if inc is None:
            inc = Incident(
                id=incident_id(alert), starts_at=alert.starts_at, opener=alert.fingerprint
            )
            self.open[inc.id] = inc
            if self.history is not None:
                self.history[inc.id] = inc
            opened = True
        inc.evidence_ids |= links
        self.by_fingerprint[alert.fingerprint] = inc.id
        inc.members[alert.fingerprint] = _scope(alert)
        inc.episodes.add((alert.fingerprint, isoformat(alert.starts_at)))
        inc.rules[alert.fingerprint] = alert.rule
        inc.starts_at = min(inc.starts_at, alert.starts_at)
        shown = {e["link"] + e["title"] for e in inc.evidence}
        for ev in alert.evidence:
            if ev.link + ev.title not in shown:
                shown.add(ev.link + ev.title)
                if len(inc.evidence) < self.max_evidence:
                    inc.evidence.append(
                        {
                            "title": ev.title,
                            "source": ev.source,
                            "link": ev.link,
                            "published": isoformat(ev.published),
                        }
                    )
        if alert.status == "firing":
            inc.firing.add(alert.fingerprint)
        else:
            inc.firing.discard(alert.fingerprint)
            end = alert.ends_at or now
            inc.last_end = max(inc.last_end or end, end)
            inc.ends_at = inc.last_end
        return inc, opened

    def restore(self, alert: Alert) -> None:
        """A firing alert re-armed from the store after the pipeline's state was lost (the
        embedded broker keeps no changelog across a restart): a firing member of its stored
        incident again, so the resolve that ends it closes that incident for the sinks."""
        fp = alert.fingerprint
        if alert.status != "firing" or not alert.incident:
            return
        known = self.open.get(self.by_fingerprint.get(fp, ""))
        if known is not None and fp in known.firing:
            return
        inc = self.open.get(alert.incident)
        if inc is None:
            n = alert.incident_notice
            inc = Incident(
                id=alert.incident,
                starts_at=n.starts_at if n else alert.starts_at,
                opener=n.opener if n else fp,
                episode_at=n.episode_at if n else alert.updated_at,
            )
            self.open[inc.id] = inc
            if self.history is not None:
                self.history[inc.id] = inc
        if known is not None and known is not inc:
            known.members.pop(fp, None)
            known.rules.pop(fp, None)
        self.by_fingerprint[fp] = inc.id
        inc.members[fp] = _scope(alert)
        inc.rules[fp] = alert.rule
        inc.episodes.add((fp, isoformat(alert.starts_at)))
        inc.starts_at = min(inc.starts_at, alert.starts_at)
        inc.firing.add(fp)

    def file(self, items: Sequence[tuple[Alert, Iterable[str], Iterable[str]]]) -> list[Alert]:
        """File the alerts of one evaluation (``(alert, link_ids, names)`` in the pipeline's
        order, see :meth:`add`) and return them stamped with their ``incident`` id; the alert
        that changed an incident's state gets its :class:`IncidentNotice`. The transitions
        are judged on the whole evaluation (firing members before it vs after it), so the
        order of alerts within it does not matter for them:

        - ``opened``: a new incident with a firing member; carried by its opening alert.
        - ``reflared``: an open incident none of whose members was firing, now firing again
          (within ``gap_s`` of its last end); carried by its first firing alert here.
        - ``closed``: an incident with firing members before, none after; carried by its
          last resolved alert here.

        A member joining an incident that is firing, or a resolve that leaves another member
        firing, changes nothing a sink in incident mode hears of."""
        if not items:
            return []
        self._expire(min(a.updated_at for a, _, _ in items))  # closed ones are not "before"
        before = {i: bool(inc.firing) for i, inc in self.open.items()}
        filed: list[tuple[Alert, Incident]] = []
        for alert, links, names in items:
            inc, _ = self.add(alert, links, names)
            filed.append((alert, inc))
        carrier: dict[str, tuple[int, str]] = {}  # incident id -> (index, event)
        for n, (alert, inc) in enumerate(filed):
            was, now = before.get(inc.id, False), bool(inc.firing)
            if now and not was and alert.status == "firing" and inc.id not in carrier:
                carrier[inc.id] = (n, "reflared" if inc.id in before else "opened")
                inc.episode_at = alert.updated_at
            elif was and not now and alert.status == "resolved":
                carrier[inc.id] = (n, "closed")  # the last resolve here carries it
        events = {n: event for n, event in carrier.values()}
        out = []
        for n, (alert, inc) in enumerate(filed):
            update: dict[str, Any] = {"incident": inc.id}
            if n in events:
                update["incident_notice"] = _notice(inc, events[n], alert)
            out.append(alert.model_copy(update=update))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The open incidents (bounded: closed ones are dropped after the gap)."""
        return {"open": [self.open[i].to_state() for i in sorted(self.open)]}

    def load(self, d: dict[str, Any] | None) -> None:
        for item in (d or {}).get("open", []):
            inc = Incident.from_state(item)
            self.open[inc.id] = inc
            for fp in inc.members:
                self.by_fingerprint[fp] = inc.id

    def _match(self, alert: Alert, ids: set[str], names: set[str]) -> Incident | None:
        scope = _scope(alert)
        name = scope_name(scope)
        if name is not None:
            names = names | {name}
        best: Incident | None = None
        for inc in self.open.values():
            if not inc.open_at(alert.starts_at, self.gap):
                continue
            members = inc.members.values()
            # Same headline, same scope, or the same name (its ticker, entity or stories).
            linked = (
                bool(ids & inc.evidence_ids)
                or scope in members
                or (bool(names) and any(scope_name(m) in names for m in members))
            )
            if linked and (best is None or (inc.starts_at, inc.id) < (best.starts_at, best.id)):
                best = inc
        return best

    def _expire(self, now: datetime) -> None:
        for inc_id in [
            i
            for i, inc in self.open.items()
            if not inc.firing and inc.last_end is not None and now > inc.last_end + self.gap
        ]:
            inc = self.open.pop(inc_id)
            for fp in inc.members:
                if self.by_fingerprint.get(fp) == inc_id:
                    del self.by_fingerprint[fp]


def _notice(inc: Incident, event: str, alert: Alert) -> IncidentNotice:
    latest: dict[str, str] = {}
    for fp, start in inc.episodes:
        latest[fp] = max(latest.get(fp, start), start)
    members = []
    for fp, key in sorted(inc.members.items(), key=lambda m: (m[1], m[0])):
        kind, _, scope = key.partition(":")
        members.append(
            IncidentMember(
                fingerprint=fp,
                rule=inc.rules.get(fp, ""),
                scope_kind=kind,  # type: ignore[arg-type]
                scope=scope,
                starts_at=datetime.fromisoformat(latest[fp].replace("Z", "+00:00")),
                firing=fp in inc.firing,
            )
        )
    closed = event == "closed"
    return IncidentNotice(
        id=inc.id,
        event=event,  # type: ignore[arg-type]
        status="resolved" if closed else "firing",
        starts_at=inc.starts_at,
        ends_at=inc.ends_at if closed else None,
        episode_at=inc.episode_at or alert.updated_at,
        opener=inc.opener or min(inc.members),
        members=tuple(members),
        evidence=tuple(Headline.model_validate(e) for e in inc.evidence),
    )


def incidents_json(incidents: Iterable[Incident]) -> list[dict[str, Any]]:
    """Incidents as JSON, in start order (the backtest's ``incidents``)."""
    return sorted((inc.to_json() for inc in incidents), key=lambda d: (d["startsAt"], d["id"]))
