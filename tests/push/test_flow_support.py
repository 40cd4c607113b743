"""Shared pieces of the end-to-end Verify Push tests (tests/push/test_flow_*.py).

The backend side is the official `twilio` SDK against `live_server`; the app side is the
reference device (examples/push_device/) over HTTP, speaking Twilio's mobile SDK protocol;
notifications leave through a real Celery worker to the fake FCM server on loopback, and
webhooks reach a receiver on loopback. This module holds no tests of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from examples.push_device import Device, FactorRecord
from tests.push_fakes import FakeFCM, Received
from tests.push_support import fcm_credential, worker_env
from tests.webhooks import worker as webhook_worker
from tests.webhooks.conftest import Receiver
from tests.worker import wait_for

IDENTITY = "ff483d1ff591898a9942916050d2ca3f"
OTHER_IDENTITY = "0e6f1f0b6c1b4bb0a2c0f6d5d3a1e9c7"
FCM_TOKEN = "fcm-registration-token-" + "a1b2c3d4" * 4
DETAILS_MESSAGE = "Approve login from Chrome on macOS?"
DETAILS_FIELDS = [
    {"label": "Location", "value": "Paris, France"},
    {"label": "IP", "value": "203.0.113.7"},
]
HIDDEN = {"session": "hidden-session-8c1d", "risk": "hidden-risk-low"}


@pytest.fixture(scope="module")
def fcm_fake() -> Iterator[FakeFCM]:
    """Firebase's token endpoint and HTTP v1 send API on loopback, checking what arrives."""
    with FakeFCM() as fake:
        yield fake


@pytest.fixture(scope="module")
def push_worker(django_db_setup, django_db_blocker, tmp_path_factory, fcm_fake):
    """A real Celery worker (prefork, one child) sending pushes to the fake and webhooks to
    loopback receivers, with the webhook tests' short retry settings."""
    log = tmp_path_factory.mktemp("push-worker") / "worker.log"
    worker = webhook_worker.Worker(log, env=worker_env(fcm=fcm_fake))
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """The backend's webhook endpoint on loopback; the API stores such a URL only when the
    operator allows private destinations (the worker is told so by the webhook WORKER_ENV)."""
    settings.VERIFY_WEBHOOKS = {**settings.VERIFY_WEBHOOKS, "ALLOW_PRIVATE_ADDRESSES": True}
    r = Receiver()
    r.start()
    yield r
    r.stop()


@dataclass
class Backend:
    """The tenant's backend: the `twilio` SDK on one service."""

    sdk: Any
    service_sid: str
    account_sid: str
    auth_token: str

    def service(self) -> Any:
        return self.sdk.services(self.service_sid)

    def entity(self, identity: str = IDENTITY) -> Any:
        return self.service().entities(identity)

    def access_token(self, identity: str = IDENTITY, **kwargs: Any) -> Any:
        return self.service().access_tokens.create(
            identity=identity, factor_type="push", factor_friendly_name="Alice's phone", **kwargs
        )

    def challenge(self, factor_sid: str, identity: str = IDENTITY, **kwargs: Any) -> Any:
        """A push challenge with details and hidden details, as a login page would make."""
        options: dict[str, Any] = {
            "details_message": DETAILS_MESSAGE,
            "details_fields": DETAILS_FIELDS,
            "hidden_details": HIDDEN,
        }
        options.update(kwargs)
        return self.entity(identity).challenges.create(factor_sid=factor_sid, **options)

    def webhook(self, url: str) -> Any:
        return self.service().webhooks.create(
            friendly_name="Backend",
            event_types=["factor.verified", "challenge.approved", "challenge.denied"],
            webhook_url=url,
        )


@pytest.fixture
def backend(sdk, tenant, fcm_fake) -> Backend:
    """A service whose FCM credential is known to the fake, created through the SDK."""
    credential = fcm_credential(tenant.account, fcm_fake)
    service = sdk.services.create(
        friendly_name="Acme Login", push_fcm_credential_sid=credential.sid
    )
    return Backend(sdk, service.sid, tenant.sid, tenant.auth_token)


def pushes(fake: FakeFCM, challenge_sid: str, count: int = 1) -> list[Received]:
    """The first `count` sends the fake got for this challenge (bounded wait)."""

    def arrived() -> list[Received] | None:
        found = [
            r
            for r in list(fake.requests)
            if isinstance(r.json, dict)
            and r.json.get("message", {}).get("data", {}).get("challenge_sid") == challenge_sid
        ]
        return found[:count] if len(found) >= count else None

    return wait_for(arrived, timeout=30, what=f"{count} push(es) of {challenge_sid}")


def new_device(tmp_path: Path, name: str = "phone") -> Device:
    return Device(tmp_path / f"{name}.json")


def enrol(
    backend: Backend,
    device: Device,
    base_url: str,
    *,
    identity: str = IDENTITY,
    notification_token: str | None = FCM_TOKEN,
    verify: bool = True,
) -> FactorRecord:
    """Access token from the backend, factor created and (by default) verified by the device."""
    token = backend.access_token(identity)
    record = device.enrol(
        base_url=base_url,
        service_sid=token.service_sid,
        identity=token.entity_identity,
        access_token=token.token,
        friendly_name=token.factor_friendly_name or "Alice's phone",
        notification_platform="fcm",
        notification_token=notification_token,
    )
    if verify:
        assert device.verify(record.sid)["status"] == "verified"
    return record


def form_params(body: str) -> dict[str, str]:
    return dict(parse_qsl(body, keep_blank_values=True))


def as_json(value: Any) -> Any:
    """A webhook parameter that carries JSON (challenge_details), decoded."""
    return json.loads(value) if isinstance(value, str) else value
