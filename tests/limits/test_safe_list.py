"""The Safe List (Twilio Verify v2 `/SafeList/Numbers`, wire reference 4.13): numbers of one
account that geo permissions never refuse, through the official SDK."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from twilio.base.exceptions import TwilioRestException

from challenges.models import Verification
from factors.models import Factor
from limits import domain
from limits.models import DestinationThrottle, SafeListNumber
from tests.helpers import assert_twilio_error, form
from tests.limits.conftest import start
from tests.phone import sdk_create_factor, sent

pytestmark = pytest.mark.django_db

US = "+14155550142"
GB = "+447911123456"
OTHER_GB = "+447911123457"
TABLE = SafeListNumber._meta.db_table


@pytest.fixture
def only_us(settings):
    settings.VERIFY_ALLOWED_COUNTRIES = ["US"]


def _error(call) -> tuple[int, int]:
    with pytest.raises(TwilioRestException) as exc:
        call()
    return exc.value.status, exc.value.code


def test_create_fetch_delete_round_trip(sdk, live_server):
    created = sdk.safelist.create(phone_number=GB)
    assert created.sid.startswith("GN") and len(created.sid) == 34
    assert created.phone_number == GB
    assert created.url == f"{live_server.url}/v2/SafeList/Numbers/{GB}"

    fetched = sdk.safelist(GB).fetch()
    assert (fetched.sid, fetched.phone_number, fetched.url) == (
        created.sid,
        GB,
        created.url,
    )

    assert sdk.safelist(GB).delete() is True
    assert _error(sdk.safelist(GB).fetch) == (404, 20404)
    assert _error(sdk.safelist(GB).delete) == (404, 20404)
    assert not SafeListNumber.objects.exists()


def test_a_number_is_stored_in_e164_form(sdk):
    created = sdk.safelist.create(phone_number="+44 7911 123-456")
    assert created.phone_number == GB
    assert sdk.safelist(GB).fetch().sid == created.sid


def test_a_second_add_of_the_same_number_is_60411_and_keeps_the_entry(sdk):
    first = sdk.safelist.create(phone_number=GB)
    assert _error(lambda: sdk.safelist.create(phone_number=GB)) == (409, 60411)
    assert list(SafeListNumber.objects.values_list("sid", flat=True)) == [first.sid]


def test_another_tenants_number_is_the_same_404_as_an_unknown_one(sdk, other_sdk, api, other_api):
    mine = sdk.safelist.create(phone_number=GB)
    assert _error(other_sdk.safelist(GB).fetch) == (404, 20404)
    assert _error(other_sdk.safelist(GB).delete) == (404, 20404)
    assert sdk.safelist(GB).fetch().sid == mine.sid  # the other tenant's delete did nothing

    foreign = assert_twilio_error(other_api.get(f"/v2/SafeList/Numbers/{GB}"), 404, 20404)
    unknown = assert_twilio_error(other_api.get(f"/v2/SafeList/Numbers/{US}"), 404, 20404)
    assert foreign["message"].replace(GB, "N") == unknown["message"].replace(US, "N")

    # Each tenant has its own list: the same number can be in both.
    theirs = other_sdk.safelist.create(phone_number=GB)
    assert theirs.sid != mine.sid and SafeListNumber.objects.count() == 2


@pytest.mark.parametrize(
    "number", ["", "14155550142", "+1415555", "+999999999999", "+1 415 555 0142 ext 3", "abc"]
)
def test_an_invalid_number_is_400_60200(api, number):
    body = assert_twilio_error(
        form(api, "/v2/SafeList/Numbers", {"PhoneNumber": number}), 400, 60200
    )
    assert "PhoneNumber" in body["message"]
    assert not SafeListNumber.objects.exists()


def test_a_missing_number_is_400_60200(api):
    assert_twilio_error(form(api, "/v2/SafeList/Numbers", {}), 400, 60200)


@pytest.mark.parametrize("path", ["abc", "14155550142", "+1415555", "%2B999"])
def test_a_path_that_is_no_phone_number_is_404(api, path):
    assert_twilio_error(api.get(f"/v2/SafeList/Numbers/{path}"), 404, 20404)
    assert_twilio_error(api.delete(f"/v2/SafeList/Numbers/{path}"), 404, 20404)


def test_a_safe_listed_number_passes_the_geo_check_of_its_own_account_only(
    sdk, other_sdk, service, other_tenant, only_us
):
    from services import domain as service_domain

    other_service = service_domain.service_create(
        account=other_tenant.account, friendly_name="Other"
    )
    verifications = sdk.services(service.sid).verifications
    assert _error(lambda: verifications.create(to=GB, channel="sms")) == (403, 60605)

    # Another tenant's Safe List does not help this one (nor the other way round).
    other_sdk.safelist.create(phone_number=GB)
    assert _error(lambda: verifications.create(to=GB, channel="sms")) == (403, 60605)
    assert not Verification.objects.exists()

    sdk.safelist.create(phone_number=GB)
    assert verifications.create(to=GB, channel="sms").status == "pending"
    # Only that number: its neighbour in the same country is still refused.
    assert _error(lambda: verifications.create(to=OTHER_GB, channel="sms")) == (403, 60605)

    other_sdk.safelist(GB).delete()
    other_verifications = other_sdk.services(other_service.sid).verifications
    assert _error(lambda: other_verifications.create(to=GB, channel="sms")) == (403, 60605)

    # Removed from the list: the next start is refused again.
    sdk.safelist(GB).delete()
    assert _error(lambda: verifications.create(to=GB, channel="call")) == (403, 60605)


def test_a_safe_listed_number_can_enrol_a_phone_factor(sdk, service, only_us):
    create = lambda: sdk_create_factor(  # noqa: E731
        sdk, service.sid, **{"FactorType": "sms", "Binding.PhoneNumber": GB}
    )
    assert _error(create) == (403, 60605)
    assert not Factor.objects.exists()

    sdk.safelist.create(phone_number=GB)
    assert create().status == "unverified"
    from tests.challenges.conftest import run_due

    assert run_due() == ["sent"] and [to for _, to, _ in sent()] == [GB]


def test_a_start_to_an_allowed_country_never_reads_the_safe_list(api, service, only_us):
    with CaptureQueriesContext(connection) as allowed:
        assert start(api, service, US).status_code == 201
    assert allowed.captured_queries
    assert not [q for q in allowed.captured_queries if TABLE in q["sql"]]

    # The control: a refused country does read it (so the assertion above can fail).
    with CaptureQueriesContext(connection) as refused:
        assert_twilio_error(start(api, service, GB), 403, 60605)
    assert [q for q in refused.captured_queries if TABLE in q["sql"]]


def test_without_a_country_list_the_safe_list_is_not_read(api, service, settings):
    settings.VERIFY_ALLOWED_COUNTRIES = []
    with CaptureQueriesContext(connection) as ctx:
        assert start(api, service, GB).status_code == 201
    assert not [q for q in ctx.captured_queries if TABLE in q["sql"]]


def test_the_safe_list_does_not_lift_the_failed_check_block(api, tenant, service, only_us):
    """Twilio's Safe List bypasses geo permissions and Fraud Guard, not attempt limits."""
    domain.safe_list_number_create(account=tenant.account, phone_number=GB)
    DestinationThrottle.objects.create(
        account_id=service.account_id,
        service=service,
        to=GB,
        status=DestinationThrottle.Status.BLOCKED,
        consecutive_failures=100,
    )
    assert_twilio_error(start(api, service, GB), 429, 60202)
    assert not Verification.objects.exists()


def test_the_admin_lists_adds_and_removes_through_the_domain(admin_client, tenant):
    added = admin_client.post(
        "/admin/limits/safelistnumber/add/",
        {"account": tenant.sid, "phone_number": "+44 7911 123456"},
    )
    assert added.status_code == 302
    entry = SafeListNumber.objects.get()
    assert (entry.account_id, entry.phone_number) == (tenant.sid, GB)

    duplicate = admin_client.post(
        "/admin/limits/safelistnumber/add/", {"account": tenant.sid, "phone_number": GB}
    )
    assert duplicate.status_code == 200 and "already exists" in duplicate.content.decode()
    invalid = admin_client.post(
        "/admin/limits/safelistnumber/add/", {"account": tenant.sid, "phone_number": "+1415"}
    )
    assert invalid.status_code == 200 and "E.164" in invalid.content.decode()
    assert SafeListNumber.objects.count() == 1

    listing = admin_client.get("/admin/limits/safelistnumber/?q=7911")
    assert listing.status_code == 200 and entry.sid in listing.content.decode()
    assert admin_client.get(f"/admin/limits/safelistnumber/{entry.sid}/change/").status_code == 200

    admin_client.post(
        "/admin/limits/safelistnumber/",
        {"action": "delete_selected", "_selected_action": [entry.sid], "post": "yes"},
    )
    assert not SafeListNumber.objects.exists()
