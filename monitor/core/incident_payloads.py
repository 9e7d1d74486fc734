"""Rendering one incident notification for each sink kind: pure functions, no I/O.

The alert passed in is the one that carries the transition (``Alert.incident_notice``: the
opening alert, the first member of a re-flare, the last member to resolve). Each payload
names the incident id, its member scopes so far, their rules, its span and its evidence
headlines (docs/alerts.md "Notifications per incident"):

- generic webhook: ``{"version": "1", "kind": "incident", "groupKey": "incident:<id>",
  "status", "incident": {...}, "alerts": [the carrying alert]}``, signed like any webhook
- Slack: one message (header, members, span, headlines)
- PagerDuty Events API v2: ``dedup_key`` = the incident id, trigger on open / re-flare,
  resolve on close
- Alertmanager webhook payload v4: one group per incident (``groupLabels: {incident}``),
  its members as the alerts
"""

from __future__ import annotations

from typing import Any

from foundation.schemas import Alert, IncidentMember, IncidentNotice, isoformat
from monitor.core.payloads import SEVERITY, ZERO_TIME, alert_json, slack_escape

MAX_SCOPES_SHOWN = 20


def notice_of(a: Alert) -> IncidentNotice:
    if a.incident_notice is None:
        raise ValueError(f"alert {a.fingerprint} carries no incident notice")
    return a.incident_notice


def opener_of(n: IncidentNotice) -> IncidentMember | None:
    return next((m for m in n.members if m.fingerprint == n.opener), None)


def incident_title(n: IncidentNotice) -> str:
    """``negative_surge on entity FTX + 4 more scope(s)``: the opener names the incident."""
    first = opener_of(n) or (n.members[0] if n.members else None)
    if first is None:
        return f"incident {n.id}"
    more = len(n.members) - 1
    tail = f" + {more} more scope(s)" if more > 0 else ""
    return f"{first.rule} on {first.scope_kind} {first.scope}{tail}"


def _scope(m: IncidentMember) -> str:
    return f"{m.scope_kind}:{m.scope}"


def incident_json(a: Alert) -> dict[str, Any]:
    """The incident as every payload describes it."""
    n = notice_of(a)
    return {
        "id": n.id,
        "event": n.event,
        "status": n.status,
        "title": incident_title(n),
        "startsAt": isoformat(n.starts_at),
        "endsAt": isoformat(n.ends_at) if n.ends_at else None,
        "scopes": sorted({_scope(m) for m in n.members}),
        "rules": sorted({m.rule for m in n.members}),
        "members": [
            {
                "fingerprint": m.fingerprint,
                "rule": m.rule,
                "scope_kind": m.scope_kind,
                "scope": m.scope,
                "startsAt": isoformat(m.starts_at),
                "status": "firing" if m.firing else "resolved",
            }
            for m in n.members
        ],
        "opener": n.opener,
        "evidence": [
            {
                "title": e.title,
                "source": e.source,
                "link": e.link,
                "published": isoformat(e.published),
            }
            for e in n.evidence
        ],
        "dashboard": a.dashboard_url,
    }


def incident_webhook_payload(a: Alert) -> dict[str, Any]:
    n = notice_of(a)
    return {
        "version": "1",
        "kind": "incident",
        "groupKey": f"incident:{n.id}",
        "status": n.status,
        "incident": incident_json(a),
        "alerts": [alert_json(a)],
    }


def _span(n: IncidentNotice) -> str:
    return isoformat(n.starts_at) + (f" → {isoformat(n.ends_at)}" if n.ends_at else "")


def incident_slack_message(a: Alert) -> dict[str, Any]:
    """One Slack message per incident notification (``text`` fallback plus ``blocks``)."""
    n = notice_of(a)
    icon = ":rotating_light:" if n.status == "firing" else ":white_check_mark:"
    head = f"{icon} INCIDENT {n.event.upper()}: {incident_title(n)}"
    scopes = sorted({_scope(m) for m in n.members})
    shown = ", ".join(f"`{slack_escape(s)}`" for s in scopes[:MAX_SCOPES_SHOWN])
    if len(scopes) > MAX_SCOPES_SHOWN:
        shown += f" and {len(scopes) - MAX_SCOPES_SHOWN} more"
    rules = ", ".join(sorted({m.rule for m in n.members}))
    body = (
        f"*Scopes ({len(scopes)}):* {shown}\n*Rules:* {slack_escape(rules)}\n"
        f"*Span:* {_span(n)} · incident `{n.id}` · <{a.dashboard_url}|dashboard>"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
    ]
    if n.evidence:
        ev = "\n".join(
            f"• <{e.link}|{slack_escape(e.title)[:150]}> — {slack_escape(e.source)}"
            for e in n.evidence
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": ev[:3000]}]})
    lines = [head, f"scopes: {', '.join(scopes)}", f"span: {_span(n)}"]
    lines.extend(f"- {e.title} ({e.source}) {e.link}" for e in n.evidence)
    return {"text": "\n".join(lines), "blocks": blocks}


def incident_pagerduty_event(
    a: Alert, routing_key: str, source: str = "finpulse"
) -> dict[str, Any]:
    """PagerDuty groups by ``dedup_key``: the incident id, triggered on open (or re-flare)
    and resolved on close; a trigger after a resolve opens a new PagerDuty incident."""
    n = notice_of(a)
    opener = opener_of(n)
    details = incident_json(a)
    return {
        "routing_key": routing_key,
        "event_action": "trigger" if n.status == "firing" else "resolve",
        "dedup_key": n.id,
        "payload": {
            "summary": f"incident {n.event}: {incident_title(n)}"[:1024],
            "source": source,
            "severity": SEVERITY,
            "timestamp": isoformat(a.updated_at),
            "component": _scope(opener) if opener else f"{a.scope_kind}:{a.scope}",
            "group": "incident",
            "class": ",".join(details["rules"]),
            "custom_details": details,
        },
        "links": [{"href": a.dashboard_url, "text": "finpulse dashboard"}],
    }


def incident_alertmanager_payload(a: Alert, receiver: str, external_url: str) -> dict[str, Any]:
    """An Alertmanager v4 webhook payload as Alertmanager sends for ``group_by:
    ['incident']``: one group, the members as its alerts (a member resolved before the
    notification is shown ended at the notification's time, its own end not being kept)."""
    n = notice_of(a)
    alerts = []
    for m in n.members:
        ended = n.ends_at or a.updated_at
        alerts.append(
            {
                "status": "firing" if m.firing else "resolved",
                "labels": {
                    "alertname": m.rule,
                    "scope_kind": m.scope_kind,
                    "scope": m.scope,
                    "severity": SEVERITY,
                    "incident": n.id,
                },
                "annotations": {},
                "startsAt": isoformat(m.starts_at),
                "endsAt": ZERO_TIME if m.firing else isoformat(ended),
                "generatorURL": a.dashboard_url,
                "fingerprint": m.fingerprint,
            }
        )
    annotations = {
        "summary": f"incident {n.event}: {incident_title(n)}",
        "dashboard": a.dashboard_url,
    }
    if n.evidence:
        annotations["evidence"] = " | ".join(f"{e.title} ({e.source}) {e.link}" for e in n.evidence)
    return {
        "version": "4",
        "groupKey": f'{{}}:{{incident="{n.id}"}}',
        "truncatedAlerts": 0,
        "status": n.status,
        "receiver": receiver,
        "groupLabels": {"incident": n.id},
        "commonLabels": {"incident": n.id, "severity": SEVERITY},
        "commonAnnotations": annotations,
        "externalURL": external_url,
        "alerts": alerts,
    }
