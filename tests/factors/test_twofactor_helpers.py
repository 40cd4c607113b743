"""Two-factor helpers: a challenge approved by a recovery code says so and how many codes
remain; one call turns two-factor sign-in off for an entity; a deleted factor's challenges
stay for the audit trail (admin, events) while leaving the API with the factor."""

from __future__ import annotations

import time

import pyotp
import pytest
from rest_framework.test import APIClient

from challenges import domain as challenge_domain
from challenges.models import Challenge
from factors import domain
from factors.models import Factor
from services.models import Event
from tests.factors.conftest import IDENTITY, NOW, code_for, make_verified_factor
from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db

BASE = "/v2/Services/{service}/Entities/{identity}"


def path(service, identity: str = IDENTITY, tail: str = "") -> str:
    return BASE.format(service=service.sid, identity=identity) + tail


def recovery_codes(service, identity: str = IDENTITY) -> tuple[Factor, list[str]]:
    factor, binding = domain.factor_create(
        service=service, identity=identity, factor_type="recovery_codes", friendly_name="Backup"
    )
    return factor, binding["codes"]


# --- (a) a challenge approved by a recovery code ---------------------------------------------


def test_twofactor_recovery_code_approval_is_reported_through_the_sdk(sdk, api, service):
    entity = sdk.services(service.sid).entities(IDENTITY)
    new = entity.new_factors.create(friendly_name="Phone", factor_type="totp")
    otp = pyotp.TOTP(new.binding["secret"])
    assert entity.factors(new.sid).update(auth_payload=otp.now()).status == "verified"
    _, codes = recovery_codes(service)

    # The SDK still parses the answer (extra fields are ignored by it) ...
    by_recovery = entity.challenges.create(factor_sid=new.sid, auth_payload=codes[0])
    assert by_recovery.status == "approved" and by_recovery.factor_type == "totp"
    # ... and the extension fields say what approved it and what is left.
    body = api.get(path(service, tail=f"/Challenges/{by_recovery.sid}")).json()
    assert body["recovery_code_used"] is True and body["recovery_codes_remaining"] == 9

    # Answering a pending challenge with the next code: 8 left.
    pending = entity.challenges.create(factor_sid=new.sid)
    answered = entity.challenges(pending.sid).update(auth_payload=codes[1].lower())
    assert answered.status == "approved"
    body = api.get(path(service, tail=f"/Challenges/{pending.sid}")).json()
    assert body["recovery_code_used"] is True and body["recovery_codes_remaining"] == 8

    # A TOTP approval (the one-statement path) reports no recovery code.
    by_totp = entity.challenges.create(factor_sid=new.sid, auth_payload=otp.at(time.time() + 30))
    assert by_totp.status == "approved"
    body = api.get(path(service, tail=f"/Challenges/{by_totp.sid}")).json()
    assert body["recovery_code_used"] is False and body["recovery_codes_remaining"] is None


def test_twofactor_extension_fields_are_documented(api):
    spec = api.get("/openapi.json").json()
    challenge = spec["components"]["schemas"]["Challenge"]["properties"]
    for name in ("recovery_code_used", "recovery_codes_remaining"):
        assert "**Extension**" in challenge[name]["description"], name
    delete = spec["paths"]["/v2/Services/{service_sid}/Entities/{identity}/Factors"]["delete"]
    assert "**Extension**" in delete["description"]
    assert [p["name"] for p in delete["parameters"] if p["in"] == "query"] == ["FactorType"]
    assert set(delete["responses"]) >= {"204", "404"}


# --- (b) turning two-factor sign-in off -------------------------------------------------------


def test_twofactor_off_removes_totp_and_recovery_codes_in_one_call(api, service):
    totp, secret = make_verified_factor(service)
    second, _ = make_verified_factor(service)
    backup, _ = recovery_codes(service)
    other, _ = make_verified_factor(service, identity="someone-else-0001")
    approved = challenge_domain.challenge_create(
        factor=totp, auth_payload=code_for(totp, secret, NOW), now=NOW
    )

    response = api.delete(path(service, tail="/Factors"))
    assert response.status_code == 204 and response.content == b""
    assert api.get(path(service, tail="/Factors")).json()["factors"] == []
    assert not Factor.objects.filter(pk__in=[totp.pk, second.pk, backup.pk]).exists()
    assert Factor.objects.filter(pk=other.pk).exists()  # another entity's factor stays
    deleted = Event.objects.filter(type="factor.deleted").values_list("resource_sid", flat=True)
    assert set(deleted) == {totp.sid, second.sid, backup.sid}
    # The challenge history stays; the entity too.
    assert Challenge.objects.filter(pk=approved.pk, factor_id=totp.sid).exists()
    assert api.get(path(service)).status_code == 200
    # Nothing left: still 204.
    assert api.delete(path(service, tail="/Factors")).status_code == 204


def test_twofactor_off_filters_by_factor_type(api, service):
    totp, _ = make_verified_factor(service)
    recovery_codes(service)
    response = api.delete(path(service, tail="/Factors?FactorType=recovery_codes"))
    assert response.status_code == 204
    assert list(Factor.objects.values_list("pk", flat=True)) == [totp.pk]
    # A filter sent as a form body is honoured too, never replaced by the default.
    recovery_codes(service)
    response = api.delete(
        path(service, tail="/Factors"),
        "FactorType=recovery_codes",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 204
    assert list(Factor.objects.values_list("pk", flat=True)) == [totp.pk]
    bad = api.delete(path(service, tail="/Factors?FactorType=fax"))
    assert_twilio_error(bad, 400, 60200)
    assert Factor.objects.filter(pk=totp.pk).exists()


def test_twofactor_off_is_tenant_isolated(api, other_api, service):
    totp, _ = make_verified_factor(service)
    for client, url in (
        (other_api, path(service, tail="/Factors")),  # another tenant's service
        (api, path(service, identity="nobody-here-0001", tail="/Factors")),
        (api, "/v2/Services/VA" + "0" * 32 + f"/Entities/{IDENTITY}/Factors"),
    ):
        assert_twilio_error(client.delete(url), 404, 20404)
    assert Factor.objects.filter(pk=totp.pk).exists()
    assert_twilio_error(APIClient().delete(path(service, tail="/Factors")), 401, 20003)


# --- (c) a deleted factor's challenges stay -------------------------------------------------


def test_twofactor_deleted_factor_keeps_its_challenges_for_the_audit_trail(
    api, service, admin_client
):
    factor, secret = make_verified_factor(service)
    approved = challenge_domain.challenge_create(
        factor=factor, auth_payload=code_for(factor, secret, NOW), now=NOW
    )
    pending = challenge_domain.challenge_create(factor=factor, now=NOW)
    assert api.delete(path(service, tail=f"/Factors/{factor.sid}")).status_code == 204

    kept = Challenge.objects.filter(pk__in=[approved.pk, pending.pk])
    assert sorted(kept.values_list("factor_id", flat=True)) == [factor.sid, factor.sid]
    assert Event.objects.filter(resource_sid=approved.sid, type="challenge.approved").exists()
    # The API treats them as gone with their factor: 404 for fetch and update, not listed.
    for sid in (approved.sid, pending.sid):
        assert_twilio_error(api.get(path(service, tail=f"/Challenges/{sid}")), 404, 20404)
    answer = form(api, path(service, tail=f"/Challenges/{pending.sid}"), {"AuthPayload": "123456"})
    assert_twilio_error(answer, 404, 20404)
    assert api.get(path(service, tail="/Challenges")).json()["challenges"] == []
    # The operator still sees them (found by the deleted factor's SID too).
    listing = admin_client.get(f"/admin/challenges/challenge/?q={factor.sid}")
    assert listing.status_code == 200 and approved.sid in listing.content.decode()
    page = admin_client.get(f"/admin/challenges/challenge/{approved.sid}/change/")
    assert page.status_code == 200
    # The expiry sweep still ends the pending one, with an event naming the deleted factor.
    later = pending.expiration_date
    assert challenge_domain.challenge_expire_due(now=later) == 1
    expired = Event.objects.get(resource_sid=pending.sid, type="challenge.expired")
    assert expired.payload["factor_sid"] == factor.sid
    assert expired.payload["entity_identity"] == IDENTITY


def test_twofactor_entity_delete_still_removes_everything(api, service):
    factor, secret = make_verified_factor(service)
    challenge_domain.challenge_create(
        factor=factor, auth_payload=code_for(factor, secret, NOW), now=NOW
    )
    assert api.delete(path(service)).status_code == 204
    assert not Challenge.objects.exists() and not Factor.objects.exists()
