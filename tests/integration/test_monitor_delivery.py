"""Durable delivery acceptance, with real local HTTP receivers and real processes.

"Down for 10 minutes" is compressed by configuration only: the sinks' backoff cap and age
limit are seconds instead of minutes and hours; the code path is the one the worker runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from monitor_receivers import Receiver, free_port
from sqlalchemy import select

from foundation.schemas import Alert, Document, ScoredDocument
from foundation.settings import AlertSettings, RuleSettings, Settings, SinkSettings, WindowSettings
from foundation.store import Store, dead_letters
from monitor.core.lifecycle import fingerprint
from monitor.core.outbox import alert_entry
from monitor.core.pipeline import AlertPipeline
from monitor.stream.delivery import Deliverer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2023, 3, 10, 15, tzinfo=UTC)
ENV = {"HOOK_KEY": "k", "PD_KEY": "pd-key"}


def alert(scope: str, status: str = "firing", minutes: int = 0, kind: str = "ticker") -> Alert:
    return Alert(
        fingerprint=fingerprint("negative_surge", kind, scope),
        rule="negative_surge",
        scope_kind=kind,  # type: ignore[arg-type]
        scope=scope,
        status=status,  # type: ignore[arg-type]
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=minutes) if status == "resolved" else None,
        updated_at=T0 + timedelta(minutes=minutes),
        figures={"negative_share": 0.7, "baseline_share": 0.2, "count": 30.0},
        summary=f"negative_surge on {kind} {scope}",
    )


def sink(name: str, url: str, kind: str = "webhook", **kw: object) -> SinkSettings:
    base: dict[str, object] = {
        "name": name,
        "kind": kind,
        "url": url,
        "max_per_minute": 600,
        "timeout_s": 1.0,
        # Time compression: a 5-minute cap and a 24-hour age limit become 0.4 s and 60 s.
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.4,
        "max_age_s": 60.0,
    }
    if kind == "webhook":
        base["secret_env"] = "HOOK_KEY"
    if kind == "pagerduty":
        base["secret_env"] = "PD_KEY"
    base.update(kw)
    return SinkSettings.model_validate(base)


def notifications(r: Receiver) -> list[tuple[str, str, float]]:
    """(scope, status, arrival time) of every alert a receiver accepted, in arrival order."""
    out = []
    for req in r.requests:
        if not 200 <= req["status"] < 300:
            continue
        body = json.loads(req["body"])
        if "event_action" in body:  # PagerDuty: one event per request
            status = "firing" if body["event_action"] == "trigger" else "resolved"
            scope = body["payload"]["component"].split(":", 1)[1]
            out.append((scope, status, req["at"]))
            continue
        if "blocks" in body:  # Slack: status in the header, one "summary (link)" line each
            head, *lines = body["text"].split("\n")
            status = "firing" if "FIRING" in head else "resolved"
            out.extend((line.split()[3], status, req["at"]) for line in lines)
            continue
        for a in body["alerts"]:
            scope = a.get("scope") or a.get("labels", {}).get("scope")
            out.append((scope, a["status"], req["at"]))
    return out


async def _timeline(d: Deliverer, steps: list[tuple[float, list[Alert]]], run_s: float) -> None:
    """Enqueue each batch at its offset (seconds) while the loops run for ``run_s``."""
    task = asyncio.ensure_future(d.run())
    t0 = time.monotonic()
    try:
        for at, batch in steps:
            await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            await d.enqueue(batch)
        await asyncio.sleep(max(0.0, t0 + run_s - time.monotonic()))
    finally:
        d.stop()
        await task
        await d.aclose()


def test_receiver_down_for_ten_minutes_gets_everything_once_in_order_and_others_not_delayed(
    tmp_path,
):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    down = Receiver(port=free_port())
    up = Receiver().start()
    # 6 s down with a 0.4 s backoff cap is 15 cap-lengths: 10 minutes at a 40 s cap, the
    # shape of a long outage (the cap reached and held), not of a blip.
    threading.Timer(6.0, down.start).start()
    steps = [
        (0.0, [alert("SIVB"), alert("FRC")]),
        (1.0, [alert("SBNY", minutes=5)]),
        (2.0, [alert("SIVB", "resolved", 20)]),
        (3.0, [alert("CS", minutes=25)]),
        (4.0, [alert("FRC", "resolved", 30), alert("SBNY", "resolved", 30)]),
    ]
    sent_at: dict[str, float] = {}
    t_start = time.monotonic()
    for at, batch in steps:
        for a in batch:
            sent_at[f"{a.scope}:{a.status}"] = t_start + at
    d = Deliverer(
        [sink("pager", down.url), sink("chat", up.url, kind="alertmanager")],
        store,
        env=ENV,
        poll_s=0.2,
        lease_s=5,
    )
    try:
        asyncio.run(_timeline(d, steps, run_s=10.0))
    finally:
        down.stop()
        up.stop()
    expected = sorted(sent_at)
    for r in (down, up):
        got = notifications(r)
        keys = [f"{s}:{st}" for s, st, _ in got]
        assert sorted(keys) == expected  # every notification, once each
        for scope in ("SIVB", "FRC", "SBNY"):  # firing before its resolved
            assert keys.index(f"{scope}:firing") < keys.index(f"{scope}:resolved")
    # The sink that stayed up was not held back by the one that was down.
    lag = [at - sent_at[f"{s}:{st}"] for s, st, at in notifications(up)]
    assert max(lag) < 1.5, lag
    assert down.requests and min(r["at"] for r in down.requests) >= t_start + 5.5
    assert store.outbox_counts() == {("pager", "delivered"): 7, ("chat", "delivered"): 7}


def test_past_the_age_limit_dead_letters_are_redriven_when_the_sink_is_healthy(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    port = free_port()
    hook, pd, slack = Receiver(port=port), Receiver(port=free_port()), Receiver(port=free_port())
    dead: list[tuple[str, str, str]] = []

    async def on_dead(a: Alert, sink_name: str, error: str, attempts: int) -> None:
        dead.append((sink_name, a.scope, a.status))

    # Age limit 1.5 s: the firings die while everything is down (4 s); the resolved of SIVB
    # is enqueued at 3 s, so it is still pending when the receivers come up.
    sinks = [
        sink(n, r.url, kind=k, max_age_s=1.5)
        for n, r, k in (
            ("hook", hook, "webhook"),
            ("pd", pd, "pagerduty"),
            ("slack", slack, "slack"),
        )
    ]
    for r in (hook, pd, slack):
        threading.Timer(4.0, r.start).start()
    steps = [
        (0.0, [alert("SIVB"), alert("FRC")]),
        (3.0, [alert("SIVB", "resolved", 20)]),
    ]
    d = Deliverer(sinks, store, env=ENV, poll_s=0.2, lease_s=5, dead_letter=on_dead)
    try:
        asyncio.run(_timeline(d, steps, run_s=7.0))
    finally:
        for r in (hook, pd, slack):
            r.stop()
    assert sorted(dead) == sorted(
        (s, scope, "firing") for s in ("hook", "pd", "slack") for scope in ("SIVB", "FRC")
    )
    for r in (hook, pd):  # firing then resolved, every notification once
        keys = [f"{s}:{st}" for s, st, _ in notifications(r)]
        assert sorted(keys) == ["FRC:firing", "SIVB:firing", "SIVB:resolved"], keys
        assert keys.index("SIVB:firing") < keys.index("SIVB:resolved")
    # Slack folds a resolved whose firing never reached it: the resolved alone.
    keys = sorted(f"{s}:{st}" for s, st, _ in notifications(slack))
    assert keys == ["FRC:firing", "SIVB:resolved"], keys
    with store.engine.connect() as conn:
        assert conn.execute(select(dead_letters)).all() == []  # all re-driven
    counts = store.outbox_counts()
    assert counts[("slack", "folded")] == 1 and ("hook", "dead") not in counts


def _cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_a_restart_with_pending_outbox_rows_delivers_them_once(tmp_path):
    """kill -9 of a process that is delivering (receiver down); the next one sends each
    pending notification once."""
    db = tmp_path / "s.db"
    store = Store(f"sqlite:///{db}")
    port = free_port()
    hook = Receiver(port=port)
    cfg = sink("hook", hook.url, timeout_s=0.5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env.update(
        PYTHONPATH=str(REPO),
        HOOK_KEY="k",
        FINPULSE_DATA_DIR=str(tmp_path / "data"),
        FINPULSE_STORE__URL=f"sqlite:///{db}",
        FINPULSE_SINKS=json.dumps([cfg.model_dump()]),
        FINPULSE_ALERTS__DELIVERY_POLL_S="0.2",
        FINPULSE_ALERTS__DELIVERY_LEASE_S="1",
    )
    # What the worker's notify agent writes: the outbox rows, before any send.
    alerts = [alert("SIVB"), alert("FRC"), alert("SIVB", "resolved", 20)]
    now = datetime.now(UTC)
    store.outbox_enqueue([alert_entry(a) for a in alerts], {"hook": cfg.max_age_s}, now)
    first = _cli(["alerts", "redeliver", "--send"], env, tmp_path / "first.log")
    time.sleep(4.0)  # it is retrying against the refused port
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    assert store.outbox_counts() == {("hook", "pending"): 3}
    hook.start()
    try:
        second = _cli(["alerts", "redeliver", "--send", "--timeout", "30"], env, tmp_path / "b.log")
        assert second.wait(60) == 0, (tmp_path / "b.log").read_text()
        keys = [f"{s}:{st}" for s, st, _ in notifications(hook)]
        assert keys == ["FRC:firing", "SIVB:firing", "SIVB:resolved"]
        # A third run (another restart) finds nothing to send.
        third = _cli(["alerts", "redeliver", "--send"], env, tmp_path / "c.log")
        assert third.wait(60) == 0
        assert len(notifications(hook)) == 3
    finally:
        hook.stop()
    assert store.outbox_counts() == {("hook", "delivered"): 3}


def test_a_silenced_alert_is_not_delivered_an_unsilenced_one_is_and_the_silence_expires(
    tmp_path,
):
    from monitor.alert_actions import create_silence

    store = Store(f"sqlite:///{tmp_path}/s.db")
    hook = Receiver().start()
    now = datetime.now(UTC)
    sid = create_silence(
        store,
        ["scope_kind=ticker", "scope=SIVB"],
        starts_at=now,
        ends_at=now + timedelta(seconds=3),
        user="alice",
        comment="handled",
        now=now,
        watchlists={},
    )
    steps = [(0.0, [alert("SIVB"), alert("JPM")])]
    d = Deliverer([sink("hook", hook.url)], store, env=ENV, poll_s=0.2, lease_s=5)
    t0 = time.monotonic()
    try:
        asyncio.run(_timeline(d, steps, run_s=2.0))
        keys = [f"{s}:{st}" for s, st, _ in notifications(hook)]
        assert keys == ["JPM:firing"]  # SIVB was detected and stored, not notified
        assert store.outbox_counts()[("hook", "silenced")] == 1
        (held,) = store.outbox_rows("hook", ("silenced",))
        assert held.silence_id == sid and held.alert.scope == "SIVB"
        # The silence ends by itself; SIVB still fires (no resolved), so it goes out then.
        time.sleep(max(0.0, 3.2 - (time.monotonic() - t0)))
        d2 = Deliverer([sink("hook", hook.url)], store, env=ENV, poll_s=0.2, lease_s=5)
        asyncio.run(_timeline(d2, [], run_s=1.5))
        keys = [f"{s}:{st}" for s, st, _ in notifications(hook)]
        assert keys == ["JPM:firing", "SIVB:firing"]
    finally:
        hook.stop()


def test_a_worker_killed_with_pending_outbox_rows_delivers_them_once_after_restart(
    tmp_path, pipeline_env, start_worker
):
    """The worker's own delivery loop: kill -9 while the receiver is down, restart it."""
    hook = Receiver(port=free_port())
    cfg = sink("hook", hook.url, timeout_s=0.5)
    env = pipeline_env(
        HOOK_KEY="k",
        FINPULSE_SINKS=json.dumps([cfg.model_dump()]),
        FINPULSE_ALERTS__DELIVERY_POLL_S="0.2",
        FINPULSE_ALERTS__DELIVERY_LEASE_S="1",
    )
    store = Store(env["FINPULSE_STORE__URL"])
    # What the notify agent wrote before the kill: outbox rows, not yet sent.
    alerts = [alert("SIVB"), alert("FRC"), alert("SIVB", "resolved", 20)]
    store.outbox_enqueue([alert_entry(a) for a in alerts], {"hook": 3600.0}, datetime.now(UTC))
    first = start_worker(env)
    first.wait_for_line("attempt failed (ConnectError)", 30)
    os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait(10)
    assert store.outbox_counts() == {("hook", "pending"): 3}
    hook.start()
    try:
        start_worker(env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and store.outbox_counts() != {("hook", "delivered"): 3}:
            time.sleep(0.3)
        time.sleep(1.0)  # a duplicate would arrive now
        keys = [f"{s}:{st}" for s, st, _ in notifications(hook)]
        assert keys == ["FRC:firing", "SIVB:firing", "SIVB:resolved"]
    finally:
        hook.stop()


def test_after_a_restart_alertmanager_keeps_alive_only_what_it_was_sent(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    sent, held, queued = alert("SIVB"), alert("FRC"), alert("JPM")
    now = datetime.now(UTC)
    store.outbox_enqueue([alert_entry(a) for a in (sent, held, queued)], {"am": 3600.0}, now)
    rows = {r.alert.scope: r for r in store.outbox_rows("am")}
    store.outbox_delivered("am", [rows["SIVB"].entry], 1, now)
    store.outbox_set_state([rows["FRC"].id], "silenced", now, silence_id="s1")
    cfg = SinkSettings(name="am", kind="alertmanager_api", url="http://127.0.0.1:9")
    d = Deliverer([cfg], store, env={})
    d.remember([sent, held, queued])  # the store's firing alerts, at start
    assert set(d.sinks[0].firing) == {sent.fingerprint}  # type: ignore[attr-defined]
    asyncio.run(d.aclose())


def test_two_workers_delivering_from_one_outbox_send_each_notification_once_in_order(tmp_path):
    """Both run the loops for the same sink; the lease lets one send at a time."""
    store = Store(f"sqlite:///{tmp_path}/s.db")
    hook = Receiver().start()
    cfg = sink("hook", hook.url)
    a = Deliverer([cfg], store, env=ENV, poll_s=0.1, lease_s=2, owner="w1")
    b = Deliverer([cfg], store, env=ENV, poll_s=0.1, lease_s=2, owner="w2")
    batches = [[alert(f"T{i}", minutes=i)] for i in range(15)]
    batches += [[alert(f"T{i}", "resolved", 30 + i)] for i in range(15)]

    async def both() -> None:
        tasks = [asyncio.ensure_future(d.run()) for d in (a, b)]
        for i, batch in enumerate(batches):  # the notify agents of both workers enqueue
            await (a if i % 2 else b).enqueue(batch)
            await asyncio.sleep(0.05)
        end = time.monotonic() + 20
        while time.monotonic() < end and store.outbox_counts() != {("hook", "delivered"): 30}:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        for d in (a, b):
            d.stop()
        await asyncio.gather(*tasks)
        for d in (a, b):
            await d.aclose()

    try:
        asyncio.run(both())
    finally:
        hook.stop()
    keys = [f"{s}:{st}" for s, st, _ in notifications(hook)]
    assert sorted(keys) == sorted(f"T{i}:{st}" for i in range(15) for st in ("firing", "resolved"))
    assert keys == [f"T{i}:firing" for i in range(15)] + [f"T{i}:resolved" for i in range(15)]


def test_sinks_get_only_the_alerts_their_routes_ask_for(tmp_path):
    # Routes like Alertmanager's: a desk sink takes its watchlist's alerts, a crypto pager
    # entity and sector alerts, a catch-all everything; the outbox holds rows only for those.
    store = Store(f"sqlite:///{tmp_path}/s.db")
    desk, crypto, every = Receiver().start(), Receiver().start(), Receiver().start()
    d = Deliverer(
        [
            sink("desk", desk.url, watchlists=["banks"]),
            sink("crypto", crypto.url, scope_kinds=["entity", "sector"]),
            sink("all", every.url),
        ],
        store,
        env=ENV,
        poll_s=0.2,
        lease_s=5,
    )
    batch = [alert("banks", kind="watchlist"), alert("FTX", kind="entity"), alert("SIVB")]
    try:
        asyncio.run(_timeline(d, [(0.0, batch)], run_s=2.0))
    finally:
        for r in (desk, crypto, every):
            r.stop()
    assert [s for s, _, _ in notifications(desk)] == ["banks"]
    assert [s for s, _, _ in notifications(crypto)] == ["FTX"]
    assert sorted(s for s, _, _ in notifications(every)) == ["FTX", "SIVB", "banks"]
    assert {r.sink for r in store.outbox_rows(None, ("pending", "delivered"))} == {
        "desk",
        "crypto",
        "all",
    }
    assert len(store.outbox_rows("desk", ("pending", "delivered"))) == 1


def _burst_alerts() -> list[Alert]:
    """A real burst through the pure pipeline: one topic's headlines turn negative and
    raise alerts on the topic, its source and ``all`` (one incident), then calm down."""
    rule = RuleSettings(scopes=["topic", "source", "all"], span_windows=1)
    p = AlertPipeline(
        Settings(
            windows=WindowSettings(size_s=300, allowed_lateness_s=0),
            alerts=AlertSettings(rules=[rule], dashboard_url="http://dash"),
        )
    )
    base = datetime(2024, 3, 1, tzinfo=UTC)
    neg = {"negative": 0.8, "neutral": 0.15, "positive": 0.05}
    neu = {"negative": 0.1, "neutral": 0.8, "positive": 0.1}
    out: list[Alert] = []
    windows = [(20, 3)] * 24 + [(30, 20)] * 3 + [(20, 3)] * 8  # calm, a surge, calm
    for w, (n, k) in enumerate([*windows, (1, 0)]):
        for i in range(n):
            doc = Document(
                id=f"d-{w}-{i}",
                source="Wire",
                title=f"Bank headline {w}-{i}",
                link=f"https://news.example/{w}-{i}",
                published=base + timedelta(seconds=w * 300 + i * 300 // n),
            )
            probs = neg if i < k else neu
            p.add(
                ScoredDocument(
                    document=doc,
                    topic="banking",
                    topic_probs={"banking": 1.0},
                    sentiment="negative" if i < k else "neutral",
                    sentiment_probs=probs,
                    model="test",
                )
            )
            out += p.advance().alerts
    return out


def test_a_burst_of_one_incident_is_one_firing_and_one_resolved_in_incident_mode(tmp_path):
    alerts = _burst_alerts()
    firing = [a for a in alerts if a.status == "firing"]
    resolved = [a for a in alerts if a.status == "resolved"]
    assert len(firing) >= 3 and len(resolved) == len(firing)  # topic, source, all
    assert len({a.incident for a in alerts}) == 1
    store = Store(f"sqlite:///{tmp_path}/s.db")
    per_incident, per_alert = Receiver().start(), Receiver().start()
    d = Deliverer(
        [sink("risk", per_incident.url), sink("raw", per_alert.url, notify="alert")],
        store,
        env=ENV,
        poll_s=0.2,
        lease_s=5,
    )
    # The resolveds a second later, and the whole burst again (a Kafka redelivery).
    steps = [(0.0, firing), (1.0, resolved), (1.5, alerts)]
    try:
        asyncio.run(_timeline(d, steps, run_s=3.5))
    finally:
        per_incident.stop()
        per_alert.stop()
    bodies = [json.loads(r["body"]) for r in per_incident.requests if r["status"] == 200]
    assert [(b["kind"], b["status"], b["incident"]["event"]) for b in bodies] == [
        ("incident", "firing", "opened"),
        ("incident", "resolved", "closed"),
    ]
    scopes = sorted(f"{a.scope_kind}:{a.scope}" for a in firing)
    assert all(b["incident"]["scopes"] == scopes for b in bodies)
    assert all(b["incident"]["id"] == alerts[0].incident for b in bodies)
    assert bodies[0]["incident"]["evidence"][0]["title"].startswith("Bank headline")
    # notify = "alert" keeps one notification per alert event, each once.
    got = sorted((s, st) for s, st, _ in notifications(per_alert))
    assert got == sorted((a.scope, a.status) for a in alerts)
    assert store.outbox_counts() == {("risk", "delivered"): 2, ("raw", "delivered"): len(alerts)}
