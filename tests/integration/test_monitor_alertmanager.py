"""The alertmanager_api sink against a real Alertmanager (tests/servers.py), whose own
webhook receiver is a local HTTP server: grouping, dedup of re-posts, resolving."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import servers
from monitor_receivers import Receiver
from prometheus_client import REGISTRY

from foundation.schemas import Alert
from foundation.settings import SinkSettings
from foundation.store import Store
from monitor.core.lifecycle import fingerprint
from monitor.stream.delivery import Deliverer

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def _alertmanager(group_by: list[str]) -> Iterator[tuple[servers.Alertmanager, Receiver]]:
    hook = Receiver().start()
    try:
        am = servers.Alertmanager().start(hook.url, group_by=group_by)
    except servers.ServerUnavailable as exc:
        hook.stop()
        servers.unavailable(exc)
    yield am, hook
    am.stop()
    hook.stop()


@pytest.fixture(scope="module")
def alertmanager() -> Iterator[tuple[servers.Alertmanager, Receiver]]:
    yield from _alertmanager(["alertname"])


@pytest.fixture(scope="module")
def alertmanager_by_incident() -> Iterator[tuple[servers.Alertmanager, Receiver]]:
    """The route docs/alerts.md ships for incident mode: group_by ['incident']."""
    yield from _alertmanager(["incident"])


def alert(
    scope: str, status: str = "firing", rule: str = "negative_surge", incident: str = ""
) -> Alert:
    return Alert(
        fingerprint=fingerprint(rule, "topic", scope),
        rule=rule,
        scope_kind="topic",
        scope=scope,
        status=status,
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=20) if status == "resolved" else None,
        updated_at=T0 + timedelta(minutes=20 if status == "resolved" else 5),
        figures={"negative_share": 0.6, "count": 40.0},
        dashboard_url=f"http://dash.example/topic/{scope}",
        summary=f"{rule} on topic {scope}",
        incident=incident,
    )


def notifications(hook: Receiver) -> list[dict]:
    return [json.loads(r["body"]) for r in hook.requests]


def wait_for(pred, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if value := pred():
            return value
        time.sleep(0.2)
    return pred()


def test_alerts_reach_alertmanager_grouped_deduplicated_and_resolved(alertmanager, tmp_path):
    asyncio.run(scenario(*alertmanager, Store(f"sqlite:///{tmp_path}/s.db")))


async def scenario(am: servers.Alertmanager, hook: Receiver, store: Store) -> None:
    sink = SinkSettings(name="am", kind="alertmanager_api", url=am.base, resend_s=1.0)
    d = Deliverer([sink], store, env={}, poll_s=0.2)
    assert d.refresh_interval_s == 1.0
    sent = {"sink": "am", "outcome": "delivered"}
    before = REGISTRY.get_sample_value("finpulse_notifications_total", sent) or 0.0
    await d.enqueue([alert("banks"), alert("crypto")])
    assert await d.drain(20)
    assert store.outbox_counts() == {("am", "delivered"): 2}
    assert REGISTRY.get_sample_value("finpulse_notifications_total", sent) == before + 2

    # Alertmanager holds both, with finpulse's labels and an endsAt ahead (4 x resend_s).
    active = await asyncio.to_thread(wait_for, lambda: am.get_json("/api/v2/alerts?active=true"))
    assert {a["labels"]["scope"] for a in active} == {"banks", "crypto"}
    for a in active:
        assert a["labels"]["alertname"] == "negative_surge"
        assert a["labels"]["generator"] == "finpulse" and a["labels"]["scope_kind"] == "topic"
        assert a["annotations"]["summary"].startswith("negative_surge on topic")
        assert a["generatorURL"].startswith("http://dash.example/topic/")
        assert a["status"]["state"] == "active"

    # One notification for the group of two (grouped by alertname).
    got = await asyncio.to_thread(wait_for, lambda: notifications(hook))
    assert len(got) == 1, got
    (n,) = got
    assert n["status"] == "firing" and n["groupLabels"] == {"alertname": "negative_surge"}
    assert sorted(a["labels"]["scope"] for a in n["alerts"]) == ["banks", "crypto"]

    # Re-posting the same alerts (the keep-alive) is deduplicated: no new notification.
    for _ in range(3):
        await d.refresh()
        await asyncio.sleep(1.0)
    assert len(notifications(hook)) == 1
    assert len(am.get_json("/api/v2/alerts?active=true")) == 2

    # Resolving: posted with their endsAt, Alertmanager sends the group resolved.
    await d.enqueue([alert("banks", "resolved"), alert("crypto", "resolved")])
    assert await d.drain(20)
    assert d.sinks[0].firing == {}  # type: ignore[attr-defined]  # nothing left to keep alive
    resolved = await asyncio.to_thread(
        wait_for, lambda: [x for x in notifications(hook) if x["status"] == "resolved"], 30.0
    )
    assert resolved, notifications(hook)
    assert sorted(a["labels"]["scope"] for a in resolved[0]["alerts"]) == ["banks", "crypto"]
    assert all(a["status"] == "resolved" for a in resolved[0]["alerts"])
    await d.aclose()


def test_alerts_of_one_incident_are_one_alertmanager_notification(
    alertmanager_by_incident, tmp_path
):
    asyncio.run(by_incident(*alertmanager_by_incident, Store(f"sqlite:///{tmp_path}/s.db")))


async def by_incident(am: servers.Alertmanager, hook: Receiver, store: Store) -> None:
    # Incident mode (the default) keeps member alerts for this kind, labelled incident=<id>:
    # two rules on two scopes of one story, and an unrelated alert of another incident.
    sink = SinkSettings(name="am", kind="alertmanager_api", url=am.base, resend_s=1.0)
    d = Deliverer([sink], store, env={}, poll_s=0.2)
    story = [
        alert("crypto", incident="inc-ftx"),
        alert("banks", rule="attention", incident="inc-ftx"),
    ]
    await d.enqueue([*story, alert("energy", incident="inc-oil")])
    assert await d.drain(20)

    def ftx_whole() -> list[dict]:
        return [
            n
            for n in notifications(hook)
            if n["groupLabels"] == {"incident": "inc-ftx"} and len(n["alerts"]) == 2
        ]

    # One group per incident (a member arriving after group_wait is in the group's next
    # notification, Alertmanager's group_interval).
    (ftx, *_) = await asyncio.to_thread(wait_for, ftx_whole)
    assert sorted(a["labels"]["alertname"] for a in ftx["alerts"]) == [
        "attention",
        "negative_surge",
    ]
    groups = {json.dumps(n["groupLabels"], sort_keys=True) for n in notifications(hook)}
    assert groups == {'{"incident": "inc-ftx"}', '{"incident": "inc-oil"}'}
    await d.aclose()
