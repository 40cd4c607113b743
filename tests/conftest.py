"""Shared fixtures. The suite runs only against the real PostgreSQL and Redis that
`make test` (scripts/testenv.py) starts, the one database the platform runs on."""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


def pytest_configure(config: pytest.Config) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise pytest.UsageError(
            "The suite needs the PostgreSQL and Redis that `make test` starts "
            "(or DATABASE_URL/REDIS_URL pointing at your own)."
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """The live server's request threads live as long as the SDK's keep-alive connections;
    with persistent DB connections they would still hold the test database at teardown."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def _auth_failures_uncounted(settings):
    """Every test client comes from 127.0.0.1, so failed-authentication counts would carry
    from test to test; tests/test_auth_throttle.py switches the count on with addresses of
    its own."""
    settings.VERIFY_AUTH_FAILURES_PER_MINUTE = 0


@pytest.fixture(autouse=True)
def _clock_measured(monkeypatch):
    """The clock re-measures its offset to PostgreSQL once a minute, in whichever statement
    block needs the time next; a test that counts statements must not catch that one. Each
    test starts with a fresh measurement of the (same-machine, zero) offset;
    tests/lib/test_clock.py measures for real."""
    from verify_platform.lib import clock

    monkeypatch.setattr(clock, "_offset", timedelta(0))
    monkeypatch.setattr(clock, "_measured_at", time.monotonic())


@dataclass
class Tenant:
    account: object
    auth_token: str

    @property
    def sid(self) -> str:
        return self.account.sid

    def basic(self) -> str:
        raw = f"{self.account.sid}:{self.auth_token}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def make_tenant(name: str = "Tenant") -> Tenant:
    from services import domain

    account, token = domain.account_create(friendly_name=name)
    return Tenant(account=account, auth_token=token)


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant("Tenant A")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant("Tenant B")


def api_client(tenant: Tenant | None) -> APIClient:
    client = APIClient()
    if tenant is not None:
        client.credentials(HTTP_AUTHORIZATION=tenant.basic())
    return client


@pytest.fixture
def api(tenant) -> APIClient:
    """Django's in-process test client, authenticated as `tenant`; posts form-encoded."""
    return api_client(tenant)


@pytest.fixture
def other_api(other_tenant) -> APIClient:
    return api_client(other_tenant)


@pytest.fixture
def service(tenant):
    from services import domain

    return domain.service_create(account=tenant.account, friendly_name="Acme Login")


def sdk_for(base_url: str, username: str, password: str):
    """The official `twilio` SDK pointed at our server (wire reference, section 6 A)."""
    from twilio.rest import Client

    client = Client(username, password)
    client.edge = client.region = None
    client.verify.base_url = base_url
    return client.verify.v2


@pytest.fixture
def sdk(live_server, tenant):
    return sdk_for(live_server.url, tenant.account.sid, tenant.auth_token)


@pytest.fixture
def other_sdk(live_server, other_tenant):
    return sdk_for(live_server.url, other_tenant.account.sid, other_tenant.auth_token)
