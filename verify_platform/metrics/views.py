"""`/metrics`: what this API process tree counted, in Prometheus' text format.

Readable only from the configured networks (`VERIFY_METRICS["ALLOWED_NETWORKS"]`, loopback by
default; the client address as `verify_platform.lib.api.client_ip` trusts it, so a client
behind a trusted proxy is judged by its own address) or with `Authorization: Bearer <token>`
(`VERIFY_METRICS["TOKEN"]`, compared in constant time). Anyone else gets the 404 every
unknown path gets, in Twilio's shape: the endpoint's existence is not revealed.

Under gunicorn (PROMETHEUS_MULTIPROC_DIR set) the answer merges every worker's file, the
files of workers that have exited included, so one scrape sees the whole server whichever
worker answers it.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from verify_platform.lib import metrics
from verify_platform.lib.api.client_ip import client_ip
from verify_platform.lib.api.exceptions import error_response
from verify_platform.lib.errors import MethodNotAllowed, NotFound
from verify_platform.metrics.collectors import WebhookBacklogCollector

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks() -> tuple[_Network, ...]:
    return tuple(
        ipaddress.ip_network(n.strip(), strict=False)
        for n in settings.VERIFY_METRICS["ALLOWED_NETWORKS"]
        if n.strip()
    )


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs) -> None:
    if setting == "VERIFY_METRICS":
        _networks.cache_clear()


def allowed(request: HttpRequest) -> bool:
    """A valid bearer token, or a client address inside an allowed network."""
    token = settings.VERIFY_METRICS["TOKEN"]
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if (
        token
        and header[:7].lower() == "bearer "
        and hmac.compare_digest(header[7:].strip().encode(), token.encode())
    ):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in _networks())


@functools.cache
def _registries() -> tuple[CollectorRegistry, CollectorRegistry]:
    """(the counted metrics, the scrape-time collectors). In multiprocess mode the counted
    ones are merged from the directory's files; otherwise they are this process's own."""
    if metrics.MULTIPROCESS:
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    live = CollectorRegistry()
    live.register(WebhookBacklogCollector())
    return counted, live


@csrf_exempt
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return error_response(NotFound(request.path))
    if request.method not in ("GET", "HEAD"):
        return error_response(MethodNotAllowed())
    # Prometheus' classic text format (0.0.4), which every Prometheus version scrapes; the
    # names are plain, so prometheus_client's output is that format.
    counted, live = _registries()
    body = generate_latest(counted) + generate_latest(live)
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
