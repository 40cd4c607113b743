"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: restart it if not."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure means "not ready"
        logger.warning("readiness: database unavailable", exc_info=True)
        return False


def _broker_ok() -> bool:
    # A fresh connection each time: a pooled one could report a broker that died since.
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # any failure means "not ready"
        logger.warning("readiness: broker unavailable", exc_info=True)
        return False


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachable: send traffic here."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


# The probe paths, answered by `ProbeMiddleware` (the URLconf serves them too, for clients
# that reach the URL resolver).
PROBES = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """Answers the probes before any other middleware, whatever the Host header.

    An orchestrator's probe comes from inside the container or the cluster and addresses the
    server by its IP (`http://127.0.0.1:8000/readyz`), a name ALLOWED_HOSTS has no reason to
    hold; through CommonMiddleware, Django's host validation answers it 400 and the service
    never becomes healthy. Host validation guards the URLs Django builds from the Host
    header; the probes build none and answer fixed JSON, so skipping it for them gives
    nothing away. First in MIDDLEWARE, so that probes every few seconds do not fill the
    request log either. One dictionary look-up for every other request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
