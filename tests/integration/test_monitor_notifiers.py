"""Notifier pipeline against real local HTTP servers: payloads, signatures, retries while a
receiver is down, dead letters, and no double delivery (store-backed dedup)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from monitor_receivers import Receiver, free_port
from sqlalchemy import select

from foundation.schemas import Alert, Evidence
from foundation.settings import SinkSettings
from foundation.store import Store, dead_letters, deliveries
from monitor.core.lifecycle import fingerprint
from monitor.core.payloads import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from monitor.stream.notifiers import Dispatcher

pytestmark = pytest.mark.integration

T0 = datetime(2022, 11, 8, 12, tzinfo=UTC)
KEY = "test-hmac-key"
ENV = {"HOOK_KEY": KEY, "PD_KEY": "pd-routing-key"}


def alert(scope: str, status: str = "firing", minutes: int = 30) -> Alert:
    return Alert(
        fingerprint=fingerprint("negative_surge", "topic", scope),
        rule="negative_surge",
        scope_kind="topic",
        scope=scope,
        status=status,
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=minutes) if status == "resolved" else None,
        updated_at=T0 + timedelta(minutes=minutes),
        figures={"negative_share": 0.6, "baseline_share": 0.1, "count": 40.0},
        evidence=(
            Evidence(
                id="x1",
                title="FTX halts withdrawals",
                source="Wire",
                link="https://news.example/x1",
                published=T0,
                sentiment_probs={"negative": 0.95},
            ),
        ),
        dashboard_url=f"http://dash/topic/{scope}",
        summary=f"negative_surge on topic {scope}",
    )


def dispatcher(sinks, store=None, dead=None, retries=6):
    cfg = [s.model_copy(update={"max_retries": retries, "max_per_minute": 600}) for s in sinks]
    return Dispatcher(
        cfg,
        store=store,
        dead_letter=dead,
        external_url="http://dash",
        env=ENV,
        base_delay_s=0.1,
        max_delay_s=0.5,
    )


def test_every_sink_gets_its_payload_and_the_webhook_is_signed(tmp_path):
    hook, am, slack, pd = (Receiver().start() for _ in range(4))
    try:
        sinks = [
            SinkSettings(name="hook", kind="webhook", url=hook.url, secret_env="HOOK_KEY"),
            SinkSettings(name="am", kind="alertmanager", url=am.url),
            SinkSettings(name="slack", kind="slack", url=slack.url),
            SinkSettings(name="pd", kind="pagerduty", url=pd.url, secret_env="PD_KEY"),
        ]
        store = Store(f"sqlite:///{tmp_path}/s.db")
        d = dispatcher(sinks, store)
        firing = [alert("financials"), alert("crypto")]
        resolved = [alert("financials", "resolved", 90)]
        results = asyncio.run(_run(d, firing, resolved))
        assert {r.state for r in results} == {"delivered"}

        (req,) = hook.requests[:1]
        ts, sig = req["headers"][TIMESTAMP_HEADER], req["headers"][SIGNATURE_HEADER]
        assert verify_signature(KEY, ts, req["body"], sig, now=time.time())
        assert not verify_signature("wrong", ts, req["body"], sig, now=time.time())
        assert [b["status"] for b in hook.ok_bodies()] == ["firing", "resolved"]
        assert [a["scope"] for a in hook.ok_bodies()[0]["alerts"]] == ["crypto", "financials"]

        am_first = am.ok_bodies()[0]
        assert am_first["version"] == "4" and am_first["receiver"] == "am"
        assert len(am_first["alerts"]) == 2
        assert am_first["alerts"][0]["labels"]["scope"] == "crypto"

        assert len(slack.ok_bodies()) == 2 and "blocks" in slack.ok_bodies()[0]

        events = pd.ok_bodies()
        assert [e["event_action"] for e in events] == ["trigger", "trigger", "resolve"]
        assert {e["routing_key"] for e in events} == {"pd-routing-key"}
        assert events[2]["dedup_key"] == fingerprint("negative_surge", "topic", "financials")

        with store.engine.connect() as conn:
            rows = conn.execute(select(deliveries.c.sink, deliveries.c.state)).all()
        assert len(rows) == 4 * 3 and {s for _, s in rows} == {"delivered"}
    finally:
        for r in (hook, am, slack, pd):
            r.stop()


async def _run(d, *batches):
    out = []
    try:
        for b in batches:
            out += await d.dispatch(b)
    finally:
        await d.aclose()
    return out


def test_receiver_down_for_a_while_gets_every_alert_once(tmp_path):
    port = free_port()
    late = Receiver(port=port)
    # Down for ~1.5 s: connections are refused until it starts.
    timer = threading.Timer(1.5, late.start)
    timer.start()
    try:
        store = Store(f"sqlite:///{tmp_path}/s.db")
        sink = SinkSettings(name="hook", kind="webhook", url=late.url, secret_env="HOOK_KEY")
        batches = [[alert("a"), alert("b")], [alert("c")], [alert("a", "resolved", 60)]]
        d = dispatcher([sink], store, retries=10)
        results = asyncio.run(_run(d, *batches))
        assert [r.state for r in results] == ["delivered"] * 4
        assert results[0].attempts > 1  # it really was down
        got = [(a["scope"], a["status"]) for b in late.ok_bodies() for a in b["alerts"]]
        assert sorted(got) == [("a", "firing"), ("a", "resolved"), ("b", "firing"), ("c", "firing")]
        # The same alert events again (a redelivery after a restart): nothing sent twice.
        d2 = dispatcher([sink], store)
        again = asyncio.run(_run(d2, *batches))
        assert {r.state for r in again} == {"skipped"}
        assert len(late.ok_bodies()) == 3
    finally:
        timer.cancel()
        late.stop()


def test_after_the_last_retry_the_alert_is_a_dead_letter(tmp_path):
    always_down = Receiver(status=503).start()
    rejecting = Receiver(status=400).start()
    dead: list[tuple[str, str, str, int]] = []

    async def on_dead(a, sink, error, attempts):
        dead.append((a.scope, sink, error, attempts))

    try:
        store = Store(f"sqlite:///{tmp_path}/s.db")
        sinks = [
            SinkSettings(name="down", kind="alertmanager", url=always_down.url),
            SinkSettings(name="reject", kind="slack", url=rejecting.url),
        ]
        d = dispatcher(sinks, store, on_dead, retries=2)
        results = asyncio.run(_run(d, [alert("x")]))
        assert sorted((r.sink, r.state, r.attempts) for r in results) == [
            ("down", "dead", 3),
            ("reject", "dead", 1),  # a 4xx is permanent: no retry
        ]
        assert sorted(dead) == [("x", "down", "HTTP 503", 3), ("x", "reject", "HTTP 400", 1)]
        with store.engine.connect() as conn:
            rows = conn.execute(select(dead_letters.c.sink, dead_letters.c.error)).all()
        assert sorted(rows) == [("down", "HTTP 503"), ("reject", "HTTP 400")]
        assert len(always_down.requests) == 3
    finally:
        always_down.stop()
        rejecting.stop()


def test_a_missing_secret_is_a_config_error_naming_the_variable():
    from foundation.errors import ConfigError

    sink = SinkSettings(name="hook", kind="webhook", url="http://x", secret_env="NOPE_KEY")
    with pytest.raises(ConfigError, match="NOPE_KEY"):
        Dispatcher([sink], env={})
