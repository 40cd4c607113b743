"""The per-process authentication cache (services/auth_cache.py): a hit reads nothing, and
every change that can affect authentication still takes effect, in the process that made it
on its very next request, and in every other process once the announcement is read."""

from __future__ import annotations

import base64
import os
import signal
import time
import uuid

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from services import auth_cache, domain
from services.auth_cache import RECONNECT_FIRST_SECONDS, AuthCache
from services.models import Account, ApiKey
from services.queries import account_authenticate
from tests.helpers import assert_twilio_error
from verify_platform.lib import crypto

pytestmark = pytest.mark.django_db


class Clock:
    """The cache's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def until(condition, seconds: float = 2.0) -> bool:
    """Poll a condition with a deadline (a socket event that the kernel delivers on its own
    schedule), bounded in time and count."""
    deadline = time.monotonic() + seconds
    for _ in range(2000):
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return False


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def channel(settings) -> str:
    """Every test announces on a channel of its own; the process's cache is rebuilt for it."""
    name = f"test-auth-{uuid.uuid4().hex}"
    settings.VERIFY_AUTH_CACHE_CHANNEL = name
    return name


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_cache(channel, clock):
    made = []

    def make(**options) -> AuthCache:
        options = {
            "url": settings.REDIS_URL,
            "channel": channel,
            "ttl": 60,
            "clock": clock,
            "ping_seconds": 0,
            **options,
        }
        cache = AuthCache(**options)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()


@pytest.fixture
def process_cache(make_cache, monkeypatch):
    """A cache on the test's clock as this process's cache; `use(other)` swaps in another
    one, standing for another process."""

    def use(cache: AuthCache) -> AuthCache:
        monkeypatch.setattr(auth_cache, "_current", cache)
        return cache

    cache = use(make_cache())
    cache.use = use
    return cache


def authenticates(username: str, password: str, queries: int, assert_queries) -> Account | None:
    with assert_queries(queries):
        return account_authenticate(username=username, password=password)


# --- hits and misses ----------------------------------------------------------------------


def test_a_cached_success_reads_nothing(tenant, process_cache, django_assert_num_queries):
    first = authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    second = authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)
    assert first == second == tenant.account
    assert second.status == Account.Status.ACTIVE
    assert second.friendly_name == tenant.account.friendly_name
    # A new instance per request: what one request does to it reaches no other.
    third = account_authenticate(username=tenant.sid, password=tenant.auth_token)
    assert third is not second
    # Secrets are not carried on the cached instance; reading one is a query, not a copy.
    assert {"auth_token_digest", "auth_token_encrypted"} <= third.get_deferred_fields()


def test_an_api_request_with_a_cached_account_reads_only_its_resource(
    api, service, process_cache, django_assert_num_queries
):
    assert api.get(f"/v2/Services/{service.sid}").status_code == 200
    with django_assert_num_queries(1):  # the service, no account
        assert api.get(f"/v2/Services/{service.sid}").json()["sid"] == service.sid


def test_an_api_key_is_cached_with_its_account(tenant, process_cache, django_assert_num_queries):
    key, secret = domain.api_key_create(account=tenant.account)
    authenticates(key.sid, secret, 1, django_assert_num_queries)
    assert authenticates(key.sid, secret, 0, django_assert_num_queries) == tenant.account


def test_a_wrong_secret_for_a_cached_sid_is_checked_against_the_database(
    tenant, process_cache, django_assert_num_queries
):
    """A failure costs the read and comparison it always did, cached or not."""
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert authenticates(tenant.sid, "0" * 32, 1, django_assert_num_queries) is None
    # ... and leaves the right secret's entry in place.
    assert authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)


def test_unknown_sids_and_refused_rows_are_never_remembered(
    tenant, process_cache, django_assert_num_queries
):
    unknown = "AC" + "0" * 32
    for _ in range(2):
        assert authenticates(unknown, "x" * 32, 1, django_assert_num_queries) is None
    domain.account_set_status(account=tenant.account, status=Account.Status.SUSPENDED)
    for _ in range(2):
        assert authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries) is None
    assert process_cache._entries == {}


def test_a_key_created_after_failures_with_its_sid_works_at_once(
    tenant, process_cache, django_assert_num_queries
):
    key = ApiKey(account=tenant.account, secret_digest=crypto.secret_digest("s" * 32))
    assert authenticates(key.sid, "s" * 32, 1, django_assert_num_queries) is None  # no row yet
    key.save()
    assert authenticates(key.sid, "s" * 32, 1, django_assert_num_queries) == tenant.account


def test_a_read_that_began_before_an_invalidation_is_not_stored(tenant, make_cache):
    cache = make_cache()
    ticket = cache.begin()
    assert ticket is not None
    cache.invalidate([tenant.sid])  # the row changed while it was being read
    cache.store(ticket, tenant.sid, digest="d" * 64, account=tenant.account)
    assert cache.get(tenant.sid, cache.begin()) is None
    ticket = cache.begin()
    cache.store(ticket, tenant.sid, digest="d" * 64, account=tenant.account)
    assert cache.get(tenant.sid, cache.begin()).digest == "d" * 64


# --- time bound ---------------------------------------------------------------------------


def test_an_entry_expires_after_the_configured_seconds(
    tenant, process_cache, clock, django_assert_num_queries
):
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    clock.now += 59.9
    authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)
    clock.now += 0.1  # 60 s after the read
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)


@pytest.mark.parametrize("change", [{"VERIFY_AUTH_CACHE_SECONDS": 0}, {"REDIS_URL": ""}])
def test_off_with_zero_seconds_or_without_redis(
    tenant, settings, change, django_assert_num_queries
):
    for name, value in change.items():
        setattr(settings, name, value)
    assert auth_cache.current() is None
    for _ in range(2):
        authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)


def test_on_by_default_with_redis(settings, channel):
    cache = auth_cache.current()
    assert isinstance(cache, AuthCache)
    assert (cache.ttl, cache.channel, cache.url) == (60, channel, settings.REDIS_URL)


def test_warm_subscribes_before_the_first_request(tenant, process_cache, django_assert_num_queries):
    assert process_cache.connect_attempts == 0
    assert auth_cache.warm() is True
    assert process_cache.connect_attempts == 1
    # Subscribed already: the first request stores its row, the second reads nothing.
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)
    assert process_cache.connect_attempts == 1


def test_warm_is_false_when_off_or_unreachable(settings, channel, make_cache, process_cache):
    from scripts.testenv import free_port

    process_cache.use(make_cache(url=f"redis://127.0.0.1:{free_port()}/0", timeout=0.2))
    assert auth_cache.warm() is False
    settings.VERIFY_AUTH_CACHE_SECONDS = 0
    assert auth_cache.warm() is False


# --- the process that makes a change -------------------------------------------------------


def test_a_revoked_key_is_refused_on_the_very_next_request(tenant, process_cache):
    key, secret = domain.api_key_create(account=tenant.account)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(key.sid, secret))
    assert client.get("/v2/Services").status_code == 200
    assert client.get("/v2/Services").status_code == 200  # from the cache
    assert domain.api_key_revoke(api_key=key)
    assert_twilio_error(client.get("/v2/Services"), 401, 20003)


def test_a_suspended_account_is_refused_on_the_very_next_request(tenant, api, process_cache):
    key, secret = domain.api_key_create(account=tenant.account)
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=basic(key.sid, secret))
    for client in (api, with_key, api, with_key):
        assert client.get("/v2/Services").status_code == 200
    domain.account_set_status(account=tenant.account, status=Account.Status.SUSPENDED)
    assert_twilio_error(api.get("/v2/Services"), 401, 20003)
    assert_twilio_error(with_key.get("/v2/Services"), 401, 20003)  # its keys too


def test_a_rotated_token_stops_at_once_and_the_new_one_works_at_once(
    tenant, api, process_cache, django_assert_num_queries
):
    assert api.get("/v2/Services").status_code == 200
    token = domain.account_rotate_auth_token(account=tenant.account)
    assert process_cache._entries == {}
    assert_twilio_error(api.get("/v2/Services"), 401, 20003)
    # That refusal read the new row, which is what the cache holds now.
    assert authenticates(tenant.sid, token, 0, django_assert_num_queries) == tenant.account
    assert authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries) is None


def test_a_failed_authentication_on_a_cached_sid_is_still_throttled(
    tenant, api, settings, process_cache
):
    """SECURITY R16 is unchanged: the failure is counted like any other."""
    settings.VERIFY_AUTH_FAILURES_PER_MINUTE = 2
    address = f"198.18.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 254 + 1}"
    assert api.get("/v2/Services", REMOTE_ADDR=address).status_code == 200
    assert process_cache._entries  # the SID is cached
    wrong = basic(tenant.sid, "f" * 32)
    for _ in range(2):
        assert_twilio_error(
            APIClient().get("/v2/Services", HTTP_AUTHORIZATION=wrong, REMOTE_ADDR=address),
            401,
            20003,
        )
    assert_twilio_error(
        APIClient().get("/v2/Services", HTTP_AUTHORIZATION=wrong, REMOTE_ADDR=address), 429, 20429
    )


# --- the admin ----------------------------------------------------------------------------


@pytest.fixture
def operator(admin_client):
    return admin_client


def test_admin_actions_invalidate(operator, tenant, api, process_cache):
    key, secret = domain.api_key_create(account=tenant.account)
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=basic(key.sid, secret))
    assert with_key.get("/v2/Services").status_code == 200
    operator.post("/admin/services/apikey/", {"action": "revoke", "_selected_action": [key.sid]})
    assert_twilio_error(with_key.get("/v2/Services"), 401, 20003)

    assert api.get("/v2/Services").status_code == 200
    operator.post(
        "/admin/services/account/", {"action": "suspend", "_selected_action": [tenant.sid]}
    )
    assert_twilio_error(api.get("/v2/Services"), 401, 20003)


def test_admin_deletes_and_edits_invalidate(
    operator, tenant, other_tenant, process_cache, django_assert_num_queries
):
    key, secret = domain.api_key_create(account=tenant.account)
    authenticates(key.sid, secret, 1, django_assert_num_queries)
    response = operator.post(f"/admin/services/apikey/{key.sid}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert authenticates(key.sid, secret, 1, django_assert_num_queries) is None

    # A change form save (the friendly name) reaches the next request.
    authenticates(other_tenant.sid, other_tenant.auth_token, 1, django_assert_num_queries)
    operator.post(
        f"/admin/services/account/{other_tenant.sid}/change/",
        {"friendly_name": "Renamed", "api_keys-TOTAL_FORMS": 0, "api_keys-INITIAL_FORMS": 0},
    )
    assert Account.objects.get(pk=other_tenant.sid).friendly_name == "Renamed"
    renamed = authenticates(other_tenant.sid, other_tenant.auth_token, 1, django_assert_num_queries)
    assert renamed.friendly_name == "Renamed"

    # Deleting the account (its keys go with it).
    other_key, other_secret = domain.api_key_create(account=other_tenant.account)
    authenticates(other_key.sid, other_secret, 1, django_assert_num_queries)
    operator.post(f"/admin/services/account/{other_tenant.sid}/delete/", {"post": "yes"})
    assert not Account.objects.filter(pk=other_tenant.sid).exists()
    assert authenticates(other_key.sid, other_secret, 1, django_assert_num_queries) is None
    assert (
        authenticates(other_tenant.sid, other_tenant.auth_token, 1, django_assert_num_queries)
        is None
    )


# --- other processes ----------------------------------------------------------------------


def test_a_rotation_reaches_another_process_through_redis(
    tenant,
    make_cache,
    process_cache,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
):
    other = process_cache.use(make_cache())  # another process's cache, subscribed
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert other.get(tenant.sid, other.begin()) is not None

    process_cache.use(make_cache())  # this process makes the change
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        token = domain.account_rotate_auth_token(account=tenant.account)
    assert callbacks  # the announcement waits for the commit
    # The other process learns it from Redis alone.
    assert other.sync()
    assert other.get(tenant.sid, other.begin()) is None
    process_cache.use(other)
    assert authenticates(tenant.sid, token, 1, django_assert_num_queries) == tenant.account
    assert authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries) is None


def test_an_announcement_is_read_without_waiting(tenant, make_cache, channel):
    """The drain at the start of a request reads what has arrived, it does not ask."""
    cache = make_cache()
    ticket = cache.begin()
    cache.store(ticket, tenant.sid, digest="d" * 64, account=tenant.account)
    receivers = auth_cache.publish([tenant.sid])
    assert receivers >= 1  # acknowledged by Redis: delivered to the subscription
    assert until(lambda: cache.get(tenant.sid, cache.begin()) is None)
    assert cache.begin() is not None  # still subscribed


def test_an_account_announcement_drops_its_keys_elsewhere(
    tenant, make_cache, process_cache, django_assert_num_queries, django_capture_on_commit_callbacks
):
    key, secret = domain.api_key_create(account=tenant.account)
    other = process_cache.use(make_cache())
    authenticates(key.sid, secret, 1, django_assert_num_queries)
    process_cache.use(make_cache())
    with django_capture_on_commit_callbacks(execute=True):
        domain.account_set_status(account=tenant.account, status=Account.Status.SUSPENDED)
    assert other.sync()
    process_cache.use(other)
    assert authenticates(key.sid, secret, 1, django_assert_num_queries) is None


def test_an_admin_delete_reaches_another_process(
    operator, tenant, make_cache, process_cache, django_capture_on_commit_callbacks
):
    key, _ = domain.api_key_create(account=tenant.account)
    other = make_cache()
    ticket = other.begin()
    other.store(ticket, key.sid, digest="d" * 64, account=tenant.account)
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(f"/admin/services/apikey/{key.sid}/delete/", {"post": "yes"})
    assert other.sync()
    assert other.get(key.sid, other.begin()) is None


def test_nothing_is_announced_before_the_commit(tenant, make_cache, process_cache):
    """Inside the test's transaction the commit never comes: no other process hears of it
    (it could read the old row again), while this one already dropped its entry."""
    other = make_cache()
    ticket = other.begin()
    other.store(ticket, tenant.sid, digest="d" * 64, account=tenant.account)
    domain.account_rotate_auth_token(account=tenant.account)
    assert other.sync()
    assert other.get(tenant.sid, other.begin()) is not None


# --- failures of the subscription ---------------------------------------------------------


def _kill_subscription(cache: AuthCache) -> None:
    admin = redis.Redis.from_url(settings.REDIS_URL)
    try:
        (client,) = [c for c in admin.client_list() if c["name"] == cache.client_name]
        assert admin.client_kill_filter(_id=client["id"]) == 1
    finally:
        admin.close()


def test_a_broken_subscription_switches_the_cache_off_until_resubscribed(
    tenant, process_cache, clock, django_assert_num_queries
):
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)
    attempts = process_cache.connect_attempts

    _kill_subscription(process_cache)
    assert until(lambda: process_cache.begin() is None)  # the server's close is seen
    for _ in range(3):  # every request reads the database, nothing is stored
        authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert process_cache._entries == {}
    # Reconnection is tried again only after the back-off, not per request.
    assert process_cache.connect_attempts == attempts

    clock.now += RECONNECT_FIRST_SECONDS
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert process_cache.connect_attempts == attempts + 1
    authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)


def test_unreachable_redis_means_database_reads_and_bounded_attempts(
    tenant, make_cache, process_cache, clock, django_assert_num_queries
):
    from scripts.testenv import free_port

    cache = process_cache.use(make_cache(url=f"redis://127.0.0.1:{free_port()}/0", timeout=0.2))
    for _ in range(3):
        authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert cache.connect_attempts == 1
    clock.now += RECONNECT_FIRST_SECONDS
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert cache.connect_attempts == 2
    clock.now += RECONNECT_FIRST_SECONDS  # the back-off doubled: not yet
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert cache.connect_attempts == 2


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, to stop and freeze."""
    from scripts.testenv import Redis, ensure_installed

    _, binary = ensure_installed()
    server = Redis(binary, tmp_path)
    url = server.start()
    yield server, url
    if server.proc.poll() is None:
        os.kill(server.proc.pid, signal.SIGCONT)
    server.stop()


def test_a_silent_subscription_switches_the_cache_off(
    tenant, own_redis, make_cache, process_cache, clock, django_assert_num_queries
):
    """A partition closes no socket: an unanswered PING is how it is found."""
    server, url = own_redis
    cache = process_cache.use(make_cache(url=f"{url}/0", ping_seconds=5))
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    os.kill(server.proc.pid, signal.SIGSTOP)  # alive, silent
    clock.now += 5
    authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)  # PING sent
    clock.now += 5.1
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert cache._pubsub is None and cache._entries == {}


def test_a_stopped_redis_switches_the_cache_off(
    tenant, own_redis, make_cache, process_cache, django_assert_num_queries
):
    server, url = own_redis
    cache = process_cache.use(make_cache(url=f"{url}/0"))
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    server.stop()
    assert until(lambda: cache.begin() is None)
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)


def test_a_lost_announcement_is_bounded_by_the_seconds(
    tenant, make_cache, process_cache, clock, monkeypatch, django_assert_num_queries
):
    """The change commits but its announcement cannot be published: other processes keep
    the old row until the entry's time is up, and no longer."""
    from scripts.testenv import free_port

    other = process_cache.use(make_cache())
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    process_cache.use(make_cache())  # the changing process, whose Redis is unreachable
    unreachable = redis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2
    )
    monkeypatch.setattr(auth_cache, "_publisher", unreachable)
    assert auth_cache.publish([tenant.sid]) is None
    auth_cache._committed((tenant.sid,))
    assert other.sync()
    clock.now += 59
    assert other.begin() is not None
    assert other.get(tenant.sid, other.begin()) is not None
    clock.now += 1
    assert other.get(tenant.sid, other.begin()) is None


# --- processes ----------------------------------------------------------------------------


def test_a_forked_process_builds_its_own_cache(settings, channel):
    parent = auth_cache.current()
    assert isinstance(parent, AuthCache)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running anything of pytest's
        try:
            child = auth_cache.current()
            fresh = isinstance(child, AuthCache) and child is not parent
            os.write(write, b"fresh" if fresh and child._pubsub is None else b"shared")
        finally:
            os._exit(0)
    os.close(write)
    try:
        assert os.read(read, 16) == b"fresh"
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert auth_cache.current() is parent
