"""Push factors: enrolment checks on the binding and config, verification by the device's
signature of the factor SID, the device's request tokens (ES256, its own factor only), and
the notification target the app keeps current."""

from __future__ import annotations

import time
from datetime import datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from factors.models import Factor
from factors.push_models import PushBinding
from services.models import Event
from tests.helpers import form as post_form
from tests.push.keys import DeviceKey, basic_token, call, enrol_form

IDENTITY = "user-0001-abcd"


@pytest.fixture
def push_service(sdk):
    return sdk.services.create(friendly_name="Push Login")


@pytest.fixture
def enrol(sdk, push_service, live_server):
    """Enrol a device as the SDK does: an access token from the backend, then the create."""

    def enrol(identity: str = IDENTITY, key: DeviceKey | None = None, **extra):
        key = key or DeviceKey()
        token = sdk.services(push_service.sid).access_tokens.create(
            identity=identity, factor_type="push"
        )
        path = f"/v2/Services/{push_service.sid}/Entities/{identity}/Factors"
        status, _, body = call(
            live_server.url, "POST", path, basic_token(token.token), enrol_form(key, **extra)
        )
        assert status == 201, body
        return key, body

    return enrol


def factor_path(body: dict) -> str:
    return f"/v2/Services/{body['service_sid']}/Entities/{body['identity']}/Factors/{body['sid']}"


def device(key: DeviceKey, body: dict, **kwargs) -> str:
    return basic_token(key.request_token(body["sid"], body["account_sid"], **kwargs))


def test_enrol_and_verify(enrol, live_server, tenant):
    key, body = enrol()
    assert body["status"] == "unverified"
    assert body["binding"] == {"alg": "ES256", "public_key": key.public_key}
    assert body["config"] == {
        "sdk_version": "0.12.0",
        "app_id": "com.example.app",
        "notification_platform": "fcm",
        "notification_token": "f" * 64,
        "credential_sid": body["sid"],
    }
    assert body["metadata"] == {"os": "Android"}
    # The SDKs parse these with getString: they must be there.
    for name in ("sid", "friendly_name", "account_sid", "date_created"):
        assert body[name]

    path = factor_path(body)
    status, _, wrong = call(
        live_server.url,
        "POST",
        path,
        device(key, body),
        {"AuthPayload": DeviceKey().sign_factor(body["sid"])},
    )
    assert status == 400 and wrong["code"] == 60200
    assert Factor.objects.get(pk=body["sid"]).status == "unverified"

    status, _, verified = call(
        live_server.url,
        "POST",
        path,
        device(key, body),
        {"AuthPayload": key.sign_factor(body["sid"])},
    )
    assert status == 200 and verified["status"] == "verified"
    assert "binding" not in verified
    types = list(Event.objects.filter(resource_sid=body["sid"]).values_list("type", flat=True))
    assert sorted(types) == ["factor.created", "factor.verified"]

    status, _, fetched = call(live_server.url, "GET", path, device(key, body))
    assert status == 200 and fetched["config"]["credential_sid"] == body["sid"]


def test_the_backend_creates_push_factors_too(sdk, push_service):
    key = DeviceKey()
    factor = (
        sdk.services(push_service.sid)
        .entities(IDENTITY)
        .new_factors.create(
            friendly_name="Pixel",
            factor_type="push",
            binding_alg="ES256",
            binding_public_key=key.public_key,
            config_app_id="com.example.app",
            config_notification_platform="apn",
            config_notification_token="a" * 64,
            config_sdk_version="1.0.0",
        )
    )
    assert factor.binding == {"alg": "ES256", "public_key": key.public_key}
    verified = (
        sdk.services(push_service.sid)
        .entities(IDENTITY)
        .factors(factor.sid)
        .update(auth_payload=key.sign_factor(factor.sid))
    )
    assert verified.status == "verified"
    listed = sdk.services(push_service.sid).entities(IDENTITY).factors.list()
    assert [f.config["notification_platform"] for f in listed] == ["apn"]
    assert sdk.services(push_service.sid).entities(IDENTITY).factors(factor.sid).delete()
    assert not PushBinding.objects.filter(pk=factor.sid).exists()


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"Binding.Alg": "RS256"}, "Binding.Alg"),
        (
            {"Binding.PublicKey": "bm90IGEga2V5IGF0IGFsbCwgbm90IGV2ZW4gY2xvc2UgdG8gb25l"},
            "Binding.PublicKey",
        ),
        ({"Binding.PublicKey": DeviceKey(ec.SECP384R1()).public_key}, "Binding.PublicKey"),
        ({"Binding.PublicKey": "%%%"}, "Binding.PublicKey"),
        ({"Config.NotificationToken": "short"}, "Config.NotificationToken"),
        ({"Config.NotificationPlatform": "sms"}, "Config.NotificationPlatform"),
    ],
)
def test_bad_binding_or_config_is_a_clear_400(api, service, change, param):
    form = enrol_form(DeviceKey(), **change)
    response = post_form(api, f"/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors", form)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == 60200 and param in response.json()["message"]
    assert not Factor.objects.exists()


def test_fcm_needs_a_token_none_does_not(api, service):
    path = f"/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors"
    form = enrol_form(DeviceKey())
    del form["Config.NotificationToken"]
    response = post_form(api, path, form)
    assert response.status_code == 400 and "Config.NotificationToken" in response.json()["message"]
    response = post_form(api, path, {**form, "Config.NotificationPlatform": "none"})
    assert response.status_code == 201
    assert response.json()["config"]["notification_token"] is None


def test_device_token_is_checked(enrol, live_server):
    key, body = enrol()
    path = factor_path(body)
    now = int(time.time())
    refused = {
        "wrong key": basic_token(DeviceKey().request_token(body["sid"], body["account_sid"])),
        "expired": device(key, body, now=now - 1300),
        "too long": device(key, body, lifetime=3600),
        "wrong cty": device(key, body, cty="JWT"),
        "wrong account": basic_token(key.request_token(body["sid"], "AC" + "0" * 32)),
        "hs256": basic_token(
            jwt.encode(
                {"sub": body["account_sid"], "exp": now + 600, "nbf": now},
                key.public_key,
                algorithm="HS256",
                headers={"cty": "twilio-pba;v=1", "kid": body["sid"]},
            )
        ),
        "unsigned": basic_token(
            jwt.encode(
                {"sub": body["account_sid"], "exp": now + 600, "nbf": now},
                None,
                algorithm="none",
                headers={"cty": "twilio-pba;v=1", "kid": body["sid"]},
            )
        ),
    }
    for name, auth in refused.items():
        status, headers, error = call(live_server.url, "GET", path, auth)
        assert status == 401 and error["code"] == 20003, name
        assert "Date" in headers
    status, _, _ = call(live_server.url, "GET", path, device(key, body))
    assert status == 200


def test_a_device_reaches_only_its_own_factor(enrol, live_server, sdk):
    key, mine = enrol()
    _, theirs = enrol(identity="user-0002-efgh")
    _, sibling = enrol()  # a second device of the same entity
    auth = device(key, mine)
    assert call(live_server.url, "GET", factor_path(theirs), auth)[0] == 401
    assert call(live_server.url, "GET", factor_path(sibling), auth)[0] == 404
    assert call(live_server.url, "DELETE", factor_path(sibling), auth)[0] == 404
    listing = f"/v2/Services/{mine['service_sid']}/Entities/{IDENTITY}/Factors"
    assert call(live_server.url, "GET", listing, auth)[0] == 401
    # The account's credentials still reach everything.
    assert len(sdk.services(mine["service_sid"]).entities(IDENTITY).factors.list()) == 2
    # Its own factor it may delete (the SDK's delete).
    assert call(live_server.url, "DELETE", factor_path(mine), auth)[0] == 204
    assert not Factor.objects.filter(pk=mine["sid"]).exists()


def test_another_tenants_sids_are_404(enrol, other_api):
    _, body = enrol()
    assert other_api.get(factor_path(body)).status_code == 404
    response = post_form(other_api, factor_path(body), {"AuthPayload": "AAAA"})
    assert response.status_code == 404


def test_update_keeps_the_target_current(enrol, live_server):
    key, body = enrol()
    PushBinding.objects.filter(pk=body["sid"]).update(
        notification_token_invalid_at=datetime.now().astimezone(),
        notification_token_invalid_reason="Unregistered",
    )
    status, _, updated = call(
        live_server.url,
        "POST",
        factor_path(body),
        device(key, body),
        {
            "FriendlyName": "Pixel 9",
            "Config.NotificationToken": "g" * 80,
            "Config.SdkVersion": "0.13.0",
        },
    )
    assert status == 200, updated
    assert updated["friendly_name"] == "Pixel 9"
    assert updated["config"]["notification_token"] == "g" * 80
    assert updated["config"]["sdk_version"] == "0.13.0"
    binding = PushBinding.objects.get(pk=body["sid"])
    assert binding.notification_token_invalid_at is None
    assert binding.notification_token_invalid_reason == ""
    status, _, error = call(
        live_server.url,
        "POST",
        factor_path(body),
        device(key, body),
        {"Config.NotificationToken": "x"},
    )
    assert status == 400 and error["code"] == 60200
