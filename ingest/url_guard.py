"""SSRF guard for the poller: what a feed URL may make finpulse connect to.

A feed URL comes from configuration, but the server behind it chooses where its redirects go,
and a name's DNS answer can change between a check and the connection. So the rule is applied
where the socket is opened: every TCP connection the poller's HTTP client makes (the first
request and every redirect hop) resolves the host once, refuses the connection if *any* of
its addresses is not public (loopback, private, link-local including the cloud metadata
address 169.254.169.254, multicast, reserved, unspecified, shared/CGNAT), and connects to the
address it checked, never to a second lookup.

A source marked ``allow_private = true`` skips the address rule (an intranet feed); networks
listed in ``ingest.allow_networks`` are allowed for every source. Only http and https are
fetched over the network; ``file://`` and plain paths are read only for sources marked
``local = true`` (see :func:`ingest.poller.fetch`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import certifi
import httpcore
import httpx

from foundation.errors import ConfigError, SourceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

FETCH_SCHEMES = ("http", "https")
MAX_REDIRECTS = 5


class BlockedAddress(SourceError):
    """A feed URL (or a redirect hop) leads to an address the poller may not connect to."""


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``ingest.allow_networks`` entries as networks; ConfigError names a bad one."""
    out: list[IPNetwork] = []
    for v in values:
        try:
            out.append(ipaddress.ip_network(v, strict=False))
        except ValueError:
            raise ConfigError(f"ingest.allow_networks: {v!r} is not an IP network") from None
    return tuple(out)


def why_blocked(ip: IPAddress) -> str | None:
    """The kind of non-public address ``ip`` is, or None when it is a public unicast one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)" if str(ip) == "169.254.169.254" else "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which resolved addresses a connection may go to."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def check(self, host: str, address: str) -> None:
        """Raise BlockedAddress when ``address`` (resolved from ``host``) is not allowed."""
        if self.allow_private:
            return
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        if any(ip in net for net in self.allowed_networks):
            return
        reason = why_blocked(ip)
        if reason is not None:
            shown = host if host == address else f"{host} ({address})"
            raise BlockedAddress(
                f"refused to connect to {shown}: {reason} address "
                "(set allow_private = true on the source to allow it)"
            )


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    seen: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        if addr not in seen:
            seen.append(addr)
    return seen


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves, checks every address, then connects to a checked one."""

    def __init__(
        self,
        policy: AddressPolicy,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolve: Resolver = system_resolve,
    ) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()
        self.resolve = resolve

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolve(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        # All of them: a name with one public and one private record is refused, since which
        # one a later connection would pick is not ours to know.
        for address in addresses:
            self.policy.check(host, address)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a :class:`GuardedBackend` (TLS still checks the URL's name)."""

    def __init__(self, policy: AddressPolicy, resolve: Resolver = system_resolve) -> None:
        super().__init__(trust_env=False)
        # The pool is rebuilt with the guarded backend; SNI and certificate checks use the
        # URL's host name, so connecting by the checked address changes nothing for TLS.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            network_backend=GuardedBackend(policy, resolve=resolve),
        )


def guarded_client(
    policy: AddressPolicy,
    *,
    timeout: float = 30.0,
    resolve: Resolver = system_resolve,
) -> httpx.AsyncClient:
    """An HTTP client for feeds: redirects followed (at most 5), each hop through the guard.

    Environment proxies (HTTP_PROXY...) are not used: a proxy would hide the destination from
    the guard.
    """
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolve),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=timeout,
    )


def policy_for(allow_private: bool, allow_networks: Sequence[str] = ()) -> AddressPolicy:
    return AddressPolicy(allow_private, parse_networks(allow_networks))
