"""The embedded broker as a process: starts, answers, creates topics, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from foundation.kafka.broker import EmbeddedBroker, create_topics, tcp_reachable

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def test_broker_creates_topics_with_partitions_and_stops_cleanly():
    from kafka import KafkaAdminClient

    with EmbeddedBroker(topics={"rt.a": 3, "rt.b": 1}) as b:
        pid = b.proc.pid
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
        try:
            meta = {
                t["name"]: len(t["partitions"]) for t in admin.describe_topics(["rt.a", "rt.b"])
            }
        finally:
            admin.close()
        assert meta == {"rt.a": 3, "rt.b": 1}
        assert create_topics(b.bootstrap, {"rt.a": 3, "rt.c": 2}) == ["rt.c"]
        bootstrap = b.bootstrap
    assert not alive(pid)
    assert not tcp_reachable(bootstrap, timeout=1.0)


def test_finpulse_broker_runs_in_the_foreground_and_sigterm_stops_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env["FINPULSE_DATA_DIR"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "broker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()
        deadline = time.monotonic() + 30
        while "in-memory) ready at" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "ready at 127.0.0.1:" in line
        bootstrap = line.rsplit(" ", 1)[-1].strip()
        assert (tmp_path / "broker.addr").read_text().strip() == bootstrap
        assert tcp_reachable(bootstrap)
        children = subprocess.run(
            ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert not tcp_reachable(bootstrap, timeout=1.0)
        assert not (tmp_path / "broker.addr").exists()
        assert not [p for p in children if alive(int(p))]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_worker_stops_promptly_on_sigterm_even_after_the_broker_is_gone(
    tmp_path, start_worker, pipeline_env
):
    with EmbeddedBroker() as own:
        env = pipeline_env(FINPULSE_BROKER__URL=own.url)
        worker = start_worker(env)
    # The broker is gone; the worker is still retrying its connections.
    time.sleep(2)
    started = time.monotonic()
    os.killpg(worker.proc.pid, signal.SIGTERM)
    worker.proc.wait(timeout=30)
    assert time.monotonic() - started < 15, worker.output[-2000:]
