"""Factors through the official `twilio` SDK against a live server."""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.factors.conftest import IDENTITY


@pytest.fixture
def svc(sdk):
    return sdk.services.create(friendly_name="Acme Login")


FACTOR_FIELDS = {
    "sid", "account_sid", "service_sid", "entity_sid", "identity", "date_created",
    "date_updated", "friendly_name", "status", "factor_type", "config", "metadata", "url",
}  # fmt: skip


def test_enroll_returns_binding_once_and_verify_with_pyotp(sdk, svc, api):
    entity = sdk.services(svc.sid).entities(IDENTITY)
    new = entity.new_factors.create(friendly_name="Rita phone", factor_type="totp")
    assert new.sid.startswith("YF") and len(new.sid) == 34
    assert new.status == "unverified" and new.factor_type == "totp"
    assert new.identity == IDENTITY and new.service_sid == svc.sid
    assert new.entity_sid.startswith("YE")
    assert new.config == {"alg": "sha1", "skew": 1, "code_length": 6, "time_step": 30}
    assert isinstance(new.date_created, datetime)
    assert new.url.endswith(f"/v2/Services/{svc.sid}/Entities/{IDENTITY}/Factors/{new.sid}")
    secret = new.binding["secret"]
    assert len(secret) == 32  # 20 random bytes, base32
    uri = urlsplit(new.binding["uri"])
    assert uri.path == "/Acme%20Login:Rita%20phone"
    assert parse_qs(uri.query) == {
        "secret": [secret],
        "issuer": ["Acme Login"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    assert new.binding["qr_code"].startswith("data:image/png;base64,")

    # The seed is never returned again.
    fetched = entity.factors(new.sid).fetch()
    assert fetched.status == "unverified"
    listed = entity.factors.list()
    assert [f.sid for f in listed] == [new.sid]
    assert not hasattr(fetched, "binding")

    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    assert entity.factors(new.sid).update(auth_payload=wrong).status == "unverified"
    verified = entity.factors(new.sid).update(auth_payload=pyotp.TOTP(secret).now())
    assert verified.status == "verified"
    # Raw bodies: exactly Twilio's fields, and no trace of the seed.
    path = f"/v2/Services/{svc.sid}/Entities/{IDENTITY}/Factors"
    one = api.get(f"{path}/{new.sid}")
    assert set(one.json()) == FACTOR_FIELDS
    many = api.get(path)
    for body in (one, many):
        assert body.status_code == 200
        assert secret.encode() not in body.content
    assert set(many.json()["factors"][0]) == FACTOR_FIELDS


def test_config_precedence_and_sha256_8_digits(sdk):
    svc = sdk.services.create(friendly_name="Cfg", totp_issuer="Acme Inc", totp_time_step=45,
                              totp_code_length=7, totp_skew=2)  # fmt: skip
    entity = sdk.services(svc.sid).entities(IDENTITY)
    from_service = entity.new_factors.create(friendly_name="A", factor_type="totp")
    assert from_service.config == {"alg": "sha1", "skew": 2, "code_length": 7, "time_step": 45}
    assert "issuer=Acme%20Inc" in from_service.binding["uri"]

    new = entity.new_factors.create(
        friendly_name="B", factor_type="totp", config_alg="sha256", config_code_length=8,
        config_time_step=30, config_skew=0,
    )  # fmt: skip
    assert new.config == {"alg": "sha256", "skew": 0, "code_length": 8, "time_step": 30}
    assert len(new.binding["secret"]) == 52  # 32 bytes for SHA-256
    assert "algorithm=SHA256&digits=8&period=30" in new.binding["uri"]
    code = pyotp.TOTP(new.binding["secret"], digits=8, digest=hashlib.sha256).now()
    assert entity.factors(new.sid).update(auth_payload=code).status == "verified"
    # The code that verified the factor cannot approve a challenge as well.
    ch = entity.challenges.create(factor_sid=new.sid, auth_payload=code)
    assert ch.status == "pending"


def test_supplied_secret_and_its_rules(sdk, svc):
    entity = sdk.services(svc.sid).entities(IDENTITY)
    seed = pyotp.random_base32(32)
    new = entity.new_factors.create(friendly_name="S", factor_type="totp", binding_secret=seed)
    assert new.binding["secret"] == seed
    for bad in ["JBSWY3DPEHPK3PXP", "not base32 at all!!", "\uff11" * 32]:
        with pytest.raises(TwilioRestException) as exc:
            entity.new_factors.create(friendly_name="S", factor_type="totp", binding_secret=bad)
        assert exc.value.status == 400 and exc.value.code == 60200


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"config_code_length": 9}, "CodeLength"),
        ({"config_code_length": 2}, "CodeLength"),
        ({"config_time_step": 19}, "TimeStep"),
        ({"config_time_step": 61}, "TimeStep"),
        ({"config_skew": 3}, "Skew"),
        ({"config_alg": "md5"}, "Alg"),
        ({"friendly_name": "x" * 65}, "FriendlyName"),
        ({"factor_type": "push"}, "Binding.Alg"),  # a push factor needs its key
        ({"metadata": {"n": 1}}, "Metadata"),
    ],
)
def test_invalid_create_parameters(sdk, svc, kwargs, param):
    entity = sdk.services(svc.sid).entities(IDENTITY)
    args = {"friendly_name": "F", "factor_type": "totp", **kwargs}
    with pytest.raises(TwilioRestException) as exc:
        entity.new_factors.create(**args)
    assert exc.value.status == 400 and exc.value.code == 60200
    assert param in exc.value.msg


def test_update_fetch_delete_and_metadata(sdk, svc):
    entity = sdk.services(svc.sid).entities(IDENTITY)
    new = entity.new_factors.create(
        friendly_name="Old", factor_type="totp", metadata={"os": "Android"}
    )
    assert new.metadata == {"os": "Android"}
    updated = entity.factors(new.sid).update(
        friendly_name="New", config_skew=0, config_code_length=8
    )
    assert updated.friendly_name == "New"
    assert updated.config == {"alg": "sha1", "skew": 0, "code_length": 8, "time_step": 30}
    assert updated.metadata == {"os": "Android"}
    assert entity.factors(new.sid).delete() is True
    with pytest.raises(TwilioRestException) as exc:
        entity.factors(new.sid).fetch()
    assert exc.value.status == 404 and exc.value.code == 20404
    assert entity.factors.list() == []


def test_factor_create_creates_the_entity(sdk, svc):
    identity = "fresh-entity-0042"
    sdk.services(svc.sid).entities(identity).new_factors.create(
        friendly_name="F", factor_type="totp"
    )
    assert sdk.services(svc.sid).entities(identity).fetch().identity == identity
    with pytest.raises(TwilioRestException) as exc:
        sdk.services(svc.sid).entities("bad id!").new_factors.create(
            friendly_name="F", factor_type="totp"
        )
    assert exc.value.status in (400, 404)


def test_recovery_codes(sdk, svc):
    entity = sdk.services(svc.sid).entities(IDENTITY)
    first = entity.new_factors.create(friendly_name="Backup", factor_type="recovery_codes")
    assert first.status == "verified" and first.factor_type == "recovery_codes"
    codes = first.binding["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert first.config == {"remaining": 10}

    ch = entity.challenges.create(factor_sid=first.sid, auth_payload=codes[0])
    assert ch.status == "approved" and ch.factor_type == "recovery_codes"
    again = entity.challenges.create(factor_sid=first.sid, auth_payload=codes[0])
    assert again.status == "pending"
    assert entity.factors(first.sid).fetch().config == {"remaining": 9}

    second = entity.new_factors.create(friendly_name="Backup 2", factor_type="recovery_codes")
    with pytest.raises(TwilioRestException) as exc:
        entity.factors(first.sid).fetch()
    assert exc.value.status == 404
    # The old set no longer works, the new one does, on a TOTP factor too (one login field).
    totp_factor = entity.new_factors.create(friendly_name="App", factor_type="totp")
    entity.factors(totp_factor.sid).update(
        auth_payload=pyotp.TOTP(totp_factor.binding["secret"]).now()
    )
    old = entity.challenges.create(factor_sid=totp_factor.sid, auth_payload=codes[1])
    assert old.status == "pending"
    new_code = second.binding["codes"][3].lower().replace("-", "")
    used = entity.challenges.create(factor_sid=totp_factor.sid, auth_payload=new_code)
    assert used.status == "approved"
    assert entity.factors(second.sid).fetch().config == {"remaining": 9}
    # A recovery code cannot verify a TOTP enrolment.
    fresh = entity.new_factors.create(friendly_name="App 2", factor_type="totp")
    with pytest.raises(TwilioRestException) as exc:
        entity.factors(fresh.sid).update(auth_payload=second.binding["codes"][4])
    assert exc.value.status == 400 and exc.value.code == 60200


def test_other_tenant_sees_404(sdk, other_sdk, svc):
    entity = sdk.services(svc.sid).entities(IDENTITY)
    new = entity.new_factors.create(friendly_name="F", factor_type="totp")
    theirs = other_sdk.services(svc.sid).entities(IDENTITY)
    for call in (
        lambda: theirs.factors(new.sid).fetch(),
        lambda: theirs.factors(new.sid).update(friendly_name="x"),
        lambda: theirs.factors(new.sid).delete(),
        lambda: theirs.new_factors.create(friendly_name="F", factor_type="totp"),
    ):
        with pytest.raises(TwilioRestException) as exc:
            call()
        assert exc.value.status == 404 and exc.value.code == 20404
    with pytest.raises(TwilioException) as page_exc:
        theirs.factors.list()
    assert page_exc.value.args[1].status_code == 404
    assert entity.factors(new.sid).fetch().friendly_name == "F"


def test_other_tenants_factor_is_answered_like_a_random_sid(api, other_api, service):
    """Same status and body, byte for byte apart from the requested path."""
    from tests.factors.conftest import make_factor

    factor, _ = make_factor(service)
    random_sid = "YF" + "0" * 32
    base = f"/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors"
    for method in ("get", "post", "delete"):
        real = getattr(other_api, method)(f"{base}/{factor.sid}")
        fake = getattr(other_api, method)(f"{base}/{random_sid}")
        assert real.status_code == fake.status_code == 404
        assert real.json() == {
            **fake.json(),
            "message": fake.json()["message"].replace(random_sid, factor.sid),
        }
    assert api.get(f"{base}/{factor.sid}").status_code == 200
