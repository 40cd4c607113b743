"""Wire-level rules checked with Django's test client (faster than the live server)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from challenges.models import Challenge
from factors.models import Factor
from tests.factors.conftest import IDENTITY, code_for, make_verified_factor
from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db

VARIANTS = [
    " {c}",
    "{c} ",
    "{c}\n",
    "\t{c}",
    "{a} {b}",
    "{fw}",
    "{arabic}",
    "+{c5}",
    "{c5}",
    "{c}0",
    "{a}_{b}",
]

FULL_WIDTH = {ord(d): chr(0xFF10 + int(d)) for d in "0123456789"}
ARABIC_INDIC = {ord(d): chr(0x0660 + int(d)) for d in "0123456789"}


def variants(code: str) -> list[str]:
    return [
        v.format(
            c=code,
            a=code[:3],
            b=code[3:],
            fw=code.translate(FULL_WIDTH),
            arabic=code.translate(ARABIC_INDIC),
            c5=code[:5],
        )
        for v in VARIANTS
    ]


@pytest.fixture
def live_factor(service):
    """Verified an hour ago (real clock), so the current steps are all unused."""
    now = timezone.now()
    factor, secret = make_verified_factor(service, now=now)
    return factor, secret


def challenges_path(service) -> str:
    return f"/v2/Services/{service.sid}/Entities/{IDENTITY}/Challenges"


def test_non_ascii_and_padded_codes_are_400_and_not_counted(api, service, live_factor):
    factor, secret = live_factor
    code = code_for(factor, secret, timezone.now(), 1)
    for variant in variants(code):
        resp = form(
            api, challenges_path(service), {"FactorSid": factor.sid, "AuthPayload": variant}
        )
        body = assert_twilio_error(resp, 400, 60200)
        assert "AuthPayload" in body["message"], variant
    assert Challenge.objects.count() == 0
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 0
    # The exact code still works once, and none of its variants replays it.
    ok = form(api, challenges_path(service), {"FactorSid": factor.sid, "AuthPayload": code})
    assert ok.status_code == 201 and ok.json()["status"] == "approved"
    for variant in variants(code):
        resp = form(
            api, challenges_path(service), {"FactorSid": factor.sid, "AuthPayload": variant}
        )
        assert resp.status_code == 400
    again = form(api, challenges_path(service), {"FactorSid": factor.sid, "AuthPayload": code})
    assert again.status_code == 201 and again.json()["status"] == "pending"


def test_factor_verification_rejects_variants(api, service):
    from tests.factors.conftest import make_factor

    factor, secret = make_factor(service)
    code = code_for(factor, secret, timezone.now())
    path = f"/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors/{factor.sid}"
    for variant in variants(code):
        assert_twilio_error(form(api, path, {"AuthPayload": variant}), 400, 60200)
    resp = form(api, path, {"AuthPayload": code})
    assert resp.status_code == 200 and resp.json()["status"] == "verified"


def test_throttle_is_429_with_retry_after(api, service, live_factor):
    factor, secret = live_factor
    Factor.objects.filter(pk=factor.pk).update(
        consecutive_failures=7, next_check_at=timezone.now() + timedelta(seconds=90)
    )
    code = code_for(factor, secret, timezone.now(), 1)
    resp = form(api, challenges_path(service), {"FactorSid": factor.sid, "AuthPayload": code})
    assert_twilio_error(resp, 429, 60310)
    assert 85 <= int(resp["Retry-After"]) <= 90
    assert Challenge.objects.count() == 0

    Factor.objects.filter(pk=factor.pk).update(next_check_at=None, locked=True)
    resp = form(api, challenges_path(service), {"FactorSid": factor.sid, "AuthPayload": code})
    assert_twilio_error(resp, 429, 60310)
    assert "Retry-After" not in resp


def test_challenge_fields_exactly(api, service, live_factor):
    factor, _ = live_factor
    resp = form(
        api,
        challenges_path(service),
        {"FactorSid": factor.sid, "Details.Message": "Hi", "Metadata": '{"os": "iOS"}'},
    )
    assert resp.status_code == 201
    body = resp.json()
    assert set(body) == {
        "sid", "account_sid", "service_sid", "entity_sid", "identity", "factor_sid",
        "date_created", "date_updated", "date_responded", "expiration_date", "status",
        "responded_reason", "details", "hidden_details", "metadata", "factor_type", "url",
        "links",
        "recovery_code_used", "recovery_codes_remaining",  # extensions
    }  # fmt: skip
    assert body["details"] == {"message": "Hi", "fields": []}
    assert body["metadata"] == {"os": "iOS"}
    assert body["expiration_date"].endswith("Z") and "." not in body["expiration_date"]


def test_fetch_and_list_show_expiry(api, service, live_factor):
    factor, _ = live_factor
    ch = form(api, challenges_path(service), {"FactorSid": factor.sid}).json()
    Challenge.objects.filter(pk=ch["sid"]).update(
        expiration_date=timezone.now() - timedelta(seconds=1)
    )
    listed = api.get(challenges_path(service), {"Status": "expired"}).json()["challenges"]
    assert [c["sid"] for c in listed] == [ch["sid"]]
    assert listed[0]["status"] == "expired"
    assert api.get(challenges_path(service), {"Status": "pending"}).json()["challenges"] == []
    fetched = api.get(f"{challenges_path(service)}/{ch['sid']}").json()
    assert fetched["status"] == "expired"
    assert Challenge.objects.get(pk=ch["sid"]).status == "expired"  # written on read


def test_sweeper_task(service, live_factor):
    from challenges.tasks import challenge_expire_sweep_task
    from verify_platform.celery import app

    factor, _ = live_factor
    from challenges import domain

    ch = domain.challenge_create(factor=factor)
    Challenge.objects.filter(pk=ch.pk).update(expiration_date=timezone.now() - timedelta(seconds=1))
    assert "challenges.tasks.challenge_expire_sweep_task" in app.tasks
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["challenge-expire-sweep"]
    assert entry["task"] == "challenges.tasks.challenge_expire_sweep_task"
    assert challenge_expire_sweep_task() == 1
    assert Challenge.objects.get(pk=ch.pk).status == "expired"


def test_openapi_documents_the_error_codes(client):
    schema = client.get("/openapi.json", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    paths = schema.json()["paths"]
    assert "/v2/Services/{service_sid}/Entities/{identity}/Factors/{sid}" in paths
    assert "/v2/Services/{service_sid}/Entities/{identity}/Challenges/{sid}" in paths
    for code in ("60308", "60310", "60322", "60318", "60323"):
        assert code in text, code
    assert "recovery_codes" in text and "qr_code" in text


@given(payload=st.text(max_size=24))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_any_auth_payload_is_a_clean_answer(api, service, live_factor, payload):
    """Whatever arrives as AuthPayload: a challenge or a 4xx in Twilio's shape, never a 500."""
    factor, _ = live_factor
    resp = form(api, challenges_path(service), {"FactorSid": factor.sid, "AuthPayload": payload})
    assert resp.status_code in (201, 400, 429), (payload, resp.content[:200])
    if resp.status_code == 201:
        assert payload.isascii() and payload.isdigit() and len(payload) == 6
    else:
        assert set(resp.json()) == {"code", "message", "more_info", "status"}


def test_a_challenge_approved_on_create_is_few_statements(
    api, service, live_factor, django_assert_max_num_queries
):
    """The hot path of a login with an authenticator app: authentication, the factor, and one
    statement that books the step and stores the approved challenge and its event. A failing
    count means a re-read, a lock or a transaction came back."""
    factor, secret = live_factor
    with django_assert_max_num_queries(3):
        resp = form(
            api,
            challenges_path(service),
            {"FactorSid": factor.sid, "AuthPayload": code_for(factor, secret, timezone.now())},
        )
    assert resp.status_code == 201 and resp.json()["status"] == "approved"
    stored = Factor.objects.get(pk=factor.sid)
    assert stored.consecutive_failures == 0 and stored.last_accepted_step is not None
    assert Challenge.objects.get(pk=resp.json()["sid"]).status == "approved"


def test_a_challenge_names_its_factor_through_the_tenant(
    api, other_api, tenant, service, live_factor
):
    """The factor is read by its key and the tenant checked on the row: another tenant, a
    sibling service or another identity get the 404 of a random SID, and nothing is booked."""
    from services import domain as service_domain

    factor, secret = live_factor
    sibling = service_domain.service_create(account=tenant.account, friendly_name="Sibling")
    data = {"FactorSid": factor.sid, "AuthPayload": code_for(factor, secret, timezone.now())}
    for client, path in (
        (other_api, challenges_path(service)),
        (api, challenges_path(sibling)),
        (api, f"/v2/Services/{service.sid}/Entities/someone-else/Challenges"),
        (api, challenges_path(service).replace(IDENTITY, IDENTITY.upper())),
    ):
        assert_twilio_error(form(client, path, data), 404, 20404)
    assert Factor.objects.get(pk=factor.sid).last_accepted_step == factor.last_accepted_step
    assert not Challenge.objects.filter(factor_id=factor.sid).exists()
    assert form(api, challenges_path(service), data).json()["status"] == "approved"
