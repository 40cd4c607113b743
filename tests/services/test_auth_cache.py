"""The authentication cache (services/auth_cache.py): a miss reads the database and fills the
shared cache, a hit reads nothing from the database, and every change that can affect
authentication deletes the entry in Redis, where every process looks, so the very next
request anywhere sees it."""

from __future__ import annotations

import base64
import logging
import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from rest_framework.test import APIClient

from scripts.testenv import free_port
from services import auth_cache, domain
from services.models import Account, ApiKey
from services.queries import account_authenticate
from tests.helpers import assert_twilio_error
from verify_platform.lib import crypto

pytestmark = pytest.mark.django_db

SECRET_FIELDS = {"auth_token_digest", "auth_token_encrypted"}


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def key_client(key: ApiKey, secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(key.sid, secret))
    return client


def authenticates(username: str, password: str, queries: int, assert_queries) -> Account | None:
    with assert_queries(queries):
        return account_authenticate(username=username, password=password)


def entry(sid: str):
    """What every process would read for this SID, straight from Redis."""
    return caches["default"].get(auth_cache._entry_key(sid))


def generation(sid: str) -> str | None:
    return caches["default"].get(auth_cache._generation_key(sid))


@pytest.fixture
def raw_redis():
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def redis_unreachable(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


@pytest.fixture
def operator(admin_client):
    return admin_client


# --- misses and hits ----------------------------------------------------------------------


def test_a_miss_reads_the_database_and_fills_and_a_hit_reads_nothing(
    tenant, django_assert_num_queries
):
    assert entry(tenant.sid) is None
    first = authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert entry(tenant.sid) is not None
    second = authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)
    assert first == second == tenant.account
    for name in auth_cache.ACCOUNT_FIELDS:
        assert getattr(second, name) == getattr(tenant.account, name), name
    # A new instance per request: what one request does to it reaches no other.
    third = account_authenticate(username=tenant.sid, password=tenant.auth_token)
    assert third is not second
    # The secrets are not carried.
    assert third.auth_token_digest == third.auth_token_encrypted == ""


def test_the_cached_fields_are_every_field_but_the_secrets():
    """A field added to Account must be cached too, or be declared a secret here."""
    names = {f.attname for f in Account._meta.concrete_fields}
    assert set(auth_cache.ACCOUNT_FIELDS) == names - SECRET_FIELDS


def test_an_api_request_with_a_cached_account_reads_only_its_resource(
    api, service, django_assert_num_queries
):
    assert api.get(f"/v2/Services/{service.sid}").status_code == 200
    with django_assert_num_queries(1):  # the service, no account
        assert api.get(f"/v2/Services/{service.sid}").json()["sid"] == service.sid


def test_an_api_key_is_cached_with_its_account(tenant, django_assert_num_queries):
    key, secret = domain.api_key_create(account=tenant.account)
    authenticates(key.sid, secret, 1, django_assert_num_queries)
    assert authenticates(key.sid, secret, 0, django_assert_num_queries) == tenant.account


def test_no_secret_in_clear_is_stored(tenant, raw_redis):
    key, secret = domain.api_key_create(account=tenant.account)
    account_authenticate(username=tenant.sid, password=tenant.auth_token)
    account_authenticate(username=key.sid, password=secret)
    cache = caches["default"]
    encrypted = Account.objects.get(pk=tenant.sid).auth_token_encrypted
    for sid, plain in ((tenant.sid, tenant.auth_token), (key.sid, secret)):
        stored = raw_redis.get(cache.make_and_validate_key(auth_cache._entry_key(sid)))
        assert stored and crypto.secret_digest(plain).encode() in stored
        assert plain.encode() not in stored
        assert encrypted.encode() not in stored


def test_a_wrong_secret_is_checked_against_the_database_and_never_cached(
    tenant, django_assert_num_queries
):
    """A failure costs the read and comparison it always did, cached or not."""
    assert authenticates(tenant.sid, "0" * 32, 1, django_assert_num_queries) is None
    assert entry(tenant.sid) is None
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    stored = entry(tenant.sid)
    for _ in range(2):
        assert authenticates(tenant.sid, "0" * 32, 1, django_assert_num_queries) is None
    # ... and leaves the right secret's entry as it was.
    assert entry(tenant.sid) == stored
    assert authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)


def test_unknown_sids_and_refused_rows_are_never_stored(tenant, django_assert_num_queries):
    unknown = "AC" + uuid.uuid4().hex
    for _ in range(2):
        assert authenticates(unknown, "x" * 32, 1, django_assert_num_queries) is None
    assert entry(unknown) is None
    domain.account_set_status(account=tenant.account, status=Account.Status.SUSPENDED)
    for _ in range(2):
        assert authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries) is None
    assert entry(tenant.sid) is None


def test_a_key_created_after_failures_with_its_sid_works_at_once(tenant, django_assert_num_queries):
    key = ApiKey(account=tenant.account, secret_digest=crypto.secret_digest("s" * 32))
    assert authenticates(key.sid, "s" * 32, 1, django_assert_num_queries) is None  # no row yet
    key.save()
    assert authenticates(key.sid, "s" * 32, 1, django_assert_num_queries) == tenant.account


def test_an_entry_lives_the_configured_seconds(tenant, settings, raw_redis):
    settings.VERIFY_AUTH_CACHE_SECONDS = 7
    account_authenticate(username=tenant.sid, password=tenant.auth_token)
    name = caches["default"].make_and_validate_key(auth_cache._entry_key(tenant.sid))
    assert 0 < raw_redis.ttl(name) <= 7


# --- a fill racing with a change ----------------------------------------------------------


def test_a_fill_that_read_before_a_change_is_never_used(tenant, django_assert_num_queries):
    """The read began (its generation taken) before the change; it stores the old row after
    the change's delete. The entry is written but never used."""
    key, secret = domain.api_key_create(account=tenant.account)
    cached, seen = auth_cache.lookup(key.sid)
    assert cached is None and seen is not None
    assert domain.api_key_revoke(api_key=key)
    auth_cache.fill(key.sid, seen, digest=crypto.secret_digest(secret), account=tenant.account)
    assert entry(key.sid) is not None
    assert authenticates(key.sid, secret, 1, django_assert_num_queries) is None


def test_the_delete_after_commit_drops_a_fill_of_the_old_row(
    tenant, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """Between the change and its commit other requests still read the old row, and may
    store it under the change's new generation: the delete after commit removes it."""
    key, secret = domain.api_key_create(account=tenant.account)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert domain.api_key_revoke(api_key=key)
    _, seen = auth_cache.lookup(key.sid)  # another request, before the commit
    auth_cache.fill(key.sid, seen, digest=crypto.secret_digest(secret), account=tenant.account)
    assert auth_cache.lookup(key.sid)[0] is not None  # the old row, stored
    for callback in callbacks:  # the commit
        callback()
    assert entry(key.sid) is None
    assert authenticates(key.sid, secret, 1, django_assert_num_queries) is None


def test_an_entry_without_its_generation_is_not_used(tenant, django_assert_num_queries):
    """A generation evicted or expired before its entry: the entry no longer counts."""
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    caches["default"].delete(auth_cache._generation_key(tenant.sid))
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)


def test_a_new_generation_does_not_replace_one_another_request_made(tenant):
    caches["default"].delete(auth_cache._generation_key(tenant.sid))
    _, first = auth_cache.lookup(tenant.sid)
    _, second = auth_cache.lookup(tenant.sid)
    assert first is not None and first == second == generation(tenant.sid)


# --- every change deletes the entry, for every process ------------------------------------


def _rotate(tenant, key, operator) -> None:
    domain.account_rotate_auth_token(account=tenant.account)


def _suspend(tenant, key, operator) -> None:
    domain.account_set_status(account=tenant.account, status=Account.Status.SUSPENDED)


def _revoke(tenant, key, operator) -> None:
    domain.api_key_revoke(api_key=key)


def _revoke_command(tenant, key, operator) -> None:
    call_command("revoke_api_key", key.sid)


def _admin_revoke(tenant, key, operator) -> None:
    operator.post("/admin/services/apikey/", {"action": "revoke", "_selected_action": [key.sid]})


def _admin_suspend(tenant, key, operator) -> None:
    operator.post(
        "/admin/services/account/", {"action": "suspend", "_selected_action": [tenant.sid]}
    )


def _admin_rotate(tenant, key, operator) -> None:
    operator.post(
        "/admin/services/account/",
        {"action": "rotate_auth_token", "_selected_action": [tenant.sid]},
    )


def _admin_key_delete(tenant, key, operator) -> None:
    operator.post(f"/admin/services/apikey/{key.sid}/delete/", {"post": "yes"})


def _admin_account_delete(tenant, key, operator) -> None:
    operator.post(f"/admin/services/account/{tenant.sid}/delete/", {"post": "yes"})


def _admin_account_edit(tenant, key, operator) -> None:
    operator.post(
        f"/admin/services/account/{tenant.sid}/change/",
        {"friendly_name": "Renamed", "api_keys-TOTAL_FORMS": 0, "api_keys-INITIAL_FORMS": 0},
    )


def _orm_save(tenant, key, operator) -> None:
    key.friendly_name = "renamed"
    key.save()


def _orm_delete(tenant, key, operator) -> None:
    key.delete()


CHANGES = {
    # change: the SIDs whose entries it must delete
    _rotate: "account",
    _suspend: "both",
    _revoke: "key",
    _revoke_command: "key",
    _admin_revoke: "key",
    _admin_suspend: "both",
    _admin_rotate: "account",
    _admin_key_delete: "key",
    _admin_account_delete: "both",
    _admin_account_edit: "both",
    _orm_save: "key",
    _orm_delete: "key",
}


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__.strip("_"))
def test_every_change_deletes_its_entries(change, tenant, operator):
    key, secret = domain.api_key_create(account=tenant.account)
    account_authenticate(username=tenant.sid, password=tenant.auth_token)
    account_authenticate(username=key.sid, password=secret)
    account_sid, key_sid = tenant.sid, key.sid  # a deleted instance forgets its pk
    before = {sid: generation(sid) for sid in (account_sid, key_sid)}
    change(tenant, key, operator)
    dropped = {"account": [account_sid], "key": [key_sid], "both": [account_sid, key_sid]}
    for sid in dropped[CHANGES[change]]:
        assert entry(sid) is None, sid
        assert generation(sid) not in (None, before[sid]), sid


def test_a_revoked_key_is_refused_on_the_very_next_request(tenant):
    key, secret = domain.api_key_create(account=tenant.account)
    client = key_client(key, secret)
    assert client.get("/v2/Services").status_code == 200
    assert client.get("/v2/Services").status_code == 200  # from the cache
    assert domain.api_key_revoke(api_key=key)
    assert_twilio_error(client.get("/v2/Services"), 401, 20003)


def test_a_suspended_account_is_refused_with_its_keys(tenant, api):
    key, secret = domain.api_key_create(account=tenant.account)
    with_key = key_client(key, secret)
    for client in (api, with_key, api, with_key):
        assert client.get("/v2/Services").status_code == 200
    domain.account_set_status(account=tenant.account, status=Account.Status.SUSPENDED)
    assert_twilio_error(api.get("/v2/Services"), 401, 20003)
    assert_twilio_error(with_key.get("/v2/Services"), 401, 20003)


def test_a_rotated_token_stops_at_once_and_the_new_one_works_at_once(
    tenant, api, django_assert_num_queries
):
    assert api.get("/v2/Services").status_code == 200
    token = domain.account_rotate_auth_token(account=tenant.account)
    assert_twilio_error(api.get("/v2/Services"), 401, 20003)
    assert authenticates(tenant.sid, token, 1, django_assert_num_queries) == tenant.account
    assert authenticates(tenant.sid, token, 0, django_assert_num_queries) == tenant.account
    assert authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries) is None


def test_an_admin_edit_reaches_the_next_request(tenant, operator, django_assert_num_queries):
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    _admin_account_edit(tenant, None, operator)
    renamed = authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert renamed.friendly_name == "Renamed"


def test_a_failed_authentication_on_a_cached_sid_is_still_throttled(tenant, api, settings):
    """SECURITY R16 is unchanged: the failure is counted like any other."""
    settings.VERIFY_AUTH_FAILURES_PER_MINUTE = 2
    address = f"198.18.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 254 + 1}"
    assert api.get("/v2/Services", REMOTE_ADDR=address).status_code == 200
    assert entry(tenant.sid) is not None
    wrong = basic(tenant.sid, "f" * 32)
    for _ in range(2):
        response = APIClient().get("/v2/Services", HTTP_AUTHORIZATION=wrong, REMOTE_ADDR=address)
        assert_twilio_error(response, 401, 20003)
    response = APIClient().get("/v2/Services", HTTP_AUTHORIZATION=wrong, REMOTE_ADDR=address)
    assert_twilio_error(response, 429, 20429)


# --- off, and Redis down ------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"VERIFY_AUTH_CACHE_SECONDS": 0}, {"REDIS_URL": ""}])
def test_off_with_zero_seconds_or_without_redis(
    tenant, settings, change, django_assert_num_queries, django_capture_on_commit_callbacks
):
    for name, value in change.items():
        setattr(settings, name, value)
    for _ in range(2):
        authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    assert entry(tenant.sid) is None
    assert auth_cache.warm() is False
    with django_capture_on_commit_callbacks() as callbacks:
        domain.account_rotate_auth_token(account=tenant.account)
    assert callbacks == []


def test_warm_connects_before_the_first_request():
    assert auth_cache.warm() is True


def test_unreachable_redis_means_database_reads_and_one_attempt_per_interval(
    tenant, redis_unreachable, django_assert_num_queries, caplog, monkeypatch
):
    with caplog.at_level(logging.WARNING, logger="verify_platform.auth"):
        for _ in range(3):
            assert authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
        assert len(caplog.records) == 1  # one attempt, then the database alone
        monkeypatch.setattr(auth_cache, "_unavailable_until", 0.0)  # the interval is over
        assert authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
        assert len(caplog.records) == 2
    assert auth_cache.warm() is False


def test_a_change_while_redis_is_unreachable_still_succeeds(tenant, redis_unreachable, caplog):
    key, secret = domain.api_key_create(account=tenant.account)
    with caplog.at_level(logging.ERROR, logger="verify_platform.auth"):
        assert domain.api_key_revoke(api_key=key)
    assert "not deleted" in caplog.text and key.sid in caplog.text
    assert account_authenticate(username=key.sid, password=secret) is None


@pytest.fixture
def own_redis(tmp_path, settings):
    """A Redis server of this test's own, to stop, as the default cache."""
    from scripts.testenv import Redis, ensure_installed

    _, binary = ensure_installed()
    server = Redis(binary, tmp_path)
    url = f"{server.start()}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    yield server
    server.stop()


def test_a_redis_that_stops_means_database_reads(tenant, own_redis, django_assert_num_queries):
    authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
    authenticates(tenant.sid, tenant.auth_token, 0, django_assert_num_queries)
    own_redis.stop()
    for _ in range(2):
        assert authenticates(tenant.sid, tenant.auth_token, 1, django_assert_num_queries)
