"""Notifier pipeline against real local HTTP servers: payloads, signatures, the outbox's
retries while a receiver is down, dead letters, and no double delivery."""

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
from monitor.stream.delivery import Deliverer

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


def deliverer(sinks, store, dead=None, **sink_overrides):
    """Fast retries (the same code path as the defaults, time compressed)."""
    over = {"max_per_minute": 600, "backoff_base_s": 0.1, "backoff_max_s": 0.5, "timeout_s": 2}
    over.update(sink_overrides)
    cfg = [s.model_copy(update=over) for s in sinks]
    return Deliverer(
        cfg, store, dead_letter=dead, external_url="http://dash", env=ENV, poll_s=0.2, lease_s=5
    )


async def _run(d, *batches, timeout=20.0):
    """Enqueue each batch (in order) and deliver until nothing is pending."""
    try:
        for b in batches:
            await d.enqueue(b)
        return await d.drain(timeout)
    finally:
        await d.aclose()


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
        d = deliverer(sinks, store)
        firing = [alert("financials"), alert("crypto")]
        resolved = [alert("financials", "resolved", 90)]
        assert asyncio.run(_run(d, firing, resolved))

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


def test_receiver_down_for_a_while_gets_every_alert_once(tmp_path):
    port = free_port()
    late = Receiver(port=port)
    # Down for ~1.5 s: connections are refused until it starts.
    timer = threading.Timer(1.5, late.start)
    timer.start()
    try:
        store = Store(f"sqlite:///{tmp_path}/s.db")
        sink = SinkSettings(name="hook", kind="webhook", url=late.url, secret_env="HOOK_KEY")
        batches = [[alert("a"), alert("b")], [alert("c", minutes=35)], [alert("a", "resolved", 60)]]
        assert asyncio.run(_run(deliverer([sink], store), *batches))
        got = [(a["scope"], a["status"]) for b in late.ok_bodies() for a in b["alerts"]]
        assert got == [("a", "firing"), ("b", "firing"), ("c", "firing"), ("a", "resolved")]
        assert store.outbox_counts() == {("hook", "delivered"): 4}
        # The same alert events again (a redelivery after a restart): nothing sent twice.
        assert asyncio.run(_run(deliverer([sink], store), *batches))
        assert len(late.ok_bodies()) == 3
    finally:
        timer.cancel()
        late.stop()


def test_a_rejected_notification_is_a_dead_letter_at_once_and_redeliver_resends(tmp_path):
    rejecting = Receiver(statuses=[400]).start()  # then 200
    dead: list[tuple[str, str, str, int]] = []

    async def on_dead(a, sink, error, attempts):
        dead.append((a.scope, sink, error, attempts))

    try:
        store = Store(f"sqlite:///{tmp_path}/s.db")
        sinks = [SinkSettings(name="reject", kind="slack", url=rejecting.url)]
        assert asyncio.run(_run(deliverer(sinks, store, on_dead), [alert("x")]))
        assert dead == [("x", "reject", "HTTP 400", 1)]  # a 4xx is permanent: no retry
        assert len(rejecting.requests) == 1
        with store.engine.connect() as conn:
            rows = conn.execute(select(dead_letters.c.sink, dead_letters.c.error)).all()
        assert rows == [("reject", "HTTP 400")]
        # `finpulse alerts redeliver` re-queues it; the receiver now accepts it.
        assert store.outbox_requeue(datetime.now(UTC), {"reject": 60.0}) == 1
        assert asyncio.run(_run(deliverer(sinks, store, on_dead)))
        assert [r["status"] for r in rejecting.requests] == [400, 200]
        with store.engine.connect() as conn:
            assert conn.execute(select(dead_letters)).all() == []
    finally:
        rejecting.stop()


def test_a_missing_secret_is_a_config_error_naming_the_variable():
    from foundation.errors import ConfigError

    sink = SinkSettings(name="hook", kind="webhook", url="http://x", secret_env="NOPE_KEY")
    with pytest.raises(ConfigError, match="NOPE_KEY"):
        Deliverer([sink], Store("sqlite:///:memory:"), env={})


def test_test_sink_sends_one_signed_test_notification_and_reports_a_dead_sink(
    tmp_path, monkeypatch
):
    import json

    from click.testing import CliRunner

    from cli.main import main

    hook, pd = Receiver().start(), Receiver().start()
    dead_port = free_port()
    for k in [k for k in __import__("os").environ if k.startswith("FINPULSE_")]:
        monkeypatch.delenv(k)
    sinks = [
        {"name": "hook", "kind": "webhook", "url": hook.url, "secret_env": "HOOK_KEY"},
        {"name": "pd", "kind": "pagerduty", "url": pd.url, "secret_env": "PD_KEY"},
        {"name": "gone", "kind": "slack", "url": f"http://127.0.0.1:{dead_port}/x"},
    ]
    monkeypatch.setenv("FINPULSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FINPULSE_SINKS", json.dumps(sinks))
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    try:
        run = CliRunner().invoke
        out = run(main, ["alerts", "test-sink", "hook", "--user", "ops"])
        assert out.exit_code == 0 and "delivered" in out.output, out.output
        (req,) = hook.requests
        ts, sig = req["headers"][TIMESTAMP_HEADER], req["headers"][SIGNATURE_HEADER]
        assert verify_signature(KEY, ts, req["body"], sig, now=time.time())
        assert [a["rule"] for a in json.loads(req["body"])["alerts"]] == ["finpulse_test"]
        assert run(main, ["alerts", "test-sink", "pd"]).exit_code == 0
        assert [b["event_action"] for b in pd.ok_bodies()] == ["trigger", "resolve"]
        out = run(main, ["alerts", "test-sink", "gone"])
        assert out.exit_code == 1 and "ConnectError" in out.output
        audit = Store(f"sqlite:///{tmp_path}/finpulse.db").audit_rows()
        assert [(r.action, r.target, r.detail["ok"]) for r in reversed(audit)] == [
            ("test-sink", "hook", True),
            ("test-sink", "pd", True),
            ("test-sink", "gone", False),
        ]
    finally:
        hook.stop()
        pd.stop()
