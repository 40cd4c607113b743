"""Bad input never causes a 500 and never reaches an adapter (hypothesis-generated strings)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from challenges.models import DeliveryAttempt, Verification
from limits.models import DestinationThrottle
from tests.challenges.conftest import MOBILE, run_due
from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db

FIXTURES_OK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
phone_like = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\+[0-9 ()\-.]{0,24}", fullmatch=True),
    st.text(alphabet="+0123456789\uff10\uff11\uff12\u0660\u0661", max_size=20),
)


def _clean(locmem) -> None:
    DeliveryAttempt.objects.all().delete()
    Verification.objects.all().delete()
    DestinationThrottle.objects.all().delete()  # each example starts without a failure streak
    locmem.reset()


@FIXTURES_OK
@given(to=phone_like, channel=st.sampled_from(["sms", "whatsapp", "call", "email", "auto"]))
def test_generated_to(api, service, locmem_channels, to, channel):
    _clean(locmem_channels)
    response = form(
        api, f"/v2/Services/{service.sid}/Verifications", {"To": to, "Channel": channel}
    )
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert_twilio_error(response, 400, 60200)
        assert not DeliveryAttempt.objects.exists()
        run_due()
        assert locmem_channels.outbox == []
    else:
        run_due()
        [message] = locmem_channels.outbox
        assert message.to == response.json()["to"] and message.to.isascii()


@FIXTURES_OK
@given(locale=st.text(max_size=20))
def test_generated_locale(api, service, locmem_channels, locale):
    _clean(locmem_channels)
    response = form(
        api,
        f"/v2/Services/{service.sid}/Verifications",
        {"To": MOBILE, "Channel": "sms", "Locale": locale},
    )
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert_twilio_error(response, 400, 60200)
        assert "Locale" in response.json()["message"] and not DeliveryAttempt.objects.exists()


@FIXTURES_OK
@given(code=st.one_of(st.text(max_size=14), st.from_regex(r"[0-9]{6}\s?", fullmatch=True)))
def test_generated_code(api, service, locmem_channels, code):
    _clean(locmem_channels)
    created = form(
        api, f"/v2/Services/{service.sid}/Verifications", {"To": MOBILE, "Channel": "sms"}
    )
    assert created.status_code == 201
    response = form(
        api, f"/v2/Services/{service.sid}/VerificationCheck", {"To": MOBILE, "Code": code}
    )
    assert response.status_code in (201, 400), response.content
    verification = Verification.objects.get()
    valid_shape = len(code) == 6 and code.isascii() and code.isdigit()
    if not valid_shape:
        assert_twilio_error(response, 400, 60200)
        assert verification.check_attempts == 0  # rejected input is not a guess
    else:
        assert response.json()["status"] in ("pending", "approved")


@pytest.mark.parametrize("variant", [" {c}", "{c} ", "{c}\n", "{fw}", "{ar}", "0{c}", "{c}0"])
def test_code_variants_are_rejected_not_canonicalised(api, service, locmem_channels, variant):
    form(api, f"/v2/Services/{service.sid}/Verifications", {"To": MOBILE, "Channel": "sms"})
    run_due()
    [message] = locmem_channels.outbox
    code = message.code
    full_width = "".join(chr(0xFF10 + int(d)) for d in code)
    arabic = "".join(chr(0x0660 + int(d)) for d in code)
    response = form(
        api,
        f"/v2/Services/{service.sid}/VerificationCheck",
        {"To": MOBILE, "Code": variant.format(c=code, fw=full_width, ar=arabic)},
    )
    assert_twilio_error(response, 400, 60200)
    assert Verification.objects.get().status == "pending"
