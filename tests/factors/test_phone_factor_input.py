"""Generated `Binding.PhoneNumber` and `AuthPayload` strings never cause a 500, and an
invalid number never reaches an adapter."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from challenges.models import DeliveryAttempt, FactorCode
from factors.models import Factor
from tests.challenges.conftest import locmem_channels, run_due  # noqa: F401
from tests.helpers import assert_twilio_error, form
from tests.phone import IDENTITY

pytestmark = pytest.mark.django_db

FIXTURES_OK = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
phone_like = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\+[0-9 ()\-.]{0,24}", fullmatch=True),
    st.text(alphabet="+0123456789\uff10\uff11\uff12\u0660\u0661", max_size=20),
)


def _clean(locmem) -> None:
    Factor.objects.all().delete()
    locmem.reset()


@FIXTURES_OK
@given(number=phone_like, factor_type=st.sampled_from(["sms", "whatsapp", "voice"]))
def test_generated_numbers(api, service, locmem_channels, number, factor_type):  # noqa: F811
    _clean(locmem_channels)
    response = form(
        api,
        f"/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors",
        {"FriendlyName": "p", "FactorType": factor_type, "Binding.PhoneNumber": number},
    )
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        body = assert_twilio_error(response, 400, 60200)
        assert "Binding.PhoneNumber" in body["message"]
        assert not Factor.objects.exists() and not DeliveryAttempt.objects.exists()
        run_due()
        assert locmem_channels.outbox == []
    else:
        run_due()
        [message] = locmem_channels.outbox
        assert message.to == response.json()["binding"]["phone_number"] and message.to.isascii()


@FIXTURES_OK
@given(payload=st.one_of(st.text(max_size=14), st.from_regex(r"[0-9]{6}\s?", fullmatch=True)))
def test_generated_auth_payloads(api, service, locmem_channels, payload):  # noqa: F811
    from factors import domain

    _clean(locmem_channels)
    factor, _ = domain.factor_create(
        service=service,
        identity=IDENTITY,
        factor_type="sms",
        friendly_name="p",
        phone_number="+447911123456",
    )
    run_due()
    response = form(
        api,
        f"/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors/{factor.sid}",
        {"AuthPayload": payload},
    )
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert_twilio_error(response, 400, 60200)
        assert FactorCode.objects.get(factor=factor).check_attempts == 0
