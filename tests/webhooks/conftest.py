"""Fixtures for the webhook tests: a real HTTP receiver on loopback with scripted answers,
and helpers that write events the way the factor and verification engines do."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from verify_platform.lib import sids

IDENTITY = "ff483d1ff591898a9942916050d2ca3f"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: threading.Event | None = None  # hold the response until set (bounded)
    on_request: Callable[[], None] | None = None  # runs when the request arrives


class Receiver:
    """A tenant's endpoint: records every request and answers from a script (then 200)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[Answer] = deque()
        self.port = 0
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/verify?tenant=a"

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                with receiver._cond:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = receiver.script.popleft() if receiver.script else Answer()
                    receiver._cond.notify_all()
                if answer.on_request is not None:
                    answer.on_request()
                if answer.hang is not None:
                    answer.hang.wait(10)
                payload = answer.body.encode()
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (timeout) before the answer

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.received) >= count, timeout)
        assert ok, f"expected {count} requests, got {len(self.received)}"
        return list(self.received)


@pytest.fixture
def receiver():
    r = Receiver()
    r.start()
    yield r
    r.stop()


def wait_until(predicate, *, timeout: float = 20.0, interval: float = 0.05, what: str = ""):
    """Poll a condition with a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


def make_webhook(service, url: str, event_types=("*",), **kwargs):
    from services.webhooks import domain

    webhook, secret = domain.webhook_create(
        service=service,
        friendly_name="Backend",
        event_types=list(event_types),
        webhook_url=url,
        **kwargs,
    )
    return webhook, secret


def factor_verified_payload(factor: str | None = None) -> dict:
    return {
        "entity_identity": IDENTITY,
        "factor_sid": factor or sids.factor_sid(),
        "factor_type": "totp",
        "factor_friendly_name": "Alice's phone",
        "status": "verified",
        "updated_date": "2026-11-22T02:40:00Z",
    }


def challenge_approved_payload(factor: str, challenge: str) -> dict:
    return {
        "entity_identity": IDENTITY,
        "factor_sid": factor,
        "factor_type": "totp",
        "challenge_sid": challenge,
        "challenge_details": {"message": "Login from Paris", "fields": []},
        "status": "approved",
    }


def record(service, type: str, resource_sid: str, payload: dict):
    """Write an event as a transition does: inside its transaction."""
    from services.domain import event_record

    with transaction.atomic():
        return event_record(service=service, type=type, resource_sid=resource_sid, payload=payload)


@pytest.fixture
def enqueued(monkeypatch):
    """The ids of each enqueue that would reach the broker, recorded instead."""
    from services.webhooks.enqueue import WEBHOOK_DELIVER

    calls: list[list[int]] = []

    def recorded(name, args, eta=None, **options):
        assert name == WEBHOOK_DELIVER
        calls.append(args[0])

    monkeypatch.setattr("services.webhooks.enqueue.current_app.send_task", recorded)
    return calls
