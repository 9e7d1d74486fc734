"""End to end through the embedded broker and real workers: a surge in an archive replay
fires once on every sink (Slack, PagerDuty, signed webhook), the Slack receiver is down when
the alert fires and gets it once it is back, a worker restart resumes without firing again,
the surge resolves once, and the backtest of the same archive agrees."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from monitor_receivers import Receiver, free_port

from monitor.core.payloads import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FINPULSE = [sys.executable, "-m", "cli.main"]
T0 = datetime(2023, 3, 8, 6, tzinfo=UTC)
SURGE = T0 + timedelta(hours=3)
KEY = "e2e-hmac-key"


def archive(path: Path, docs: list[dict]) -> Path:
    with gzip.open(path, "wt") as fh:
        for d in docs:
            fh.write(json.dumps(d) + "\n")
    return path


def documents() -> list[dict]:
    out = []

    def doc(at: datetime, title: str) -> None:
        n = len(out)
        out.append(
            {
                "id": f"e2e{n:05d}",
                "source": "Wire",
                "title": title,
                "summary": "",
                "link": f"https://news.example/{n}",
                "published": at.isoformat().replace("+00:00", "Z"),
                "language": "en-US",
            }
        )

    for i in range(360):  # 3 h calm, one item every 30 s
        doc(T0 + timedelta(seconds=30 * i), f"Bank lender holds steady {i}")
    for i in range(80):  # 20 min collapse, one every 15 s
        doc(SURGE + timedelta(seconds=15 * i), f"Bank collapse: lender deposits frozen {i}")
    for i in range(120):  # 1 h calm again
        doc(SURGE + timedelta(minutes=20, seconds=30 * i), f"Bank lender holds steady b{i}")
    return out


def settings_env(tmp: Path, broker_url: str, hook: str, slack: str, pd: str, broken: str) -> dict:
    rule = {
        "name": "negative_surge",
        "scopes": ["topic"],
        "min_baseline_windows": 30,
        "span_windows": 10,
        "min_count": 8,
    }
    sinks = [
        {"name": "hook", "kind": "webhook", "url": hook, "secret_env": "E2E_HOOK_KEY"},
        {"name": "slack", "kind": "slack", "url": slack},
        {"name": "pd", "kind": "pagerduty", "url": pd, "secret_env": "E2E_PD_KEY"},
        {"name": "broken", "kind": "alertmanager", "url": broken},  # answers 400
    ]
    env = dict(os.environ)
    env.update(
        {
            "FINPULSE_BROKER__URL": broker_url,
            "FINPULSE_STORE__URL": f"sqlite:///{tmp}/store.db",
            "FINPULSE_DATA_DIR": str(tmp / "data"),
            "FINPULSE_WINDOWS__SIZE_S": "60",
            "FINPULSE_WINDOWS__ALLOWED_LATENESS_S": "600",
            "FINPULSE_ALERTS__RULES": json.dumps([rule]),
            "FINPULSE_SINKS": json.dumps(sinks),
            "E2E_HOOK_KEY": KEY,
            "E2E_PD_KEY": "pd-key",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("FINPULSE_CONFIG", None)
    return env


class Worker:
    def __init__(self, env: dict, log: Path) -> None:
        self.log = log
        self.fh = log.open("ab")
        self.proc = subprocess.Popen(
            [*FINPULSE, "worker", "--model", "baseline"],
            cwd=ROOT,
            env=env,
            stdout=self.fh,
            stderr=subprocess.STDOUT,
        )

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"worker: no {text!r} in time:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.fh.close()


def replay(env: dict, path: Path) -> None:
    r = subprocess.run(
        [*FINPULSE, "replay", str(path), "--speed", "600"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]


def read_topic(bootstrap: str, topic: str) -> list[dict]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
    )
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def wait_until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(r: Receiver) -> list[tuple[str, str]]:
    out = []
    for b in r.ok_bodies():
        for a in b["alerts"]:
            out.append((a["scope"], a["status"]))
    return out


def test_surge_fires_once_across_a_worker_restart_and_resolves(tmp_path):
    from foundation.kafka.broker import EmbeddedBroker
    from foundation.kafka.topics import settings_topics
    from foundation.settings import Settings

    hook, pd = Receiver().start(), Receiver().start()
    broken = Receiver(status=400).start()
    slack = Receiver(port=free_port())  # down (connection refused) until started below
    topics = settings_topics(Settings())
    workers: list[Worker] = []
    try:
        with EmbeddedBroker(topics=topics) as broker:
            env = settings_env(tmp_path, broker.url, hook.url, slack.url, pd.url, broken.url)
            docs = documents()
            cut = 360 + 60  # the first worker sees the calm and 15 minutes of the collapse
            part1 = archive(tmp_path / "part1.jsonl.gz", docs[:cut])
            part2 = archive(tmp_path / "part2.jsonl.gz", docs[cut:])

            w1 = Worker(env, tmp_path / "worker1.log")
            workers.append(w1)
            w1.wait_for("worker ready", 90)
            replay(env, part1)
            wait_until(lambda: ("financials", "firing") in statuses(hook), 120, "firing")
            time.sleep(2)  # Slack is still down: its delivery is being retried
            assert slack.requests == []
            slack.start()
            wait_until(lambda: len(slack.ok_bodies()) == 1, 60, "slack after recovery")
            w1.stop()

            w2 = Worker(env, tmp_path / "worker2.log")
            workers.append(w2)
            w2.wait_for("worker ready", 90)
            replay(env, part2)
            wait_until(lambda: ("financials", "resolved") in statuses(hook), 150, "resolve")
            time.sleep(3)  # anything sent twice would arrive now

            def broken_dead() -> int:
                from sqlalchemy import create_engine, text

                eng = create_engine(f"sqlite:///{tmp_path}/store.db")
                try:
                    with eng.connect() as conn:
                        q = "select count(*) from deliveries where sink = 'broken'"
                        q += " and state = 'dead'"
                        return int(conn.execute(text(q)).scalar_one())
                finally:
                    eng.dispose()

            # The broken sink's resolved notification gives up on its own clock: on a loaded
            # machine it may still be retrying when the resolved one reached the others.
            wait_until(lambda: broken_dead() == 2, 90, "broken sink's dead letters")
            dead_topic = read_topic(broker.bootstrap, "finpulse.alerts.dead")

        assert statuses(hook) == [("financials", "firing"), ("financials", "resolved")]
        for req in hook.requests:
            h = req["headers"]
            ts, sig = h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER]
            assert verify_signature(KEY, ts, req["body"], sig, now=time.time())
        firing = hook.ok_bodies()[0]["alerts"][0]
        assert firing["starts_at"] >= "2023-03-08T09:00:00Z"
        f = firing["figures"]
        assert f["negative_share"] >= f["baseline_share"] + 0.15
        assert f["wilson_lower"] > f["baseline_share"]
        assert "collapse" in firing["evidence"][0]["title"]

        events = pd.ok_bodies()
        assert [e["event_action"] for e in events] == ["trigger", "resolve"]
        # Incident mode (the default): PagerDuty's dedup_key is the incident; the close
        # after the restart came from the incident state the second worker resumed.
        assert events[0]["dedup_key"] == events[1]["dedup_key"] == firing["incident"]
        assert [b["incident"]["event"] for b in hook.ok_bodies()] == ["opened", "closed"]
        assert len(slack.ok_bodies()) == 2 and "blocks" in slack.ok_bodies()[0]
        assert "resumed alert state" in (tmp_path / "worker2.log").read_text()
        assert "retrying" in (tmp_path / "worker1.log").read_text()  # Slack was really down

        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{tmp_path}/store.db")
        with engine.connect() as conn:
            n_windows = conn.execute(text("select count(*) from window_stats")).scalar_one()
            late = conn.execute(text("select coalesce(sum(late), 0) from window_stats")).scalar()
            rows = conn.execute(text("select status from alerts")).all()
            states = conn.execute(text("select sink, state from deliveries")).all()
        engine.dispose()
        assert n_windows > 200
        assert [r[0] for r in rows] == ["resolved"]  # one episode row, updated on resolve
        assert sorted(states) == sorted(
            [(s, "delivered") for s in ("hook", "slack", "pd") for _ in range(2)]
            + [("broken", "dead")] * 2
        )
        # What failed is on the dead-letter topic (and in store.dead_letters, via the store).
        assert sorted((d["sink"], d["error"], d["alert"]["status"]) for d in dead_topic) == [
            ("broken", "HTTP 400", "firing"),
            ("broken", "HTTP 400", "resolved"),
        ]

        # The offline backtest of the same documents raises the same alert (when nothing
        # arrived later than the allowed lateness, which --speed 600 leaves room for).
        assert late == 0, "documents arrived beyond the lateness: the box is too slow"
        r = subprocess.run(
            [*FINPULSE, "backtest", str(part1), str(part2), "--json", "--model", "baseline"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr[-2000:]
        offline = json.loads(r.stdout)["alerts"]
        assert [a["fingerprint"] for a in offline] == [firing["fingerprint"]]
        assert offline[0]["startsAt"] == firing["starts_at"]
    finally:
        for w in workers:
            w.stop()
        for rcv in (hook, slack, pd, broken):
            rcv.stop()
