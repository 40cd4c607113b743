"""Which addresses a webhook may call: the one rule, applied when a URL is stored and again,
on the very answer the connection uses, when it is called.

A webhook URL is chosen by a tenant, so without a check it is a way to make our workers
send requests into our own network (databases, metadata services, admin ports). Unless the
operator sets `ALLOW_PRIVATE_ADDRESSES` (`VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES`, never
implied by DEBUG), every address the host resolves to must be globally routable unicast,
and a name under a suffix that only ever names private hosts (`.internal`, `.local`,
`.localhost`, `.home.arpa`) is refused even when it does not resolve here. A URL with
credentials is always refused: they would be sent to the host and kept in the delivery log.

Stored (`url_problem`, from the API's form): the name is resolved and every address judged,
so a tenant learns at once, with the reason, that a URL will never be called. A name that
does not resolve yet is accepted; what it resolves to is judged when it is called.

Called: checking a name and then letting the HTTP client resolve it again is not enough: a
hostile DNS server can answer a public address to the check and 127.0.0.1 to the
connection (DNS rebinding). So the host is resolved once, per connection, by `connect`
below, which checks every address of that answer (IPv4 and IPv6) and connects only to
those addresses; the HTTP layer (`services.webhooks.transport`) still speaks to the host
name, so the Host header, TLS SNI and certificate verification are those of the URL.

Every lookup goes through `resolver` (default `socket.getaddrinfo`, looked up at call time),
the seam a caller or test can give another answer through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from urllib3.util.connection import allowed_gai_family

from services.webhooks import conf

AddrInfo = tuple[Any, ...]  # one entry of socket.getaddrinfo()
Resolver = Callable[..., list[AddrInfo]]  # socket.getaddrinfo's signature


class DestinationRefusedError(Exception):
    """The host resolves to an address we do not call, or its name is one we never call.
    Not an OSError on purpose: the HTTP layers treat those as network faults (retried);
    this is permanent. `reason` says why in words a tenant can act on."""

    def __init__(self, host: str, address: str | None = None, reason: str = "") -> None:
        if not reason and address is not None:
            kind = _address_kind(address)
            if _is_literal(host):
                reason = f"{host} is {kind}"
            else:
                reason = f"{host} resolves to {address}, {kind}"
        super().__init__(reason or f"{host} is not a public destination")
        self.host, self.address = host, address
        self.reason = str(self)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


# Not globally reachable, though the `ipaddress` of older Pythons calls them global.
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(net)
    for net in (
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation (RFC 8215)
        "5f00::/16",  # SRv6 segment identifiers (RFC 9602)
        "3fff::/20",  # documentation (RFC 9637)
    )
)
# Well-known NAT64 prefix: the last 32 bits are the IPv4 address the translator reaches.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _global_unicast(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not any(ip in net for net in _NOT_GLOBAL if net.version == ip.version)
    )


def address_allowed(address: str) -> bool:
    """Globally routable unicast only. An IPv4-mapped IPv6 address is judged as its IPv4
    address; a NAT64 or 6to4 address also by the IPv4 address it leads to (64:ff9b::a00:1
    is 10.0.0.1 behind a NAT64 gateway)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _global_unicast(ip.ipv4_mapped)
        if ip in _NAT64:  # inside ::/8, which `is_reserved` refuses as a whole
            return _global_unicast(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None and not _global_unicast(ip.sixtofour):
            return False
    return _global_unicast(ip)


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """What a refused address is, named after the rule that refuses it."""
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip == _BROADCAST:
        return "the broadcast address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip in _SHARED:
        return "a shared address (carrier-grade NAT, 100.64.0.0/10)"
    if ip.version == 6 and ip in _UNIQUE_LOCAL:
        return "a unique local (private) address"
    if ip.is_private:
        return "a private address"
    return "not a public address"


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")


def _address_kind(address: str) -> str:
    """The kind of a refused address; one behind an IPv6 form (mapped, NAT64, 6to4) is
    named with that form."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"an IPv4-mapped form of {_kind(ip.ipv4_mapped)}"
        if ip in _NAT64:
            return f"a NAT64 form of {_kind(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))}"
        if ip.sixtofour is not None and not _global_unicast(ip.sixtofour):
            return f"a 6to4 form of {_kind(ip.sixtofour)}"
    return _kind(ip)


def address_problem(address: str) -> str | None:
    """Why `address` is not called ("10.0.0.1 is a private address"), or None."""
    return None if address_allowed(address) else f"{address} is {_address_kind(address)}"


# Names that only ever lead to private hosts: RFC 6761 (localhost), RFC 6762 (local,
# multicast DNS), RFC 8375 (home.arpa), and ICANN's 2024 reservation of `internal` for
# private use (metadata.google.internal).
_PRIVATE_SUFFIXES = ("localhost", "local", "internal", "home.arpa")


def host_problem(host: str) -> str | None:
    """Why the name `host` is never called whatever it resolves to (None: judge its
    addresses)."""
    name = host.rstrip(".").lower()
    for suffix in _PRIVATE_SUFFIXES:
        if name == suffix or name.endswith("." + suffix):
            return f"{host} is a private host name (.{suffix})"
    return None


def resolve(host: str, port: int | None, *, resolver: Resolver | None = None) -> list[AddrInfo]:
    """The addresses to connect to, every one of them checked. Raises socket.gaierror when
    the name does not resolve, DestinationRefusedError when any address is not allowed (a
    name that also points inward is refused whole, whichever address would be tried first)
    or when the name is a private one (resolved or not)."""
    allow_private = conf.get("ALLOW_PRIVATE_ADDRESSES")
    lookup = resolver or socket.getaddrinfo
    try:
        infos = lookup(host, port, allowed_gai_family(), socket.SOCK_STREAM)
        if not infos:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
    except UnicodeError as exc:  # a label the IDNA codec refuses: no such name
        raise socket.gaierror(socket.EAI_NONAME, f"invalid host name: {exc}") from exc
    except OSError:
        if not allow_private and (reason := host_problem(host)):
            raise DestinationRefusedError(host, reason=reason) from None
        raise
    if not allow_private:
        for info in infos:
            if not address_allowed(info[4][0]):
                raise DestinationRefusedError(host, info[4][0])
        if reason := host_problem(host):
            raise DestinationRefusedError(host, reason=reason)
    return infos


def url_problem(url: str, *, resolver: Resolver | None = None) -> str | None:
    """Why a webhook URL (already an absolute http(s) URL) may not be stored, or None.

    Credentials are always refused. Then, unless private destinations are allowed, the
    host is resolved now and refused for any address or name that `resolve` refuses; a
    name that does not resolve (yet) is accepted, and judged again at every call."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "credentials (user:password@) are not allowed in the URL"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    try:
        port = parts.port
    except ValueError:
        return "the port is not valid"
    if conf.get("ALLOW_PRIVATE_ADDRESSES"):
        return None
    try:
        resolve(host, port, resolver=resolver)
    except DestinationRefusedError as exc:
        return exc.reason
    except OSError:
        return None
    return None


def connect(
    host: str,
    port: int,
    *,
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
    socket_options: list[tuple[int, int, int | bytes]] | None = None,
    resolver: Resolver | None = None,
) -> socket.socket:
    """A TCP connection to one of the checked addresses of `host`, tried in the resolver's
    order; never a second lookup."""
    error: OSError | None = None
    for family, socktype, proto, _canonname, sockaddr in resolve(host, port, resolver=resolver):
        sock = None
        try:
            sock = socket.socket(family, socktype, proto)
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            if sock is not None:
                sock.close()
    assert error is not None  # resolve() never returns an empty list
    raise error


def destination_allowed(url: str) -> bool:
    """Whether the URL's host resolves to allowed addresses now (a name that does not
    resolve is not refused: the send fails as a network error and is retried)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    try:
        resolve(parts.hostname, parts.port)
    except DestinationRefusedError:
        return False
    except OSError:
        return True
    return True
