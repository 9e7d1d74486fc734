"""The alert lifecycle as pure functions, the clock (``now``) passed in.

inactive --(k of n windows hot)--> firing --(resolve_after_windows quiet windows)--> resolved
(and back to inactive: the next surge is a new episode with a new ``starts_at``).

- The fingerprint is stable for rule + scope (sha256, 16 hex chars), so sinks deduplicate on
  it (PagerDuty dedup_key, Alertmanager fingerprint).
- A firing alert is sent once; while it keeps firing it is sent again only after
  ``repeat_interval_s`` (re-notification carries the latest and peak figures).
- ``now`` is event time (the end of the window just evaluated) in the stream and in the
  backtest alike, so a replay produces exactly the alerts the live run did.
- After a restart the state comes back from the Faust table, or from the store's alert rows
  (:func:`states_from_alerts`), so an alert already firing is not fired a second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlencode

from foundation.schemas import Alert, Evidence, ScopeKind, isoformat
from foundation.settings import AlertSettings
from monitor.core.detection import Decision

# Figures kept as the "peak" of an episode: the maximum seen while firing.
PEAK_KEYS = ("negative_share", "count", "negative", "volume_z", "negative_volume_z")


def fingerprint(rule: str, scope_kind: str, scope: str) -> str:
    """Stable id of rule + scope: the first 16 hex characters of sha256."""
    return hashlib.sha256(f"{rule}\x1f{scope_kind}\x1f{scope}".encode()).hexdigest()[:16]


def dashboard_link(
    base_url: str, scope_kind: str, scope: str, start: datetime, end: datetime
) -> str:
    """``{base}/{kind}/{scope}?from=...&to=...`` for the kinds the dashboard has a page for
    (topic, ticker, sector), ``/`` for the overall scope, and the alerts page for the rest
    (entity, story, watchlist, source), which lists the alert with its evidence."""
    base = base_url.rstrip("/")
    if scope_kind == "all":
        path = "/"
    elif scope_kind in ("topic", "ticker", "sector"):
        path = f"/{scope_kind}/{quote(scope, safe='')}"
    else:
        path = "/alerts"
    return f"{base}{path}?{urlencode({'from': isoformat(start), 'to': isoformat(end)})}"


def summary_line(rule: str, scope_kind: str, scope: str, status: str, figures: dict) -> str:
    where = "all documents" if scope_kind == "all" else f"{scope_kind} {scope}"
    if status == "resolved":
        return f"{rule} resolved for {where}"
    share = figures.get("negative_share", 0.0)
    base = figures.get("baseline_share", 0.0)
    n = int(figures.get("count", 0))
    k = int(figures.get("negative", 0))
    return (
        f"{rule} on {where}: {k}/{n} negative ({share:.0%}, baseline {base:.0%}), "
        f"volume z {figures.get('volume_z', 0.0):.1f}"
    )


@dataclass(slots=True)
class AlertState:
    """Lifecycle state of one fingerprint."""

    status: Literal["inactive", "firing"] = "inactive"
    starts_at: datetime | None = None
    last_sent: datetime | None = None
    last_hot_end: datetime | None = None
    figures: dict[str, float] = field(default_factory=dict)
    peak: dict[str, float] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "last_sent": self.last_sent.isoformat() if self.last_sent else None,
            "last_hot_end": self.last_hot_end.isoformat() if self.last_hot_end else None,
            "figures": self.figures,
            "peak": self.peak,
            "evidence": [e.model_dump(mode="json") for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertState:
        def dt(v: Any) -> datetime | None:
            return datetime.fromisoformat(v) if v else None

        return cls(
            status=d["status"],
            starts_at=dt(d.get("starts_at")),
            last_sent=dt(d.get("last_sent")),
            last_hot_end=dt(d.get("last_hot_end")),
            figures=dict(d.get("figures", {})),
            peak=dict(d.get("peak", {})),
            evidence=tuple(Evidence.model_validate(e) for e in d.get("evidence", [])),
        )


@dataclass(frozen=True, slots=True)
class Window:
    """Where a decision was made: scope and window bounds."""

    rule: str
    scope_kind: ScopeKind
    scope: str
    start: datetime
    end: datetime


def _alert(
    w: Window,
    state: AlertState,
    status: Literal["firing", "resolved"],
    now: datetime,
    settings: AlertSettings,
    ends_at: datetime | None = None,
) -> Alert:
    assert state.starts_at is not None
    link_end = ends_at or now
    return Alert(
        fingerprint=fingerprint(w.rule, w.scope_kind, w.scope),
        rule=w.rule,
        scope_kind=w.scope_kind,
        scope=w.scope,
        status=status,
        starts_at=state.starts_at,
        ends_at=ends_at,
        updated_at=now,
        figures=state.figures,
        peak=state.peak,
        evidence=state.evidence,
        dashboard_url=dashboard_link(
            settings.dashboard_url,
            w.scope_kind,
            w.scope,
            state.starts_at - timedelta(hours=1),
            link_end + timedelta(minutes=15),
        ),
        summary=summary_line(w.rule, w.scope_kind, w.scope, status, state.figures),
    )


def transition(
    state: AlertState,
    decision: Decision,
    w: Window,
    now: datetime,
    settings: AlertSettings,
    *,
    resolve_after_windows: int,
    evidence: Sequence[Evidence] = (),
) -> tuple[AlertState, Alert | None]:
    """Next state and the alert to send (None: nothing to say) after ``decision`` on ``w``.

    ``state`` is not modified; a new state is returned.
    """
    size = w.end - w.start
    if state.status == "inactive":
        if not decision.persistent:
            return state, None
        # The surge began at the oldest window of the persistence span that was hot.
        start = w.start - size * decision.hot_since
        new = AlertState(
            status="firing",
            starts_at=start,
            last_sent=now,
            last_hot_end=w.end,
            figures=dict(decision.figures),
            peak={k: decision.figures[k] for k in PEAK_KEYS if k in decision.figures},
            evidence=tuple(evidence),
        )
        return new, _alert(w, new, "firing", now, settings)

    # firing
    peak = dict(state.peak)
    evidence_t = state.evidence
    figures = state.figures
    if decision.hot:
        figures = dict(decision.figures)
        # Evidence follows the most negative window of the episode.
        if decision.figures.get("negative_share", 0.0) >= state.peak.get("negative_share", 0.0):
            evidence_t = tuple(evidence) or state.evidence
        for k in PEAK_KEYS:
            if k in decision.figures:
                peak[k] = max(peak.get(k, decision.figures[k]), decision.figures[k])
    last_hot_end = w.end if decision.warm else state.last_hot_end
    new = AlertState(
        status="firing",
        starts_at=state.starts_at,
        last_sent=state.last_sent,
        last_hot_end=last_hot_end,
        figures=figures,
        peak=peak,
        evidence=evidence_t,
    )
    if decision.quiet_streak >= resolve_after_windows:
        resolved = _alert(w, new, "resolved", now, settings, ends_at=last_hot_end or w.end)
        return AlertState(), resolved
    due = state.last_sent is None or (now - state.last_sent).total_seconds() >= (
        settings.repeat_interval_s
    )
    if decision.hot and due:
        new.last_sent = now
        return new, _alert(w, new, "firing", now, settings)
    return new, None


def latest_per_fingerprint(alerts: Iterable[Alert]) -> dict[str, Alert]:
    """The latest alert of each fingerprint: the newest ``updated_at``; on a tie a resolved
    one wins (it supersedes the firing one sent at the same time), else the first seen."""
    latest: dict[str, Alert] = {}
    for a in alerts:
        cur = latest.get(a.fingerprint)
        if cur is None or (a.updated_at, a.status == "resolved") > (
            cur.updated_at,
            cur.status == "resolved",
        ):
            latest[a.fingerprint] = a
    return latest


def states_from_alerts(alerts: Iterable[Alert]) -> dict[str, AlertState]:
    """Rebuild lifecycle states from stored alerts (latest per fingerprint): the firing ones
    stay firing, so a restarted worker does not fire them again."""
    out: dict[str, AlertState] = {}
    for fp, a in latest_per_fingerprint(alerts).items():
        if a.status == "firing":
            out[fp] = AlertState(
                status="firing",
                starts_at=a.starts_at,
                last_sent=a.updated_at,
                last_hot_end=a.updated_at,
                figures=dict(a.figures),
                peak=dict(a.peak),
                evidence=a.evidence,
            )
    return out


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """Alerts of one evaluation sent together: same rule, same status, same evaluation time."""

    key: str
    rule: str
    status: Literal["firing", "resolved"]
    alerts: tuple[Alert, ...]


def group_alerts(alerts: Iterable[Alert]) -> list[AlertGroup]:
    """Group by (rule, status, updated_at) in first-seen order; alerts sorted by scope."""
    groups: dict[tuple[str, str, datetime], list[Alert]] = {}
    for a in alerts:
        groups.setdefault((a.rule, a.status, a.updated_at), []).append(a)
    out = []
    for (rule, status, at), items in groups.items():
        items.sort(key=lambda a: (a.scope_kind, a.scope))
        key = f'{{}}:{{alertname="{rule}", status="{status}", at="{isoformat(at)}"}}'
        out.append(AlertGroup(key, rule, status, tuple(items)))  # type: ignore[arg-type]
    return out
