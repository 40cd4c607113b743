"""AccessTokens through the official `twilio` SDK, and what a token lets its holder do: one
push factor create for its own service and identity, before it expires, and nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
import pytest
from twilio.base.exceptions import TwilioRestException

from factors.push_models import PushAccessToken
from tests.push.keys import DeviceKey, basic_token, call, enrol_form

IDENTITY = "user-0001-abcd"


@pytest.fixture
def push_service(sdk):
    return sdk.services.create(friendly_name="Push Login")


def test_create_and_fetch_with_the_sdk(sdk, push_service, tenant):
    created = sdk.services(push_service.sid).access_tokens.create(
        identity=IDENTITY, factor_type="push", factor_friendly_name="Ann's Pixel", ttl=120
    )
    assert created.sid.startswith("YK") and len(created.sid) == 34
    assert created.account_sid == tenant.sid
    assert created.service_sid == push_service.sid
    assert created.entity_identity == IDENTITY
    assert created.factor_type == "push"
    assert created.factor_friendly_name == "Ann's Pixel"
    assert created.ttl == 120
    assert isinstance(created.date_created, datetime)
    assert created.url.endswith(f"/v2/Services/{push_service.sid}/AccessTokens/{created.sid}")
    header = jwt.get_unverified_header(created.token)
    assert header["alg"] == "HS256" and header["kid"] == created.sid
    claims = jwt.decode(created.token, options={"verify_signature": False})
    assert claims["sub"] == tenant.sid and claims["identity"] == IDENTITY
    assert claims["exp"] - claims["iat"] == 120

    fetched = sdk.services(push_service.sid).access_tokens(created.sid).fetch()
    assert fetched.token == created.token and fetched.ttl == 120

    default = sdk.services(push_service.sid).access_tokens.create(
        identity=IDENTITY, factor_type="push"
    )
    assert default.ttl == 60 and default.factor_friendly_name is None


@pytest.mark.parametrize("ttl", [59, 301])
def test_ttl_out_of_range(sdk, push_service, ttl):
    with pytest.raises(TwilioRestException) as exc:
        sdk.services(push_service.sid).access_tokens.create(
            identity=IDENTITY, factor_type="push", ttl=ttl
        )
    assert exc.value.status == 400 and exc.value.code == 60200


def test_only_push(sdk, push_service):
    with pytest.raises(TwilioRestException) as exc:
        sdk.services(push_service.sid).access_tokens.create(identity=IDENTITY, factor_type="totp")
    assert exc.value.status == 400


def test_another_tenant_cannot_fetch(sdk, other_sdk, push_service):
    token = sdk.services(push_service.sid).access_tokens.create(
        identity=IDENTITY, factor_type="push"
    )
    with pytest.raises(TwilioRestException) as exc:
        other_sdk.services(push_service.sid).access_tokens(token.sid).fetch()
    assert exc.value.status == 404


def test_enrols_one_factor_once(sdk, push_service, live_server):
    token = sdk.services(push_service.sid).access_tokens.create(
        identity=IDENTITY, factor_type="push"
    )
    path = f"/v2/Services/{push_service.sid}/Entities/{IDENTITY}/Factors"
    status, _, body = call(
        live_server.url, "POST", path, basic_token(token.token), enrol_form(DeviceKey())
    )
    assert status == 201, body
    assert body["factor_type"] == "push" and body["status"] == "unverified"
    assert PushAccessToken.objects.get(pk=token.sid).factor_sid == body["sid"]

    status, _, body = call(
        live_server.url, "POST", path, basic_token(token.token), enrol_form(DeviceKey())
    )
    assert status == 401 and body["code"] == 20003


def test_bound_to_its_identity_and_service(sdk, push_service, live_server):
    token = sdk.services(push_service.sid).access_tokens.create(
        identity=IDENTITY, factor_type="push"
    )
    other_service = sdk.services.create(friendly_name="Other")
    auth = basic_token(token.token)
    for path in (
        f"/v2/Services/{push_service.sid}/Entities/someone-else-01/Factors",
        f"/v2/Services/{other_service.sid}/Entities/{IDENTITY}/Factors",
    ):
        status, _, body = call(live_server.url, "POST", path, auth, enrol_form(DeviceKey()))
        assert status == 401 and body["code"] == 20003, path
    # Nothing else either: reading factors, challenges or the service.
    for path in (
        f"/v2/Services/{push_service.sid}/Entities/{IDENTITY}/Factors",
        f"/v2/Services/{push_service.sid}/Entities/{IDENTITY}/Challenges",
        f"/v2/Services/{push_service.sid}",
    ):
        status, _, _ = call(live_server.url, "GET", path, auth)
        assert status == 401, path
    # A totp factor is not what it grants.
    path = f"/v2/Services/{push_service.sid}/Entities/{IDENTITY}/Factors"
    status, _, _ = call(
        live_server.url, "POST", path, auth, {"FriendlyName": "x", "FactorType": "totp"}
    )
    assert status == 401
    # Still unspent: the refusals changed nothing.
    assert PushAccessToken.objects.get(pk=token.sid).factor_sid == ""


def test_expired_or_tampered(sdk, push_service, live_server):
    token = sdk.services(push_service.sid).access_tokens.create(
        identity=IDENTITY, factor_type="push"
    )
    path = f"/v2/Services/{push_service.sid}/Entities/{IDENTITY}/Factors"
    head, body_part, signature = token.token.split(".")
    tampered = f"{head}.{body_part}.{signature[:-4]}AAAA"
    status, _, _ = call(
        live_server.url, "POST", path, basic_token(tampered), enrol_form(DeviceKey())
    )
    assert status == 401

    PushAccessToken.objects.filter(pk=token.sid).update(
        expires_at=datetime.now().astimezone() - timedelta(seconds=1)
    )
    status, headers, _ = call(
        live_server.url, "POST", path, basic_token(token.token), enrol_form(DeviceKey())
    )
    assert status == 401
    assert "Date" in headers  # the SDKs resynchronise their clock from it and retry once


def test_the_expiry_sweeper_deletes_grants_a_day_past_their_end(sdk, push_service):
    """Grants of a service that creates no more tokens are still deleted: by the sweeper."""
    from challenges.tasks import challenge_expire_sweep_task
    from verify_platform.lib import clock

    tokens = sdk.services(push_service.sid).access_tokens
    old, fresh = (tokens.create(identity="user-0001", factor_type="push") for _ in range(2))
    ended = clock.current_time() - timedelta(days=1, seconds=1)
    PushAccessToken.objects.filter(pk=old.sid).update(expires_at=ended)
    challenge_expire_sweep_task()
    assert list(PushAccessToken.objects.values_list("sid", flat=True)) == [fresh.sid]
