"""Which addresses a webhook may call, decided on the very answer the connection uses.

A webhook URL is chosen by a tenant, so without a check it is a way to make our workers
send requests into our own network (databases, metadata services, admin ports). Unless
`ALLOW_PRIVATE_ADDRESSES` is set (development, tests), every address the host resolves to
must be globally routable.

Checking a name and then letting the HTTP client resolve it again is not enough: a hostile
DNS server can answer a public address to the check and 127.0.0.1 to the connection (DNS
rebinding). So the host is resolved once, per connection, by `connect` below, which checks
every address of that answer (IPv4 and IPv6) and connects only to those addresses; the HTTP
layer (`services.webhooks.transport`) still speaks to the host name, so the Host header, TLS
SNI and certificate verification are those of the URL.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from urllib3.util.connection import allowed_gai_family

from services.webhooks import conf

AddrInfo = tuple[Any, ...]  # one entry of socket.getaddrinfo()


class DestinationRefusedError(Exception):
    """The host resolves to an address we do not call. Not an OSError on purpose: the HTTP
    layers treat those as network faults (retried); this is permanent."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to a non-public address")
        self.host, self.address = host, address


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


def resolve(host: str, port: int | None) -> list[AddrInfo]:
    """The addresses to connect to, every one of them checked. Raises socket.gaierror when
    the name does not resolve, DestinationRefusedError when any address is not allowed (a
    name that also points inward is refused whole, whichever address would be tried first)."""
    try:
        infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    except UnicodeError as exc:  # a label the IDNA codec refuses: no such name
        raise socket.gaierror(socket.EAI_NONAME, f"invalid host name: {exc}") from exc
    if not infos:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    if not conf.get("ALLOW_PRIVATE_ADDRESSES"):
        for info in infos:
            if not address_allowed(info[4][0]):
                raise DestinationRefusedError(host, info[4][0])
    return infos


def connect(
    host: str,
    port: int,
    *,
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
    socket_options: list[tuple[int, int, int | bytes]] | None = None,
) -> socket.socket:
    """A TCP connection to one of the checked addresses of `host`, tried in the resolver's
    order; never a second lookup."""
    error: OSError | None = None
    for family, socktype, proto, _canonname, sockaddr in resolve(host, port):
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
