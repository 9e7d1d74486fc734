"""The poller's SSRF guard against real local HTTP servers (loopback only, no internet).

A public URL cannot be had offline, so the "public" redirector listens on 127.0.0.2 and the
tests allow exactly that address (``ingest.allow_networks``); the "internal" service it
redirects to listens on 127.0.0.1, the address a hostile feed would aim at.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import pytest
from click.testing import CliRunner

from foundation.schemas import Document
from foundation.settings import SourceSettings
from ingest.dedup import Deduplicator
from ingest.health import HealthBook
from ingest.poller import Pipeline, Poller
from ingest.sources import make_source
from ingest.url_guard import (
    AddressPolicy,
    BlockedAddress,
    GuardedBackend,
    guarded_client,
    why_blocked,
)

pytestmark = pytest.mark.integration

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>internal</title>'
    b"<item><title>Internal page about Coinbase shares</title>"
    b"<link>https://internal.example/1</link>"
    b"<pubDate>Tue, 08 Nov 2022 10:00:00 GMT</pubDate></item></channel></rss>"
)


class Server:
    """http.server on ``host``: ``/feed`` serves FEED, ``/to?u=URL`` redirects to URL."""

    def __init__(self, host: str) -> None:
        self.paths: list[str] = []
        self.hosts: list[str] = []
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                me.paths.append(self.path)
                me.hosts.append(self.headers.get("Host", ""))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if self.path.startswith("/to?u="):
                        self.send_response(302)
                        self.send_header("Location", self.path.removeprefix("/to?u="))
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(FEED)))
                    self.end_headers()
                    self.wfile.write(FEED)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def internal() -> Iterator[Server]:
    s = Server("127.0.0.1")
    yield s
    s.close()


@pytest.fixture
def public() -> Iterator[Server]:
    s = Server("127.0.0.2")
    yield s
    s.close()


class ListPublisher:
    def __init__(self) -> None:
        self.sent: list[Document] = []

    def publish(self, doc: Document) -> None:
        self.sent.append(doc)

    def flush(self, timeout: float = 60.0) -> None:
        return None


def poll(url: str, **opts: object) -> tuple[list[Document], str | None]:
    """Poll one source once, allowing 127.0.0.2 (the stand-in public host)."""
    src = make_source(SourceSettings(name="s", url=url, timeout_s=5, **opts))  # type: ignore[arg-type]
    pub = ListPublisher()
    pipe = Pipeline(pub, None, Deduplicator(1000), HealthBook())
    poller = Poller([src], pipe, rng=random.Random(1), allow_networks=["127.0.0.2/32"])
    asyncio.run(poller.run_once())
    return pub.sent, poller.health.counters("s").last_error


def test_loopback_source_is_refused_unless_allow_private(internal):
    docs, error = poll(f"{internal.base}/feed")
    assert docs == [] and internal.paths == []
    assert "refused to connect to 127.0.0.1: loopback address" in (error or "")
    docs, error = poll(f"{internal.base}/feed", allow_private=True)
    assert [d.title for d in docs] == ["Internal page about Coinbase shares"] and error is None


def test_redirect_to_loopback_is_refused_and_followed_only_when_allowed(public, internal):
    url = f"{public.base}/to?u={internal.base}/feed"
    docs, error = poll(url)
    assert public.paths == [f"/to?u={internal.base}/feed"]  # the first hop went out ...
    assert internal.paths == []  # ... the second never reached the internal service
    assert docs == [] and "loopback address" in (error or "")
    docs, error = poll(url, allow_private=True)
    assert internal.paths == ["/feed"] and len(docs) == 1 and error is None


def test_redirect_to_a_name_is_checked_on_its_resolved_address(public, internal):
    # "localhost" is not an address: what it resolves to (127.0.0.1) is what is checked.
    docs, error = poll(f"{public.base}/to?u=http://localhost:{internal.port}/feed")
    assert docs == [] and internal.paths == []
    assert "refused to connect to localhost (127.0.0.1): loopback address" in (error or "")


def test_metadata_address_is_refused_directly_and_after_a_redirect(public):
    meta = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    for url in (meta, f"{public.base}/to?u={meta}"):
        docs, error = poll(url)
        assert docs == []
        assert "169.254.169.254: link-local (cloud metadata) address" in (error or ""), error


def test_file_urls_only_for_local_sources(public, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_bytes(FEED)
    for url in (f"file://{feed}", str(feed), "file:///etc/shadow"):
        docs, error = poll(url)
        assert docs == [] and "only for a source marked local = true" in (error or "")
    docs, error = poll(f"file://{feed}", local=True)
    assert len(docs) == 1 and error is None
    # A redirect can never reach a file, whatever the source allows.
    docs, error = poll(f"{public.base}/to?u=file:///etc/passwd", allow_private=True, local=True)
    assert docs == [] and "UnsupportedProtocol" in (error or "")
    docs, error = poll("gopher://127.0.0.1:70/x", allow_private=True)
    assert "unsupported URL scheme 'gopher'" in (error or "")


def test_feeds_check_refuses_private_urls_without_the_flag(internal):
    from cli.main import main

    res = CliRunner().invoke(main, ["feeds", "check", f"{internal.base}/feed"])
    assert res.exit_code == 1 and "loopback address" in res.output and internal.paths == []
    res = CliRunner().invoke(main, ["feeds", "check", "--allow-private", f"{internal.base}/feed"])
    assert res.exit_code == 0 and "Internal page about Coinbase shares" in res.output


def test_connection_goes_to_the_checked_address_not_a_second_lookup(internal):
    # The resolver answers once; the name itself resolves nowhere in real DNS. A connection
    # that looked the name up again would fail, so success shows the checked address is used.
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "feed.invalid" else []

    async def get() -> tuple[int, str]:
        policy = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
        async with guarded_client(policy, resolve=resolve) as client:
            r = await client.get(f"http://feed.invalid:{internal.port}/feed")
            return r.status_code, r.text

    status, body = asyncio.run(get())
    assert status == 200 and "Internal page" in body
    assert internal.hosts == [f"feed.invalid:{internal.port}"]  # Host header keeps the name


def test_a_name_with_any_private_address_is_refused():
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]

    backend = GuardedBackend(AddressPolicy(), resolve=resolve)
    with pytest.raises(BlockedAddress, match=r"feed.example \(10.1.2.3\): private address"):
        asyncio.run(backend.connect_tcp("feed.example", 80))


def test_unresolvable_name_is_a_connect_error():
    backend = GuardedBackend(AddressPolicy())
    with pytest.raises(httpcore.ConnectError, match="cannot resolve"):
        asyncio.run(backend.connect_tcp("no-such-host.invalid", 80))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local (cloud metadata)"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.5", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "not globally routable"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("93.184.216.34", None),
        ("2606:4700::1", None),
    ],
)
def test_address_classes(address, reason):
    assert why_blocked(ipaddress.ip_address(address)) == reason
    if reason is None:
        AddressPolicy().check("h", address)  # public: allowed
    else:
        with pytest.raises(BlockedAddress):
            AddressPolicy().check("h", address)
        AddressPolicy(allow_private=True).check("h", address)


def test_bad_allow_networks_entry_is_a_config_error():
    from foundation.errors import ConfigError

    with pytest.raises(ConfigError, match=r"'10\.0\.0\.0/33' is not an IP network"):
        Poller(
            [],
            Pipeline(ListPublisher(), None, Deduplicator(1000), HealthBook()),
            allow_networks=["10.0.0.0/33"],
        )
