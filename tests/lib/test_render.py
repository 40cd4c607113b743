"""`render` must render exactly what a fresh DRF serializer renders, for whichever request
(and thread) it is given."""

from __future__ import annotations

import threading

import pytest
from rest_framework.test import APIRequestFactory

from services.api.serializers import ServiceSerializer
from verify_platform.lib.api.views import render

pytestmark = pytest.mark.django_db


def test_render_matches_a_fresh_serializer_per_request(service, settings):
    settings.ALLOWED_HOSTS = ["*"]
    factory = APIRequestFactory()
    for host in ("a.example.com", "b.example.com"):
        request = factory.get("/", HTTP_HOST=host)
        fresh = ServiceSerializer(service, context={"request": request}).data
        assert render(ServiceSerializer, service, request) == fresh
        assert render(ServiceSerializer, service, request)["url"].startswith(f"http://{host}/")


def test_render_is_per_thread(service, settings):
    settings.ALLOWED_HOSTS = ["*"]
    factory = APIRequestFactory()
    results: dict[str, str] = {}
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        request = factory.get("/", HTTP_HOST=f"h{i}.example.com")
        barrier.wait(timeout=10)
        for _ in range(50):
            url = render(ServiceSerializer, service, request)["url"]
            if not url.startswith(f"http://h{i}.example.com/"):
                results[str(i)] = url
                return
        results[str(i)] = "ok"

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {str(i): "ok" for i in range(8)}
