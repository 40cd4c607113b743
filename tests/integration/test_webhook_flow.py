"""Factors, challenges and webhooks together: a TOTP flow through the official SDK, its
events delivered by a real Celery worker to a receiver on loopback.

The worker's read timeout is raised for this module (30 s instead of the webhook tests' 2 s)
so that a receiver which holds a request keeps the worker's only child busy on it for the
whole flow: the API answering meanwhile is then the proof that no request waits on a
webhook, without measuring any time.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import pyotp
import pytest
from django.http import QueryDict
from standardwebhooks.webhooks import Webhook as StandardWebhook
from twilio.request_validator import RequestValidator

from services.models import WebhookDelivery
from tests.webhooks import worker as worker_module
from tests.webhooks.conftest import Receiver, wait_until

IDENTITY = "integration-user-0001"
HOLD_LIMIT = 30.0  # the most a held request waits for the test (the worker's read timeout)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.usefixtures("celery_worker"),
]


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """The webhook tests' worker, with a read timeout longer than any hold in this module."""
    env = {"VERIFY_WEBHOOK_READ_TIMEOUT": str(int(HOLD_LIMIT))}
    with mock.patch.dict(worker_module.WORKER_ENV, env):
        worker = worker_module.Worker(tmp_path_factory.mktemp("worker") / "worker.log")
        worker.start()
    yield worker
    worker.stop()


@dataclass
class Got:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.body, keep_blank_values=True))


@dataclass
class HoldingReceiver:
    """Answers 200 to every request, but only once `release()` was called: until then each
    request is held open (at most HOLD_LIMIT seconds)."""

    received: list[Got] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _held: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/verify?tenant=a"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                with receiver._cond:
                    receiver.received.append(
                        Got(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    receiver._held += 1
                    receiver._cond.notify_all()
                receiver.gate.wait(HOLD_LIMIT)
                with receiver._cond:
                    receiver._held -= 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        self.gate.set()

    def holding(self) -> int:
        with self._cond:
            return self._held

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Got]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.received) >= count, timeout)
        assert ok, f"expected {count} requests, got {len(self.received)}"
        return list(self.received)

    def stop(self) -> None:
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture(autouse=True)
def private_receivers_allowed(settings):
    """The receivers are on loopback: the API stores their URLs only when the operator
    allows private destinations (the worker is told so by WORKER_ENV)."""
    settings.VERIFY_WEBHOOKS = {**settings.VERIFY_WEBHOOKS, "ALLOW_PRIVATE_ADDRESSES": True}


@pytest.fixture
def holding_receiver():
    r = HoldingReceiver()
    r.start()
    yield r
    r.stop()


@dataclass
class Flow:
    """What the SDK flow produced, and every secret value it saw."""

    factor_sid: str
    approved_sid: str
    denied_sid: str
    secrets: list[str]  # seed, key URI, webhook signing secret
    codes: list[str]  # every code submitted, right or wrong


def create_webhook(sdk, service_sid: str, url: str) -> str:
    """Through the SDK; the signing secret (an extension field the SDK's instance does not
    keep) is read from the raw response of that same call, kept by a custom HTTP client."""
    from channels.adapters.twilio import AnswerKeepingHttpClient

    keeping = sdk.domain.twilio.http_client = AnswerKeepingHttpClient()
    hook = sdk.services(service_sid).webhooks.create(
        friendly_name="Backend", event_types=["*"], webhook_url=url
    )
    assert hook.sid.startswith("YW") and hook.event_types == ["*"]
    raw = keeping.last_answer
    secret = json.loads(raw.text)["signing_secret"]
    assert secret.startswith("whsec_")
    return secret


def run_totp_flow(sdk, service_sid: str) -> Flow:
    """Enrol, verify, approve a challenge, deny one after 5 wrong codes, delete the factor."""
    entity = sdk.services(service_sid).entities(IDENTITY)
    new = entity.new_factors.create(friendly_name="Alice's phone", factor_type="totp")
    seed, uri = new.binding["secret"], new.binding["uri"]
    otp = pyotp.TOTP(seed)
    now = time.time()
    enrol_code = otp.at(now)
    assert entity.factors(new.sid).update(auth_payload=enrol_code).status == "verified"

    # T+1 is accepted whether the server is still in step T or already in T+1.
    approve_code = otp.at(now + 30)
    approved = entity.challenges.create(
        factor_sid=new.sid,
        auth_payload=approve_code,
        details_message="Login from Paris",
        hidden_details={"ip": "203.0.113.7"},
    )
    assert approved.status == "approved"

    valid = {otp.at(now + d) for d in range(-90, 120, 30)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in valid)
    denied = entity.challenges.create(factor_sid=new.sid, details_message="Login from Oslo")
    for _ in range(4):
        assert entity.challenges(denied.sid).update(auth_payload=wrong).status == "pending"
    assert entity.challenges(denied.sid).update(auth_payload=wrong).status == "denied"

    assert entity.factors(new.sid).delete() is True
    return Flow(
        factor_sid=new.sid,
        approved_sid=approved.sid,
        denied_sid=denied.sid,
        secrets=[seed, uri],
        codes=[enrol_code, approve_code, wrong],
    )


EXPECTED = [
    ("factor.created", "factor"),
    ("factor.verified", "factor"),
    ("challenge.approved", "approved"),
    ("challenge.denied", "denied"),
    ("factor.deleted", "factor"),
]


def assert_deliveries(got: list[Got], flow: Flow, *, url: str, auth_token: str, secret: str):
    resource = {
        "factor": flow.factor_sid,
        "approved": flow.approved_sid,
        "denied": flow.denied_sid,
    }
    expected = sorted((type_, resource[which]) for type_, which in EXPECTED)
    seen = sorted((g.params["type"], resource_of(g)) for g in got)
    assert seen == expected, seen
    # Exactly once each: one request per event id.
    assert len({g.params["uuid"] for g in got}) == len(got) == len(EXPECTED)

    # In order per resource: the factor's three events arrive as they happened.
    factor_types = [g.params["type"] for g in got if resource_of(g) == flow.factor_sid]
    assert factor_types == ["factor.created", "factor.verified", "factor.deleted"]

    validator = RequestValidator(auth_token)
    for g in got:
        assert g.path == f"{urlsplit(url).path}?{urlsplit(url).query}"
        assert validator.validate(url, QueryDict(g.body), g.headers["x-twilio-signature"]), g
        StandardWebhook(secret).verify(g.body, g.headers, json_parse=False)
        assert g.headers["webhook-id"] == g.params["uuid"]
        assert_nothing_secret(g, flow, secret=secret, auth_token=auth_token)

    by_type = {g.params["type"]: g.params for g in got}
    assert by_type["challenge.approved"]["challenge_sid"] == flow.approved_sid
    assert by_type["challenge.approved"]["status"] == "approved"
    assert by_type["challenge.denied"]["status"] == "denied"
    assert by_type["factor.verified"]["status"] == "verified"
    assert by_type["factor.deleted"]["status"] == "deleted"
    assert all(p["entity_identity"] == IDENTITY for p in by_type.values())


def resource_of(g: Got) -> str:
    params = g.params
    return params.get("challenge_sid") or params["factor_sid"]


def assert_nothing_secret(g: Got, flow: Flow, *, secret: str, auth_token: str) -> None:
    """No seed, key URI, code, signing secret or auth token in any header or parameter."""
    everything = "\n".join([g.path, *g.headers.values(), g.body, unquote_plus(g.body)])
    for value in [*flow.secrets, secret, auth_token]:
        assert value.lower() not in everything.lower(), "a secret travelled in a webhook"
    for code in flow.codes:
        # A code as a whole number (timestamps and SIDs may contain the digits by chance).
        assert not re.search(rf"(?<![0-9]){code}(?![0-9])", everything), code
    names = {name.lower() for name in g.params}
    assert not names & {"secret", "binding", "code", "auth_payload", "uri"}, names


def test_totp_flow_delivers_every_event_signed_in_order_without_secrets(tenant, sdk, live_server):
    receiver = Receiver()
    receiver.start()
    try:
        svc = sdk.services.create(friendly_name="Acme Login")
        secret = create_webhook(sdk, svc.sid, receiver.url)
        flow = run_totp_flow(sdk, svc.sid)
        raw = receiver.wait_for(len(EXPECTED), timeout=30)
        got = [Got(r.path, r.headers, r.body) for r in raw]
        assert_deliveries(got, flow, url=receiver.url, auth_token=tenant.auth_token, secret=secret)
        # Every delivery is recorded as succeeded, each at its first attempt.
        rows = wait_until(
            lambda: (
                list(WebhookDelivery.objects.filter(status="succeeded"))
                if WebhookDelivery.objects.filter(status="succeeded").count() == len(EXPECTED)
                else None
            ),
            what="deliveries recorded",
        )
        assert all(row.attempts == 1 for row in rows)
        assert WebhookDelivery.objects.count() == len(EXPECTED)
    finally:
        receiver.stop()


def test_a_receiver_that_holds_every_request_never_slows_the_api(
    tenant, sdk, live_server, holding_receiver
):
    svc = sdk.services.create(friendly_name="Acme Login")
    secret = create_webhook(sdk, svc.sid, holding_receiver.url)
    entity = sdk.services(svc.sid).entities(IDENTITY)
    # The first event reaches the receiver, which holds it: the worker's only child now
    # waits on that request.
    first = entity.new_factors.create(friendly_name="Warm-up", factor_type="totp")
    entity.factors(first.sid).delete()
    holding_receiver.wait_for(1)
    assert holding_receiver.holding() == 1

    flow = run_totp_flow(sdk, svc.sid)

    # The whole flow was answered while the first delivery is still held, and nothing else
    # reached the receiver meanwhile: no API request waited for a delivery.
    assert holding_receiver.holding() == 1 and not holding_receiver.gate.is_set()
    assert len(holding_receiver.received) == 1
    assert holding_receiver.received[0].params["type"] == "factor.created"
    assert holding_receiver.received[0].params["factor_sid"] == first.sid

    holding_receiver.release()
    got = holding_receiver.wait_for(2 + len(EXPECTED))
    warm_up = [g for g in got if g.params["factor_sid"] == first.sid]
    assert [g.params["type"] for g in warm_up] == ["factor.created", "factor.deleted"]
    rest = [g for g in got if g.params["factor_sid"] != first.sid]
    assert_deliveries(
        rest, flow, url=holding_receiver.url, auth_token=tenant.auth_token, secret=secret
    )
    wait_until(
        lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 2 + len(EXPECTED),
        what="every delivery recorded as succeeded",
    )
    # Released, not timed out: each was delivered at its first attempt.
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
