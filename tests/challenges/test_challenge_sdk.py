"""Challenges through the official `twilio` SDK against a live server (real clock: codes
are computed for the client's current step and its neighbour, which the default skew of 1
accepts whichever of the two the server is in)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.factors.conftest import IDENTITY


@pytest.fixture
def enrolled(sdk):
    svc = sdk.services.create(friendly_name="Acme Login")
    entity = sdk.services(svc.sid).entities(IDENTITY)
    new = entity.new_factors.create(friendly_name="Phone", factor_type="totp")
    otp = pyotp.TOTP(new.binding["secret"])
    now = time.time()
    # Enrol with the current step T; challenges below use T+1 (accepted at server step T or
    # T+1), replays and T itself are then refused.
    assert entity.factors(new.sid).update(auth_payload=otp.at(now)).status == "verified"
    return svc, entity, new, otp, now


def test_challenge_approved_then_replay_and_earlier_step_refused(enrolled):
    _, entity, factor, otp, now = enrolled
    code = otp.at(now + 30)
    ch = entity.challenges.create(factor_sid=factor.sid, auth_payload=code)
    assert ch.sid.startswith("YC") and len(ch.sid) == 34
    assert ch.status == "approved"
    assert isinstance(ch.date_responded, datetime)
    assert ch.factor_sid == factor.sid and ch.factor_type == "totp"
    assert ch.responded_reason == "none"
    assert ch.links["notifications"].endswith(f"/Challenges/{ch.sid}/Notifications")

    replay = entity.challenges.create(factor_sid=factor.sid, auth_payload=code)
    assert replay.status == "pending" and replay.date_responded is None
    earlier = entity.challenges.create(factor_sid=factor.sid, auth_payload=otp.at(now))
    assert earlier.status == "pending"
    assert entity.challenges(ch.sid).fetch().status == "approved"


def test_pending_challenge_answered_by_update(enrolled):
    _, entity, factor, otp, now = enrolled
    ch = entity.challenges.create(
        factor_sid=factor.sid,
        details_message="Login from Berlin",
        details_fields=[{"label": "IP", "value": "1.2.3.4"}, {"label": "Browser", "value": "Fx"}],
        hidden_details={"ip": "172.168.1.234"},
    )
    assert ch.status == "pending" and ch.date_responded is None
    assert ch.details == {
        "message": "Login from Berlin",
        "fields": [{"label": "IP", "value": "1.2.3.4"}, {"label": "Browser", "value": "Fx"}],
    }
    assert ch.hidden_details == {"ip": "172.168.1.234"}
    lifetime = ch.expiration_date - ch.date_created
    assert timedelta(minutes=4, seconds=58) <= lifetime <= timedelta(minutes=5, seconds=2)

    wrong = "000000" if otp.at(now + 30) != "000000" else "111111"
    assert entity.challenges(ch.sid).update(auth_payload=wrong).status == "pending"
    done = entity.challenges(ch.sid).update(
        auth_payload=otp.at(now + 30), metadata={"os": "Android"}
    )
    assert done.status == "approved" and done.metadata == {"os": "Android"}
    with pytest.raises(TwilioRestException) as exc:
        entity.challenges(ch.sid).update(auth_payload=otp.at(now + 30))
    assert exc.value.status == 403 and exc.value.code == 60322


def test_five_wrong_codes_deny_then_429(enrolled):
    _, entity, factor, otp, now = enrolled
    valid = {otp.at(now + d) for d in (-60, -30, 0, 30, 60)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    ch = entity.challenges.create(factor_sid=factor.sid)
    for _ in range(4):
        assert entity.challenges(ch.sid).update(auth_payload=wrong).status == "pending"
    denied = entity.challenges(ch.sid).update(auth_payload=wrong)
    assert denied.status == "denied" and denied.date_responded is not None
    with pytest.raises(TwilioRestException) as exc:
        entity.challenges(ch.sid).update(auth_payload=otp.at(now + 30))
    assert exc.value.status == 429 and exc.value.code == 60308


def test_unverified_factor_is_400(sdk):
    svc = sdk.services.create(friendly_name="Unverified")
    entity = sdk.services(svc.sid).entities(IDENTITY)
    new = entity.new_factors.create(friendly_name="Phone", factor_type="totp")
    with pytest.raises(TwilioRestException) as exc:
        entity.challenges.create(
            factor_sid=new.sid, auth_payload=pyotp.TOTP(new.binding["secret"]).now()
        )
    assert exc.value.status == 403 and exc.value.code == 60318


@pytest.mark.parametrize(
    "kwargs",
    [
        # Offsets from the moment the test runs, not from collection (a long run would
        # otherwise bring "61 minutes from collection" within the 60-minute limit).
        {"expiration_date": timedelta(minutes=61)},
        {"expiration_date": timedelta(minutes=-1)},
        {"details_message": "x" * 257},
        {"details_fields": [{"label": "x" * 37, "value": "v"}]},
        {"details_fields": [{"label": "a", "value": "v"}] * 21},
        {"details_fields": ["not an object"]},
        {"hidden_details": {"n": 1}},
        {"auth_payload": "12345"},
        {"auth_payload": "\uff11\uff12\uff13\uff14\uff15\uff16"},
    ],
)
def test_invalid_challenge_parameters(enrolled, kwargs):
    _, entity, factor, _, _ = enrolled
    kwargs = {
        k: datetime.now(UTC) + v if isinstance(v, timedelta) else v for k, v in kwargs.items()
    }
    with pytest.raises(TwilioRestException) as exc:
        entity.challenges.create(factor_sid=factor.sid, **kwargs)
    assert exc.value.status == 400 and exc.value.code == 60200


def test_explicit_expiration_date(enrolled):
    _, entity, factor, _, _ = enrolled
    when = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0, tzinfo=None)
    ch = entity.challenges.create(factor_sid=factor.sid, expiration_date=when)
    assert ch.expiration_date == when.replace(tzinfo=UTC)


def test_list_filters_and_order(enrolled):
    _, entity, factor, otp, now = enrolled
    second = entity.new_factors.create(friendly_name="Other", factor_type="totp")
    entity.factors(second.sid).update(auth_payload=pyotp.TOTP(second.binding["secret"]).at(now))
    a = entity.challenges.create(factor_sid=factor.sid)
    b = entity.challenges.create(factor_sid=factor.sid, auth_payload=otp.at(now + 30))
    c = entity.challenges.create(factor_sid=second.sid)
    assert [x.sid for x in entity.challenges.list()] == [a.sid, b.sid, c.sid]
    assert [x.sid for x in entity.challenges.list(order="desc")] == [c.sid, b.sid, a.sid]
    assert [x.sid for x in entity.challenges.list(factor_sid=factor.sid)] == [a.sid, b.sid]
    assert [x.sid for x in entity.challenges.list(status="approved")] == [b.sid]
    assert [x.sid for x in entity.challenges.list(status="pending", order="desc")] == [
        c.sid,
        a.sid,
    ]
    # Paging keeps the filters and the order.
    paged = entity.challenges.list(status="pending", order="desc", page_size=1)
    assert [x.sid for x in paged] == [c.sid, a.sid]
    with pytest.raises(TwilioException) as exc:  # the SDK wraps a non-200 list page
        entity.challenges.list(status="bogus")
    assert exc.value.args[1].status_code == 400


def test_other_tenant_sees_404(enrolled, other_sdk, api, other_api):
    svc, entity, factor, otp, now = enrolled
    ch = entity.challenges.create(factor_sid=factor.sid)
    theirs = other_sdk.services(svc.sid).entities(IDENTITY)
    for call in (
        lambda: theirs.challenges(ch.sid).fetch(),
        lambda: theirs.challenges(ch.sid).update(auth_payload=otp.at(now + 30)),
        lambda: theirs.challenges.create(factor_sid=factor.sid, auth_payload=otp.at(now + 30)),
    ):
        with pytest.raises(TwilioRestException) as exc:
            call()
        assert exc.value.status == 404 and exc.value.code == 20404
    # Nothing the other tenant sent was counted: the owner's code still approves.
    assert entity.challenges(ch.sid).update(auth_payload=otp.at(now + 30)).status == "approved"

    base = f"/v2/Services/{svc.sid}/Entities/{IDENTITY}/Challenges"
    random_sid = "YC" + "f" * 32
    real, fake = other_api.get(f"{base}/{ch.sid}"), other_api.get(f"{base}/{random_sid}")
    assert real.status_code == fake.status_code == 404
    assert real.json() == {
        **fake.json(),
        "message": fake.json()["message"].replace(random_sid, ch.sid),
    }
