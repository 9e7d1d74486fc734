"""A receiver down for a while, another up: how late each gets its notifications.

    PYTHONPATH=$PWD python bench/delivery_outage.py [--down-s 10] [--alerts 50] [--cap-s 1]

Prints, for the sink that stayed up, the largest delay from enqueue to arrival, and for the
one that was down, the time from its coming up to its last notification, and whether each
got every notification once, firing before resolved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from foundation.kafka.broker import free_port
from foundation.schemas import Alert
from foundation.settings import SinkSettings
from foundation.store import Store
from monitor.core.lifecycle import fingerprint
from monitor.stream.delivery import Deliverer


class Receiver:
    def __init__(self, port: int) -> None:
        self.port, self.got, outer = port, [], self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for a in body["alerts"]:
                    outer.got.append(
                        (a.get("scope") or a["labels"]["scope"], a["status"], time.monotonic())
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.H = H

    def start(self) -> None:
        self.srv = ThreadingHTTPServer(("127.0.0.1", self.port), self.H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


def alert(i: int, status: str) -> Alert:
    t0 = datetime(2023, 3, 10, 15, tzinfo=UTC)
    at = t0 + timedelta(minutes=i + (30 if status == "resolved" else 0))
    return Alert(
        fingerprint=fingerprint("negative_surge", "ticker", f"T{i}"),
        rule="negative_surge",
        scope_kind="ticker",
        scope=f"T{i}",
        status=status,  # type: ignore[arg-type]
        starts_at=t0,
        ends_at=at if status == "resolved" else None,
        updated_at=at,
    )


async def main(down_s: float, n: int, cap_s: float) -> None:
    down, up = Receiver(free_port()), Receiver(free_port())
    up.start()
    timer = threading.Timer(down_s, down.start)
    common = {"max_per_minute": 6000, "backoff_base_s": 0.2, "backoff_max_s": cap_s, "timeout_s": 2}
    sinks = [
        SinkSettings(name="down", kind="webhook", url=f"http://127.0.0.1:{down.port}/", **common),
        SinkSettings(name="up", kind="alertmanager", url=f"http://127.0.0.1:{up.port}/", **common),
    ]
    store = Store(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    d = Deliverer(sinks, store, env={}, poll_s=0.5)
    task = asyncio.ensure_future(d.run())
    t0 = time.monotonic()
    timer.start()
    sent: dict[tuple[str, str], float] = {}
    step = down_s * 0.8 / (2 * n)
    for i in range(n):  # spread over 80 % of the outage: firing, later resolved
        for status in ("firing", "resolved"):
            a = alert(i, status)
            sent[(a.scope, status)] = time.monotonic()
            await d.enqueue([a])
            await asyncio.sleep(step)
    while len(down.got) < 2 * n and time.monotonic() - t0 < down_s + 10 * cap_s + 30:
        await asyncio.sleep(0.05)
    d.stop()
    await task
    await d.aclose()
    for name, r in (("up", up), ("down", down)):
        keys = [(s, st) for s, st, _ in r.got]
        once = sorted(keys) == sorted(sent)
        ordered = all(keys.index((s, "firing")) < keys.index((s, "resolved")) for s, _ in sent)
        print(f"{name}: {len(keys)} notifications, every one once: {once}, firing first: {ordered}")
    lag = max(at - sent[(s, st)] for s, st, at in up.got)
    drain = max(at for *_, at in down.got) - (t0 + down_s)
    print(f"sink that stayed up: max enqueue-to-arrival {lag:.2f} s")
    print(
        f"sink down {down_s:.0f} s (backoff cap {cap_s} s): "
        f"all delivered {drain:.2f} s after it came up"
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--down-s", type=float, default=10.0)
    p.add_argument("--alerts", type=int, default=50)
    p.add_argument("--cap-s", type=float, default=1.0)
    a = p.parse_args()
    asyncio.run(main(a.down_s, a.alerts, a.cap_s))
