"""Failed authentications per client address: 429 past the limit (SECURITY R16), only for
that address, never for correct credentials; X-Forwarded-For believed only from trusted
proxies."""

from __future__ import annotations

import base64
import secrets

import pytest
from rest_framework.test import APIClient

from tests.helpers import assert_twilio_error

pytestmark = pytest.mark.django_db

LIMIT = 3
PROXY = "10.9.8.7"


@pytest.fixture
def throttled(settings):
    settings.VERIFY_AUTH_FAILURES_PER_MINUTE = LIMIT
    settings.VERIFY_TRUSTED_PROXIES = [f"{PROXY}/32"]


def address() -> str:
    """Counters live in the real Redis for a minute: every test counts under new addresses."""
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def get(client: APIClient, basic: str, **meta: str):
    return client.get("/v2/Services", HTTP_AUTHORIZATION=basic, **meta)


def wrong(tenant) -> str:
    raw = f"{tenant.account.sid}:{secrets.token_hex(16)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def test_past_the_limit_an_address_gets_429_and_others_do_not(throttled, tenant):
    client, mine, theirs = APIClient(), address(), address()
    for _ in range(LIMIT):
        assert get(client, wrong(tenant), REMOTE_ADDR=mine).status_code == 401
    refused = get(client, wrong(tenant), REMOTE_ADDR=mine)
    assert_twilio_error(refused, 429, 20429)
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert get(client, wrong(tenant), REMOTE_ADDR=theirs).status_code == 401
    # The right secret is never refused: it proves more than an address does.
    assert get(client, tenant.basic(), REMOTE_ADDR=mine).status_code == 200


def test_malformed_headers_count_as_failures(throttled):
    client, mine = APIClient(), address()
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic Og=="):
        assert get(client, header, REMOTE_ADDR=mine).status_code == 401
    assert_twilio_error(get(client, "Basic !!!", REMOTE_ADDR=mine), 429, 20429)


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count(throttled, tenant):
    client, first, second = APIClient(), address(), address()
    for _ in range(LIMIT + 1):
        last = get(
            client, wrong(tenant), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {first}"
        )
    assert_twilio_error(last, 429, 20429)
    # Another client through the same proxy, and a spoofed left-most entry, are not blocked.
    other = get(client, wrong(tenant), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{first}, {second}")
    assert other.status_code == 401


def test_forwarded_for_from_an_untrusted_peer_is_ignored(throttled, tenant):
    client, peer = APIClient(), address()
    for i in range(LIMIT):
        # A different claimed client each time: all counted against the peer itself.
        response = get(client, wrong(tenant), REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=address())
        assert response.status_code == 401, i
    assert_twilio_error(
        get(client, wrong(tenant), REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=address()), 429, 20429
    )


def test_unreachable_counters_leave_the_answer_401(throttled, tenant, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # discard port: nothing listens
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    client, mine = APIClient(), address()
    for _ in range(LIMIT + 2):
        assert get(client, wrong(tenant), REMOTE_ADDR=mine).status_code == 401
