"""Geo permissions: codes go only to the countries the operator allows (SECURITY R19: country
allow-lists stop SMS pumping before the provider is called)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from twilio.base.exceptions import TwilioRestException

from challenges.models import DeliveryAttempt, Verification
from factors.models import Factor
from tests.challenges.conftest import locmem_channels, run_due  # noqa: F401 (autouse fixture)
from tests.phone import sdk_create_factor, sent

US = "+14155550142"
GB = "+447911123456"


@pytest.fixture
def only_north_america(settings):
    settings.VERIFY_ALLOWED_COUNTRIES = ["US", "ca"]  # case does not matter


def _refused(call) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as exc:
        call()
    return exc.value


def test_a_start_to_another_country_is_403_and_nothing_is_written_or_sent(
    sdk, service, only_north_america
):
    verifications = sdk.services(service.sid).verifications
    for channel in ("sms", "whatsapp", "call"):
        err = _refused(lambda channel=channel: verifications.create(to=GB, channel=channel))
        assert (err.status, err.code) == (403, 60605)
    assert not Verification.objects.exists() and not DeliveryAttempt.objects.exists()

    allowed = verifications.create(to=US, channel="sms")
    assert allowed.status == "pending"
    assert run_due() == ["sent"]
    assert [to for _, to, _ in sent()] == [US]


def test_without_a_list_every_country_is_allowed(sdk, service, settings):
    settings.VERIFY_ALLOWED_COUNTRIES = []
    assert sdk.services(service.sid).verifications.create(to=GB, channel="sms").status == "pending"


def test_email_destinations_are_not_judged(sdk, service, only_north_america):
    started = sdk.services(service.sid).verifications.create(to="user@example.org", channel="email")
    assert started.status == "pending"


def test_a_phone_factor_in_another_country_is_refused_and_not_kept(
    sdk, service, only_north_america
):
    err = _refused(
        lambda: sdk_create_factor(
            sdk, service.sid, **{"FactorType": "sms", "Binding.PhoneNumber": GB}
        )
    )
    assert (err.status, err.code) == (403, 60605)
    assert not Factor.objects.exists() and run_due() == [] and sent() == []


def test_an_unknown_country_code_fails_the_system_check(settings):
    settings.VERIFY_ALLOWED_COUNTRIES = ["US", "XX"]
    with pytest.raises(SystemCheckError, match=r"limits\.E001"):
        call_command("check")
