"""Which hosts a webhook may call.

A webhook URL is chosen by a tenant, so without a check it is a way to make our workers
send requests into our own network (databases, metadata services, admin ports). Unless
`ALLOW_PRIVATE_ADDRESSES` is set (development, tests), every address the host resolves to
must be globally routable. The check runs just before each send, since DNS answers change;
a resolver that answers differently between this check and the connection is not covered.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from services.webhooks import conf


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def destination_allowed(url: str) -> bool:
    if conf.get("ALLOW_PRIVATE_ADDRESSES"):
        return True
    host = urlsplit(url).hostname
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return True  # nothing to connect to; the send fails as a network error and retries
    return bool(infos) and all(_is_public(info[4][0]) for info in infos)
