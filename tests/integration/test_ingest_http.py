"""The poller against a real local HTTP server: 304s, 500s, slow and oversized responses.

The server (http.server on 127.0.0.1, in a thread) records every request with its headers,
so the tests check what the poller actually sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from foundation.schemas import Document
from foundation.settings import SourceSettings
from foundation.store import Store, source_health
from ingest.dedup import Deduplicator
from ingest.health import HealthBook
from ingest.poller import Pipeline, Poller
from ingest.sources import make_source

pytestmark = pytest.mark.integration


def rss(prefix: str, n: int = 3) -> bytes:
    items = "".join(
        f"<item><title>{prefix} story number {i} about Coinbase shares</title>"
        f"<link>https://news.example/{prefix}/{i}?utm_source=rss</link>"
        f"<pubDate>Tue, 08 Nov 2022 1{i}:00:00 GMT</pubDate></item>"
        for i in range(n)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{prefix}</title>'
        f"<language>en-us</language>{items}</channel></rss>"
    ).encode()


class FeedServer:
    def __init__(self) -> None:
        self.requests: dict[str, list[dict[str, str]]] = defaultdict(list)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                server.requests[path].append({k.lower(): v for k, v in self.headers.items()})
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    getattr(server, "serve_" + path.strip("/").replace("-", "_"))(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @staticmethod
    def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k.replace("_", "-"), v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)

    def serve_ok(self, h):
        self.send(h, 200, rss("ok"), Content_Type="application/rss+xml")

    def serve_etag(self, h):
        etag, modified = '"v1"', "Tue, 08 Nov 2022 16:00:00 GMT"
        if h.headers.get("If-None-Match") == etag:
            self.send(h, 304, ETag=etag)
        else:
            self.send(h, 200, rss("etag"), ETag=etag, Last_Modified=modified)

    def serve_fail(self, h):
        self.send(h, 500, b"internal error")

    def serve_ratelimited(self, h):
        self.send(h, 429, b"slow down", Retry_After="120")

    def serve_slow(self, h):
        time.sleep(3.0)
        self.send(h, 200, rss("slow"))

    def serve_trickle(self, h):
        # Headers at once, then a byte at a time: only a whole-request timeout stops this.
        body = rss("trickle")
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for i in range(0, len(body), 8):
            h.wfile.write(body[i : i + 8])
            h.wfile.flush()
            time.sleep(0.2)

    def serve_big(self, h):
        self.send(h, 200, b"<rss>" + b"x" * 200_000 + b"</rss>")

    def serve_big_chunked(self, h):
        # No Content-Length: the limit must be enforced while streaming.
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"y" * 16_384
        for _ in range(20):
            h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")

    def serve_bozo(self, h):
        self.send(h, 200, rss("bozo")[:-30])  # truncated: the last item and the end tags

    def serve_reddit(self, h):
        self.send(h, 200, b'{"kind": "Listing", "data": {"children": []}}')


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


class ListPublisher:
    def __init__(self) -> None:
        self.sent: list[Document] = []

    def publish(self, doc: Document) -> None:
        self.sent.append(doc)

    def flush(self, timeout: float = 60.0) -> None:
        return None


def make_poller(server: FeedServer, names: dict[str, dict], user_agent: str = "finpulse-test/1"):
    sources = [
        make_source(
            # The fixture server is on loopback: allowed only for a source marked so.
            SourceSettings(name=name, url=f"{server.base}/{path}", allow_private=True, **opts),
            user_agent=user_agent,
        )
        for name, (path, opts) in ((n, (v.pop("path"), v)) for n, v in names.items())
    ]
    pub = ListPublisher()
    pipe = Pipeline(pub, None, Deduplicator(1000), HealthBook())
    return Poller(sources, pipe, rng=random.Random(3)), pub


def test_conditional_get_sends_etag_and_last_modified_and_304_publishes_nothing(server):
    poller, pub = make_poller(server, {"etag": {"path": "etag"}})
    src = poller.sources[0]

    async def two_polls():
        await poller.poll_once(src)
        await poller.poll_once(src)
        await poller.aclose()

    asyncio.run(two_polls())
    first, second = server.requests["/etag"]
    assert "if-none-match" not in first and "if-modified-since" not in first
    assert second["if-none-match"] == '"v1"'
    assert second["if-modified-since"] == "Tue, 08 Nov 2022 16:00:00 GMT"
    assert first["user-agent"] == "finpulse-test/1"
    assert len(pub.sent) == 3  # once, not again on the 304
    c = poller.health.counters("etag")
    assert (c.polls, c.not_modified, c.published, c.errors) == (2, 1, 3, 0)
    assert pub.sent[0].link.endswith("/etag/0")  # tracking parameter gone


def test_500s_back_off_exponentially_with_jitter_up_to_the_cap(server):
    poller, _ = make_poller(
        server, {"fail": {"path": "fail", "backoff_base_s": 10, "backoff_max_s": 100}}
    )
    src = poller.sources[0]

    async def polls():
        out = [await poller.poll_once(src) for _ in range(7)]
        await poller.aclose()
        return out

    delays = asyncio.run(polls())
    for n, d in enumerate(delays, start=1):
        raw = min(100.0, 10.0 * 2 ** (n - 1))
        assert raw / 2 <= d <= raw, (n, d)
    assert delays[3] > delays[0] * 2  # it grows ...
    assert max(delays) <= 100  # ... to the cap
    assert len({round(d, 3) for d in delays[4:]}) > 1  # capped, yet still jittered
    c = poller.health.counters("fail")
    assert c.errors == 7 and "HTTP 500" in (c.last_error or "")
    assert poller.states["fail"].failures == 7


def test_retry_after_is_honoured(server):
    poller, _ = make_poller(server, {"rl": {"path": "ratelimited", "backoff_base_s": 1}})
    delay = asyncio.run(poller.run_once())["rl"]
    assert 120 <= delay <= 3600
    assert "HTTP 429" in (poller.health.counters("rl").last_error or "")


def test_slow_oversized_and_failing_sources_do_not_affect_the_others(server):
    poller, pub = make_poller(
        server,
        {
            "ok": {"path": "ok"},
            "slow": {"path": "slow", "timeout_s": 0.5},
            "trickle": {"path": "trickle", "timeout_s": 1.0},
            "big": {"path": "big", "max_bytes": 50_000},
            "big-chunked": {"path": "big-chunked", "max_bytes": 100_000},
            "fail": {"path": "fail"},
            "bozo": {"path": "bozo"},
            "down": {"path": "ok"},  # replaced below with a closed port
        },
    )
    poller.sources[-1].settings = poller.sources[-1].settings.model_copy(
        update={"url": "http://127.0.0.1:9/feed", "timeout_s": 2.0}
    )
    started = time.monotonic()
    delays = asyncio.run(poller.run_once())
    elapsed = time.monotonic() - started
    assert elapsed < 10  # the slow ones were cut off at their timeouts
    ok_titles = [d.title for d in pub.sent if d.source == "ok"]
    assert ok_titles == [f"ok story number {i} about Coinbase shares" for i in range(3)]
    h = poller.health
    assert h.counters("ok").published == 3 and h.counters("ok").errors == 0
    # A truncated feed is a success with what could be read, its parse error recorded.
    bozo = h.counters("bozo")
    assert bozo.errors == 0 and bozo.published >= 2
    assert (bozo.last_error or "").startswith("warning: malformed feed")
    errors = {n: h.counters(n).last_error or "" for n in delays if n not in ("ok", "bozo")}
    assert "timed out after 0.5 s" in errors["slow"]
    assert "timed out after 1 s" in errors["trickle"]
    assert "over the limit of 50000" in errors["big"]
    assert "over the limit of 100000" in errors["big-chunked"]
    assert "HTTP 500" in errors["fail"]
    assert "ConnectError" in errors["down"]
    assert all(h.counters(n).errors == 1 for n in errors)
    assert delays["ok"] == pytest.approx(300, rel=0.06)  # the regular interval
    assert all(delays[n] <= 30 for n in errors)  # first backoff step (base 30 s)


def test_run_loop_keeps_polling_good_sources_and_writes_health(server, tmp_path):
    poller, pub = make_poller(
        server,
        {
            "ok": {"path": "etag", "interval_s": 0.2},
            "fail": {"path": "fail", "interval_s": 0.2, "backoff_base_s": 0.4},
        },
    )
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")

    async def run_for(seconds: float) -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await poller.run(stop, health_every_s=0.5, store=store)

    asyncio.run(run_for(4.0))
    ok_hits, fail_hits = len(server.requests["/etag"]), len(server.requests["/fail"])
    assert ok_hits >= 8  # every 0.2 s (304s after the first)
    assert 2 <= fail_hits <= 6  # 0.2-0.4, 0.4-0.8, 0.8-1.6, 1.6-3.2 s apart
    assert len(pub.sent) == 3
    with store.engine.connect() as conn:
        rows = {r["source"]: r for r in conn.execute(select(source_health)).mappings()}
    assert rows["ok"]["published"] == 3 and rows["ok"]["errors"] == 0
    assert rows["ok"]["last_success"] is not None
    assert rows["fail"]["errors"] == fail_hits and "HTTP 500" in rows["fail"]["last_error"]
    # A restart continues the counts instead of starting from zero.
    again = HealthBook()
    again.load(store)
    assert again.counters("fail").errors == fail_hits


def test_requests_to_one_host_are_spaced_for_reddit(server, monkeypatch):
    from ingest.sources.reddit import RedditSource

    monkeypatch.setattr(RedditSource, "host_interval_s", 0.5)
    poller, _ = make_poller(
        server,
        {f"r{i}": {"path": "reddit", "kind": "reddit"} for i in range(3)},
        user_agent="finpulse/0.1 (+https://github.com/finpulse/finpulse)",
    )
    started = datetime.now(UTC)
    asyncio.run(poller.run_once())
    assert (datetime.now(UTC) - started).total_seconds() >= 1.0  # 3 requests, 0.5 s apart
    assert all(r["user-agent"].startswith("finpulse/") for r in server.requests["/reddit"])


def test_feeds_check_on_a_url(server):
    import json

    from click.testing import CliRunner

    from cli.main import main

    res = CliRunner().invoke(
        main, ["feeds", "check", "--json", "--allow-private", f"{server.base}/ok"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["kind"] == "rss" and out["count"] == 3 and out["problems"] == []
    assert server.requests["/ok"][0]["user-agent"].startswith("finpulse/")
    res = CliRunner().invoke(
        main, ["feeds", "check", "--allow-private", "--timeout", "0.5", f"{server.base}/slow"]
    )
    assert res.exit_code == 1 and "fetch failed: timed out after 0.5 s" in res.output
    res = CliRunner().invoke(main, ["feeds", "check", "--allow-private", f"{server.base}/fail"])
    assert res.exit_code == 1 and "HTTP 500" in res.output
