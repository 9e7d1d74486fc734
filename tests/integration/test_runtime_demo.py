"""``finpulse demo`` offline: documents reach the dashboard, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def test_demo_shows_documents_then_ctrl_c_stops_everything(tmp_path, unused_port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env.update(
        FINPULSE_DATA_DIR=str(tmp_path / ".finpulse"),
        FINPULSE_STORE__URL=f"sqlite:///{tmp_path / '.finpulse' / 'finpulse.db'}",
        FINPULSE_MODEL__PATH="baseline",
        FINPULSE_METRICS__WORKER_PORT="0",
        FINPULSE_METRICS__INGEST_PORT="0",
        PYTHONUNBUFFERED="1",
    )
    log = (tmp_path / "demo.log").open("wb")
    started = time.monotonic()
    demo = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "demo", "--replay", "--port", str(unused_port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{unused_port}/api/documents"
    seen: list = []
    pids: set[int] = set()
    try:
        while time.monotonic() - started < 90 and demo.poll() is None:
            pids |= children_of(demo.pid)
            try:
                seen = httpx.get(url, params={"limit": 20}, timeout=3).json()
            except (httpx.HTTPError, ValueError):
                seen = []
            if seen:
                break
            time.sleep(1)
        took = time.monotonic() - started
        output = (tmp_path / "demo.log").read_text(errors="replace")
        assert seen, f"no documents on the dashboard after {took:.0f} s:\n{output[-3000:]}"
        print(f"documents on the dashboard {took:.1f} s after `finpulse demo` started")
        assert all(d["source"] == "twitter-financial-news (demo sample)" for d in seen)
        pids |= children_of(demo.pid)
        assert len(pids) >= 4  # broker, worker, dashboard, ingest
        for prefix in ("[broker]", "[worker]", "[dashboard]", "[ingest]", "[demo] dashboard: "):
            assert prefix in output

        demo.send_signal(signal.SIGINT)  # what Ctrl-C delivers
        assert demo.wait(timeout=60) == 0
        assert "all processes stopped" in (tmp_path / "demo.log").read_text()
        left = [p for p in pids if alive(p)]
        assert not left, f"left running: {left}"
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
        for p in pids:
            if alive(p):
                os.kill(p, signal.SIGKILL)
        log.close()
