"""Phone factors (extension) through the official SDK: create sends a code, the factor
update with that code verifies it; the number is shown in full only on create."""

from __future__ import annotations

from datetime import timedelta

import pytest
from twilio.base.exceptions import TwilioRestException

from challenges.models import DeliveryAttempt, FactorCode
from factors import domain
from factors.models import Factor
from services.models import Event
from tests.challenges.conftest import LANDLINE, MOBILE, locmem_channels, run_due  # noqa: F401
from tests.phone import IDENTITY, last_code, sdk_create_factor, sent, wrong_code


def _error(call) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as exc:
        call()
    return exc.value


@pytest.mark.parametrize(
    ("factor_type", "channel"), [("sms", "sms"), ("whatsapp", "whatsapp"), ("voice", "call")]
)
def test_create_sends_a_code_and_the_update_verifies(sdk, service, factor_type, channel):
    created = sdk_create_factor(
        sdk, service.sid, **{"FactorType": factor_type, "Binding.PhoneNumber": "+44 7911 123456"}
    )
    assert created.sid.startswith("YF") and created.status == "unverified"
    assert created.factor_type == factor_type
    assert created.binding == {"phone_number": MOBILE}  # normalised, in full, only here
    assert created.config == {"channel": channel, "phone_number": "+4*******3456"}

    assert run_due() == ["sent"]
    [(sent_channel, to, code)] = sent()
    assert (sent_channel, to) == (channel, MOBILE)
    assert len(code) == service.code_length and code.isdigit()

    factor = sdk.services(service.sid).entities(IDENTITY).factors(created.sid)
    fetched = factor.fetch()
    assert fetched.status == "unverified"
    assert fetched.config == {"channel": channel, "phone_number": "+4*******3456"}
    assert not hasattr(fetched, "binding")
    [listed] = sdk.services(service.sid).entities(IDENTITY).factors.list()
    assert listed.config["phone_number"] == "+4*******3456"

    assert factor.update(auth_payload=wrong_code(code)).status == "unverified"
    verified = factor.update(auth_payload=code)
    assert verified.status == "verified"
    row = Factor.objects.get(pk=created.sid)
    assert row.consecutive_failures == 0  # the success forgot the wrong code
    assert MOBILE not in row.phone_number_encrypted and row.phone_number_encrypted
    types = set(Event.objects.filter(resource_sid=created.sid).values_list("type", flat=True))
    assert types == {"factor.created", "delivery.sent", "factor.verified"}
    for event in Event.objects.filter(resource_sid=created.sid):
        assert MOBILE not in str(event.payload) and code not in str(event.payload)
    # The enrolment code is spent: its sealed copy is gone, and it verifies nothing again.
    enrolment = FactorCode.objects.get(factor_id=created.sid)
    assert enrolment.status == "approved" and enrolment.code_sealed == ""


def test_enrolment_code_is_refused_after_its_lifetime(service):
    from verify_platform.lib.clock import current_time

    factor, _ = domain.factor_create(
        service=service,
        identity=IDENTITY,
        factor_type="sms",
        friendly_name="p",
        phone_number=MOBILE,
    )
    run_due()
    code = last_code(MOBILE)
    late = current_time() + timedelta(minutes=10, seconds=1)
    from factors.errors import FactorCodeUnavailable

    with pytest.raises(FactorCodeUnavailable):
        domain.factor_update(factor=factor, auth_payload=code, now=late)
    assert Factor.objects.get(pk=factor.sid).status == "unverified"


def test_five_wrong_enrolment_codes_spend_it(sdk, service):
    created = sdk_create_factor(
        sdk, service.sid, **{"FactorType": "sms", "Binding.PhoneNumber": MOBILE}
    )
    run_due()
    code = last_code(MOBILE)
    factor = sdk.services(service.sid).entities(IDENTITY).factors(created.sid)
    for _ in range(5):
        assert factor.update(auth_payload=wrong_code(code)).status == "unverified"
    Factor.objects.filter(pk=created.sid).update(next_check_at=None)  # not the factor throttle
    err = _error(lambda: factor.update(auth_payload=code))
    assert (err.status, err.code) == (400, 60317)
    assert FactorCode.objects.get(factor_id=created.sid).status == "max_attempts_reached"


@pytest.mark.parametrize(
    ("factor_type", "number"),
    [
        ("sms", "12345"),
        ("sms", "+1 555"),
        ("sms", "+4420"),
        ("sms", "+447911123456x1"),
        ("sms", "+44791112345６"),
        ("sms", "+" + "1" * 40),
        ("sms", LANDLINE),
        ("whatsapp", LANDLINE),
        ("voice", "not a number"),
        ("sms", ""),
    ],
)
def test_invalid_numbers_are_400_naming_the_binding(sdk, service, factor_type, number):
    data = {"FactorType": factor_type}
    if number:
        data["Binding.PhoneNumber"] = number
    err = _error(lambda: sdk_create_factor(sdk, service.sid, **data))
    assert (err.status, err.code) == (400, 60200)
    assert "Binding.PhoneNumber" in err.msg
    assert run_due() == [] and sent() == []
    assert not Factor.objects.exists() and not DeliveryAttempt.objects.exists()


def test_a_landline_can_be_a_voice_factor(sdk, service):
    created = sdk_create_factor(
        sdk, service.sid, **{"FactorType": "voice", "Binding.PhoneNumber": LANDLINE}
    )
    run_due()
    assert sent() == [("call", LANDLINE, last_code(LANDLINE))]
    assert created.status == "unverified"


def test_a_disabled_channel_is_400_and_nothing_is_stored(sdk, service, settings):
    settings.VERIFY_CHANNELS = {"sms": {"BACKEND": "locmem", "OPTIONS": {}}}
    err = _error(
        lambda: sdk_create_factor(
            sdk, service.sid, **{"FactorType": "whatsapp", "Binding.PhoneNumber": MOBILE}
        )
    )
    assert (err.status, err.code) == (400, 60200) and "FactorType" in err.msg
    assert not Factor.objects.exists() and sent() == []


def test_another_tenant_gets_404(sdk, other_sdk, service):
    created = sdk_create_factor(
        sdk, service.sid, **{"FactorType": "sms", "Binding.PhoneNumber": MOBILE}
    )
    run_due()
    theirs = other_sdk.services(service.sid).entities(IDENTITY).factors(created.sid)
    err = _error(theirs.fetch)
    assert (err.status, err.code) == (404, 20404)
    err = _error(lambda: theirs.update(auth_payload=last_code(MOBILE)))
    assert (err.status, err.code) == (404, 20404)
    err = _error(
        lambda: sdk_create_factor(
            other_sdk, service.sid, **{"FactorType": "sms", "Binding.PhoneNumber": MOBILE}
        )
    )
    assert (err.status, err.code) == (404, 20404)
    assert Factor.objects.get(pk=created.sid).status == "unverified"


def test_deleting_the_factor_stops_its_send(sdk, service):
    created = sdk_create_factor(
        sdk, service.sid, **{"FactorType": "sms", "Binding.PhoneNumber": MOBILE}
    )
    sdk.services(service.sid).entities(IDENTITY).factors(created.sid).delete()
    assert run_due() == [] and sent() == []
    assert not FactorCode.objects.exists() and not DeliveryAttempt.objects.exists()
    deleted = Event.objects.get(resource_sid=created.sid, type="factor.deleted")
    assert deleted.payload["factor_type"] == "sms" and MOBILE not in str(deleted.payload)
