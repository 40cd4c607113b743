"""Request metrics: one histogram observation per request, by method, route and status.

The route is the URL pattern that matched (`v2/Services/<sid:service_sid>/Verifications`),
never the raw path, so the number of series is bounded by the URLconf whatever clients
send; a request that matched no pattern (refused before routing, or unknown) is
`unmatched`. Methods outside HTTP's usual set are `other` for the same reason.

The per-request cost is two clock reads, a dict lookup of the histogram child for the
(method, route, status) triple and one observation (tests/test_metrics_overhead.py measures
it): the children are kept here because `labels()` validates and locks on every call.
"""

from __future__ import annotations

import time

from verify_platform.lib.metrics import HTTP_REQUEST_SECONDS

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.children: dict[tuple[str, str, int], object] = {}

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        method = request.method if request.method in _METHODS else "other"
        key = (method, match.route if match is not None else "unmatched", response.status_code)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = self.child(*key)
        child.observe(time.perf_counter() - started)
        return response

    @staticmethod
    def child(method: str, route: str, status: int):
        """The histogram of one (method, route, status): bounded labels."""
        return HTTP_REQUEST_SECONDS.labels(method, route, status)
