"""Payload rendering, signatures, backoff and the token bucket (pure, no network)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from monitor_helpers import T0

from foundation.retry import backoff_delay
from foundation.schemas import Alert, Evidence
from monitor.core.lifecycle import fingerprint, group_alerts
from monitor.core.payloads import (
    alertmanager_payload,
    body_bytes,
    pagerduty_event,
    sign,
    slack_message,
    verify_signature,
    webhook_payload,
)
from monitor.stream.notifiers import TokenBucket


def alert(scope="banking", status="firing") -> Alert:
    ev = Evidence(
        id="d1",
        title="Bank <X> collapses",
        source="Wire",
        link="https://news.example/d1",
        published=T0,
        sentiment_probs={"negative": 0.9, "neutral": 0.05, "positive": 0.05},
    )
    return Alert(
        fingerprint=fingerprint("negative_surge", "topic", scope),
        rule="negative_surge",
        scope_kind="topic",
        scope=scope,
        status=status,
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=30) if status == "resolved" else None,
        updated_at=T0 + timedelta(minutes=30),
        figures={"negative_share": 0.66, "baseline_share": 0.15, "count": 30.0},
        peak={"negative_share": 0.7},
        evidence=(ev,),
        dashboard_url=f"http://dash/topic/{scope}?from=a&to=b",
        summary=f"negative_surge on topic {scope}",
    )


def test_signature_verifies_and_rejects_tampering_and_old_timestamps():
    body = body_bytes({"b": 1, "a": "é"})
    assert body == '{"a":"é","b":1}'.encode()
    sig = sign("s3cret", 1_700_000_000, body)
    assert verify_signature("s3cret", "1700000000", body, sig, now=1_700_000_010)
    assert not verify_signature("s3cret", "1700000000", body + b" ", sig, now=1_700_000_010)
    assert not verify_signature("other", "1700000000", body, sig, now=1_700_000_010)
    assert not verify_signature("s3cret", "1700000000", body, sig, now=1_700_001_000)
    assert not verify_signature("s3cret", "nope", body, sig, now=1_700_000_000)


def test_alertmanager_v4_payload_shape():
    g = group_alerts([alert("banking"), alert("crypto")])[0]
    p = alertmanager_payload(g, "am", "http://dash")
    assert p["version"] == "4" and p["status"] == "firing" and p["receiver"] == "am"
    assert p["groupLabels"] == {"alertname": "negative_surge"}
    assert p["commonLabels"] == {
        "alertname": "negative_surge",
        "scope_kind": "topic",
        "severity": "warning",
    }
    assert p["externalURL"] == "http://dash"
    a = p["alerts"][0]
    assert set(a) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert a["startsAt"] == "2024-03-01T00:00:00Z" and a["endsAt"] == "0001-01-01T00:00:00Z"
    assert a["fingerprint"] == fingerprint("negative_surge", "topic", "banking")
    resolved = alertmanager_payload(group_alerts([alert(status="resolved")])[0], "am", "x")
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["endsAt"] == "2024-03-01T00:30:00Z"


def test_slack_message_escapes_and_links_evidence():
    m = slack_message(group_alerts([alert()])[0])
    assert "FIRING" in m["text"]
    assert m["blocks"][0]["type"] == "header"
    ctx = json.dumps(m["blocks"])
    assert "Bank &lt;X&gt; collapses" in ctx and "https://news.example/d1" in ctx


def test_pagerduty_trigger_and_resolve_share_the_dedup_key():
    t = pagerduty_event(alert(), "rk")
    r = pagerduty_event(alert(status="resolved"), "rk")
    assert t["event_action"] == "trigger" and r["event_action"] == "resolve"
    assert t["dedup_key"] == r["dedup_key"] == alert().fingerprint
    assert t["routing_key"] == "rk"
    assert set(t["payload"]) >= {"summary", "source", "severity", "timestamp", "custom_details"}
    assert t["payload"]["custom_details"]["evidence"][0]["link"] == "https://news.example/d1"


def test_webhook_payload_carries_the_full_alerts():
    p = webhook_payload(group_alerts([alert()])[0])
    assert p["status"] == "firing"
    assert p["alerts"][0]["evidence"][0]["title"] == "Bank <X> collapses"


def test_backoff_is_exponential_capped_and_jittered():
    lo = [backoff_delay(i + 1, base=0.5, cap=8.0, rng=lambda: 0.0) for i in range(7)]
    hi = [backoff_delay(i + 1, base=0.5, cap=8.0, rng=lambda: 1.0) for i in range(7)]
    assert hi == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert lo == [h / 2 for h in hi]


def test_token_bucket_limits_the_rate():
    now = [0.0]
    slept = []

    async def fake_sleep(s):
        slept.append(s)
        now[0] += s

    async def run():
        b = TokenBucket(60, burst=2, clock=lambda: now[0], sleep=fake_sleep)
        for _ in range(5):
            await b.acquire()

    asyncio.run(run())
    # 2 immediately (burst), then one per second.
    assert len(slept) == 3 and all(abs(s - 1.0) < 1e-9 for s in slept)
