"""One HTTP client per provider per process, kept open: APNs wants a long-lived HTTP/2
connection (opening one per notification is treated as a denial of service), and both
providers are faster over a warm connection. Celery's prefork children each build their own
at first use (nothing is created before the fork)."""

from __future__ import annotations

import functools
import threading

import httpx
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_lock = threading.Lock()


@functools.cache
def _client(kind: str, timeout: float) -> httpx.Client:
    # APNs speaks only HTTP/2: `http1=False` also lets a plain-text (test) URL be spoken to
    # with HTTP/2 prior knowledge. FCM answers HTTP/1.1 or HTTP/2 (ALPN decides on TLS).
    if kind == "apns":
        return httpx.Client(http1=False, http2=True, timeout=timeout)
    return httpx.Client(http2=True, timeout=timeout)


def client(kind: str) -> httpx.Client:
    with _lock:
        return _client(kind, float(settings.VERIFY_PUSH["TIMEOUT"]))


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs) -> None:
    if setting == "VERIFY_PUSH":
        with _lock:
            _client.cache_clear()
