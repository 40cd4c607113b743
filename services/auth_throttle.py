"""Failed authentications counted per client address (SECURITY R16, ASVS 2.2.1).

Secrets are 128+ random bits, so the count protects against noise and credential stuffing
rather than against guessing one secret: past the limit a client gets 429 (20429) with
Retry-After instead of 401. Only failures are counted, so a correct request costs nothing
here and is never refused: the right secret proves more than an address does. When the
counters cannot be reached the answer stays a 401 (fail open): refusing every client
because Redis is down would turn a counter outage into an API outage.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request

from verify_platform.lib import meter, metrics
from verify_platform.lib.api.client_ip import client_ip
from verify_platform.lib.errors import TooManyRequests
from verify_platform.lib.meter import MeterUnavailable

logger = logging.getLogger("verify_platform.auth")
WINDOW_SECONDS = 60


def auth_failure_record(request: HttpRequest | Request) -> None:
    """Count this failure; raises TooManyRequests when the address is over the limit. Only
    the request's META is read (a DRF Request hands it through to its HttpRequest)."""
    limit = settings.VERIFY_AUTH_FAILURES_PER_MINUTE
    if limit <= 0:
        return
    address = client_ip(request) or "unknown"
    try:
        (hit,) = meter.hit([(f"authfail:{address}", WINDOW_SECONDS)])
    except MeterUnavailable:
        return
    if hit.count > limit:
        if hit.count == limit + 1:
            logger.warning("failed authentications over the limit address=%s", address)
        metrics.refused("auth_throttle")
        raise TooManyRequests(retry_after=hit.seconds_left)
