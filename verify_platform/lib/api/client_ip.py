"""The address a request came from, as far as this server can trust it.

Behind a reverse proxy REMOTE_ADDR is the proxy. X-Forwarded-For is believed only when
REMOTE_ADDR is one of VERIFY_TRUSTED_PROXIES, and then only up to the first address from the
right that is not a trusted proxy: everything left of it was written by the client and can
say anything.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _trusted() -> tuple[_Network, ...]:
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False)
        for p in settings.VERIFY_TRUSTED_PROXIES
        if p.strip()
    )


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs) -> None:
    if setting == "VERIFY_TRUSTED_PROXIES":
        _trusted.cache_clear()


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted())


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted(remote):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # garbage where an address should be: the proxy is all we know
    return remote
