"""A whole call is bounded, not only each read: a receiver that answers a byte at a time
cannot hold a worker past its lease (then another worker would send the event again)."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from django.test import override_settings

from services.models import WebhookDelivery
from services.webhooks import delivery
from tests.webhooks.conftest import factor_verified_payload, make_webhook, record
from verify_platform.lib import sids

pytestmark = pytest.mark.django_db(transaction=True)

SETTINGS = {
    "CONNECT_TIMEOUT": 1.0,
    "READ_TIMEOUT": 1.0,  # each byte comes well within it
    "TOTAL_TIMEOUT": 0.6,
    "RETRY_BASE_SECONDS": 10.0,
    "DISABLE_AFTER_FAILURES": 1000,
    "ALLOW_PRIVATE_ADDRESSES": True,  # the receiver is on loopback
}


class Dribbler:
    """An endpoint on 127.0.0.1 that sends its answer's headers one byte every 0.1 s, for at
    most 4 s, then finishes the answer (a 200)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]
        self.cut_short = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(40):
                    if self.stop.wait(0.1):
                        return
                    conn.sendall(b"a")
                conn.sendall(b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                self.cut_short.set()  # the sender went away mid-answer

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.server.close()


@pytest.fixture
def dribbler():
    d = Dribbler()
    yield d
    d.close()


def test_a_dribbling_receiver_is_cut_off_at_the_total_timeout(service, dribbler):
    make_webhook(service, f"http://127.0.0.1:{dribbler.port}/hook")
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    row = WebhookDelivery.objects.get(event=event)

    with override_settings(VERIFY_WEBHOOKS=SETTINGS):
        outcome = delivery.delivery_attempt(delivery_id=row.pk)

    row.refresh_from_db()
    assert (outcome, row.last_error, row.last_status_code) == ("pending", "timeout", None)
    assert dribbler.cut_short.wait(5)  # the connection was closed under the receiver


def test_the_lease_outlasts_the_total_timeout(service):
    make_webhook(service, "http://127.0.0.1:9/unused")
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    settings = {**SETTINGS, "LEASE_SECONDS": 5.0, "TOTAL_TIMEOUT": 45.0}
    with override_settings(VERIFY_WEBHOOKS=settings):
        claimed = delivery.delivery_claim(delivery_id=WebhookDelivery.objects.get(event=event).pk)
    assert claimed.lease_expires_at - claimed.last_attempt_at >= timedelta(seconds=45)
