"""Rendering alerts for each sink, and the webhook signature: pure functions, no I/O.

- generic webhook: ``{"version": "1", "groupKey", "status", "alerts": [Alert JSON]}``, signed:
  ``X-Finpulse-Timestamp: <unix seconds>`` and
  ``X-Finpulse-Signature: hex(hmac_sha256(key, f"{timestamp}.{body}"))``
- Alertmanager webhook payload, version 4
- Slack incoming-webhook message (``text`` + ``blocks``)
- PagerDuty Events API v2 event (one per alert; ``dedup_key`` = fingerprint)
- Alertmanager API v2 alerts (``POST /api/v2/alerts``): a list of postable alerts, each
  labelled ``incident=<id>``

One notification per incident (a sink's ``notify = "incident"``): ``incident_payloads``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from foundation.schemas import Alert, isoformat
from monitor.core.lifecycle import AlertGroup

TIMESTAMP_HEADER = "X-Finpulse-Timestamp"
SIGNATURE_HEADER = "X-Finpulse-Signature"
# Alertmanager's "not ended yet" endsAt.
ZERO_TIME = "0001-01-01T00:00:00Z"
SEVERITY = "warning"


def body_bytes(payload: dict[str, Any] | list[Any]) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces): what is sent and what is signed."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(key: bytes | str, timestamp: int | str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}.{body}"``."""
    k = key.encode() if isinstance(key, str) else key
    return hmac.new(k, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(
    key: bytes | str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance_s: float = 300.0,
) -> bool:
    """True when ``signature`` matches and ``timestamp`` is within ``tolerance_s`` of ``now``
    (refuses replays of old requests). Constant-time comparison."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(key, ts, body), signature)


def alert_json(a: Alert) -> dict[str, Any]:
    # The incident transition is the incident payload's (incident_payloads), not the alert's.
    return json.loads(a.model_dump_json(exclude={"incident_notice"}))


def webhook_payload(group: AlertGroup) -> dict[str, Any]:
    return {
        "version": "1",
        "groupKey": group.key,
        "status": group.status,
        "alerts": [alert_json(a) for a in group.alerts],
    }


def _labels(a: Alert) -> dict[str, str]:
    out = {
        "alertname": a.rule,
        "scope_kind": a.scope_kind,
        "scope": a.scope,
        "severity": SEVERITY,
    }
    if a.incident:  # Alertmanager's route can group_by: ['incident'] (docs/alerts.md)
        out["incident"] = a.incident
    return out


def _annotations(a: Alert) -> dict[str, str]:
    out = {"summary": a.summary, "dashboard": a.dashboard_url}
    f = a.figures
    if f:
        out["description"] = ", ".join(f"{k}={v:g}" for k, v in sorted(f.items()))
    if a.evidence:
        out["evidence"] = " | ".join(f"{e.title} ({e.source}) {e.link}" for e in a.evidence)
    return out


def _common(maps: Sequence[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def alertmanager_payload(group: AlertGroup, receiver: str, external_url: str) -> dict[str, Any]:
    """The Alertmanager webhook payload (version 4) for one group."""
    labels = [_labels(a) for a in group.alerts]
    annotations = [_annotations(a) for a in group.alerts]
    alerts = []
    for a, lab, ann in zip(group.alerts, labels, annotations, strict=True):
        alerts.append(
            {
                "status": a.status,
                "labels": lab,
                "annotations": ann,
                "startsAt": isoformat(a.starts_at),
                "endsAt": isoformat(a.ends_at) if a.ends_at else ZERO_TIME,
                "generatorURL": a.dashboard_url,
                "fingerprint": a.fingerprint,
            }
        )
    return {
        "version": "4",
        "groupKey": group.key,
        "truncatedAlerts": 0,
        "status": group.status,
        "receiver": receiver,
        "groupLabels": {"alertname": group.rule},
        "commonLabels": _common(labels),
        "commonAnnotations": _common(annotations),
        "externalURL": external_url,
        "alerts": alerts,
    }


API_LABELS = {"generator": "finpulse"}
# Alertmanager resolves a firing alert not posted again before its endsAt: 4 resend periods.
API_TTL_RESENDS = 4


def alertmanager_api_alerts(
    alerts: Sequence[Alert], *, now: datetime, resend_s: float
) -> list[dict[str, Any]]:
    """Postable alerts for Alertmanager's ``POST /api/v2/alerts``.

    A firing alert ends ``API_TTL_RESENDS * resend_s`` after ``now`` (the client posts it
    again before then); a resolved one ends at its own ``ends_at``, which resolves it.
    Alertmanager identifies an alert by its labels, so re-posts update, never duplicate.
    """
    out = []
    for a in alerts:
        if a.status == "firing":
            ends = now + timedelta(seconds=API_TTL_RESENDS * resend_s)
        else:
            ends = a.ends_at or now
        out.append(
            {
                "labels": {**_labels(a), **API_LABELS},
                "annotations": _annotations(a),
                "startsAt": isoformat(a.starts_at),
                "endsAt": isoformat(ends),
                "generatorURL": a.dashboard_url,
            }
        )
    return out


def slack_message(group: AlertGroup) -> dict[str, Any]:
    """A Slack incoming-webhook message: a plain ``text`` fallback plus ``blocks``."""
    icon = ":rotating_light:" if group.status == "firing" else ":white_check_mark:"
    head = f"{icon} {group.status.upper()}: {group.rule} ({len(group.alerts)} scope(s))"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150], "emoji": True}}
    ]
    lines = [head]
    for a in group.alerts:
        when = isoformat(a.starts_at) + (f" → {isoformat(a.ends_at)}" if a.ends_at else "")
        text = f"*{slack_escape(a.summary)}*\n{when} · <{a.dashboard_url}|dashboard>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        if a.evidence and a.status == "firing":
            ev = "\n".join(
                f"• <{e.link}|{slack_escape(e.title)[:150]}> — {slack_escape(e.source)} "
                f"(neg {e.sentiment_probs.get('negative', 0.0):.2f})"
                for e in a.evidence
            )
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": ev[:3000]}]})
        lines.append(f"{a.summary} ({a.dashboard_url})")
    # Slack allows 50 blocks per message.
    return {"text": "\n".join(lines), "blocks": blocks[:50]}


def slack_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pagerduty_event(a: Alert, routing_key: str, source: str = "finpulse") -> dict[str, Any]:
    """One PagerDuty Events API v2 event: trigger when firing, resolve when resolved."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger" if a.status == "firing" else "resolve",
        "dedup_key": a.fingerprint,
    }
    event["payload"] = {
        "summary": (a.summary or f"{a.rule} {a.status}")[:1024],
        "source": source,
        "severity": SEVERITY,
        "timestamp": isoformat(a.updated_at),
        "component": f"{a.scope_kind}:{a.scope}",
        "group": a.rule,
        "custom_details": {
            "status": a.status,
            "figures": a.figures,
            "peak": a.peak,
            "starts_at": isoformat(a.starts_at),
            "ends_at": isoformat(a.ends_at) if a.ends_at else None,
            "evidence": [
                {"title": e.title, "source": e.source, "link": e.link} for e in a.evidence
            ],
        },
    }
    event["links"] = [{"href": a.dashboard_url, "text": "finpulse dashboard"}]
    return event
