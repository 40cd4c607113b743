"""Twilio's error shape for every kind of bad request, and never a 500."""

from __future__ import annotations

import base64

import pytest

from services import domain
from tests.conftest import api_client
from tests.helpers import FORM, assert_twilio_error, form

pytestmark = pytest.mark.django_db


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_bad_credentials_all_answer_the_same_401(tenant, service):
    key, secret = domain.api_key_create(account=tenant.account)
    revoked, revoked_secret = domain.api_key_create(account=tenant.account)
    domain.api_key_revoke(api_key=revoked)
    suspended, suspended_token = domain.account_create(friendly_name="Suspended")
    domain.account_set_status(account=suspended, status="suspended")
    suspended_key, suspended_secret = domain.api_key_create(account=suspended)

    headers = {
        "no header": None,
        "unknown account": _basic("AC" + "0" * 32, tenant.auth_token),
        "wrong token": _basic(tenant.sid, "f" * 32),
        "empty token": _basic(tenant.sid, ""),
        "revoked key": _basic(revoked.sid, revoked_secret),
        "key with account token": _basic(key.sid, tenant.auth_token),
        "suspended account": _basic(suspended.sid, suspended_token),
        "key of a suspended account": _basic(suspended_key.sid, suspended_secret),
        "not a sid": _basic("someone", "secret"),
        "no colon": "Basic " + base64.b64encode(b"nocolon").decode(),
        "not base64": "Basic !!!",
        "bearer": "Bearer abc.def",
    }
    bodies = set()
    for case, header in headers.items():
        extra = {"HTTP_AUTHORIZATION": header} if header else {}
        response = api_client(None).get(f"/v2/Services/{service.sid}", **extra)
        body = assert_twilio_error(response, 401, 20003)
        assert response["WWW-Authenticate"].startswith("Basic"), case
        bodies.add(tuple(sorted(body.items())))
    assert len(bodies) == 1  # nothing tells which part was wrong

    good = api_client(None).get(
        f"/v2/Services/{service.sid}", HTTP_AUTHORIZATION=_basic(key.sid, secret)
    )
    assert good.status_code == 200


def test_other_tenants_sid_is_indistinguishable_from_a_random_one(api, other_api, service):
    random_sid = "VA" + "ab" * 16
    for method, suffix in (("get", ""), ("post", ""), ("delete", ""), ("get", "/Entities")):
        theirs = getattr(other_api, method)(f"/v2/Services/{service.sid}{suffix}")
        missing = getattr(other_api, method)(f"/v2/Services/{random_sid}{suffix}")
        a = assert_twilio_error(theirs, 404, 20404)
        b = assert_twilio_error(missing, 404, 20404)
        assert a["message"].replace(service.sid, "X") == b["message"].replace(random_sid, "X")
    assert api.get(f"/v2/Services/{service.sid}").status_code == 200


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({}, "FriendlyName"),
        ({"FriendlyName": ""}, "FriendlyName"),
        ({"FriendlyName": "x" * 31}, "FriendlyName"),
        ({"FriendlyName": "nul\x00byte"}, "FriendlyName"),
        ({"FriendlyName": "ok", "CodeLength": "3"}, "CodeLength"),
        ({"FriendlyName": "ok", "CodeLength": "11"}, "CodeLength"),
        ({"FriendlyName": "ok", "CodeLength": "six"}, "CodeLength"),
        ({"FriendlyName": "ok", "CodeLength": "６"}, "CodeLength"),
        ({"FriendlyName": "ok", "CodeLength": "6.0"}, "CodeLength"),
        ({"FriendlyName": "ok", "Totp.TimeStep": "19"}, "Totp.TimeStep"),
        ({"FriendlyName": "ok", "Totp.TimeStep": "61"}, "Totp.TimeStep"),
        ({"FriendlyName": "ok", "Totp.CodeLength": "2"}, "Totp.CodeLength"),
        ({"FriendlyName": "ok", "Totp.CodeLength": "9"}, "Totp.CodeLength"),
        ({"FriendlyName": "ok", "Totp.Skew": "3"}, "Totp.Skew"),
        ({"FriendlyName": "ok", "Totp.Skew": "-1"}, "Totp.Skew"),
        ({"FriendlyName": "ok", "LookupEnabled": "maybe"}, "LookupEnabled"),
        ({"FriendlyName": "ok", "Push.ApnCredentialSid": "CR123"}, "Push.ApnCredentialSid"),
        (
            {"FriendlyName": "ok", "Passkeys.UserVerification": "always"},
            "Passkeys.UserVerification",
        ),
    ],
)
def test_invalid_service_parameters_name_the_parameter(api, params, name):
    response = form(api, "/v2/Services", params)
    body = assert_twilio_error(response, 400, 60200)
    assert f"`{name}`" in body["message"]


def test_invalid_update_leaves_the_service_untouched(api, service):
    response = form(api, f"/v2/Services/{service.sid}", {"FriendlyName": "New", "Totp.Skew": "9"})
    assert_twilio_error(response, 400, 60200)
    service.refresh_from_db()
    assert service.friendly_name == "Acme Login" and service.totp_skew == 1


@pytest.mark.parametrize(
    "identity",
    ["short", "x" * 65, "has space1", "under_score", "plus+sign1", "ünïcödé-id", "dots.not.ok"],
)
def test_invalid_identity(api, service, identity):
    response = form(api, f"/v2/Services/{service.sid}/Entities", {"Identity": identity})
    body = assert_twilio_error(response, 400, 60200)
    assert "`Identity`" in body["message"]


@pytest.mark.parametrize("page_size", ["0", "1001", "-1", "abc", "1e3", "1000000000", ""])
def test_invalid_page_size(api, page_size):
    body = assert_twilio_error(api.get("/v2/Services", {"PageSize": page_size}), 400, 60200)
    assert "`PageSize`" in body["message"]


@pytest.mark.parametrize("token", ["garbage", "PAnot-base64!", "PB" + "e30", "XX" + "W10"])
def test_forged_page_token(api, token):
    body = assert_twilio_error(api.get("/v2/Services", {"PageToken": token}), 400, 60200)
    assert "`PageToken`" in body["message"]


def test_page_size_bounds_accepted(api, service):
    for size in ("1", "1000"):
        response = api.get("/v2/Services", {"PageSize": size})
        assert response.status_code == 200
        assert response.json()["meta"]["page_size"] == int(size)


def test_wrong_method_is_405(api, service):
    assert_twilio_error(api.put(f"/v2/Services/{service.sid}"), 405, 20004)
    assert_twilio_error(api.patch("/v2/Services"), 405, 20004)
    assert_twilio_error(api.delete("/v2/Services"), 405, 20004)


def test_body_over_one_megabyte_is_413(api, service):
    big = "FriendlyName=" + "x" * (1024 * 1024 + 10)
    assert_twilio_error(api.post("/v2/Services", big, content_type=FORM), 413, 20413)
    assert not service.account.services.exclude(pk=service.pk).exists()


def test_large_field_under_the_body_limit_is_400(api):
    body = assert_twilio_error(
        form(api, "/v2/Services", {"FriendlyName": "x" * 500_000}), 400, 60200
    )
    assert "`FriendlyName`" in body["message"]


def test_json_body_is_rejected_cleanly(api):
    response = api.post("/v2/Services", '{"FriendlyName": "x"}', content_type="application/json")
    assert_twilio_error(response, 400, 60200)


def test_unknown_paths_under_v2(api, service):
    assert_twilio_error(api.get("/v2/Nope"), 404, 20404)
    assert_twilio_error(api.get(f"/v2/Services/{service.sid}/"), 404, 20404)  # no slash routes
    assert_twilio_error(api.get(f"/v2/Services/{service.sid}/Unknown/Thing"), 404, 20404)


@pytest.mark.parametrize(
    "name", ["' OR 1=1--", "<script>alert(1)</script>", "{{7*7}}", "%s%n", "emoji 🔐 ok"]
)
def test_hostile_friendly_names_are_stored_verbatim(api, name):
    created = form(api, "/v2/Services", {"FriendlyName": name})
    assert created.status_code == 201, created.content
    fetched = api.get(f"/v2/Services/{created.json()['sid']}")
    assert fetched.json()["friendly_name"] == name
    assert fetched.json()["totp"]["issuer"] == name


@pytest.mark.parametrize("method", ["post", "delete", "put", "patch"])
def test_unknown_paths_answer_404_to_writes_even_with_csrf_enforced(tenant, method):
    """A production server enforces CSRF (the test client normally does not): an API client
    without a token must still get Twilio's 404, not Django's HTML 403."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    basic = base64.b64encode(f"{tenant.sid}:{tenant.auth_token}".encode()).decode()
    response = getattr(client, method)("/v2/Nope", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert_twilio_error(response, 404, 20404)
