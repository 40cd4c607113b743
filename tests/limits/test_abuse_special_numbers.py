"""Special destinations (premium rate, shared cost, UAN, personal numbers, pagers, voicemail
access, satellite and the other non-geographic networks, international freephone) get no
code: 403/60410 before anything is written, enqueued or sent, unless the account allows that
type or the number is in its Safe List.

The reference is phonenumbers' own example numbers, for every region and type and every
non-geographic entity, judged by the rule as the issue states it (`_refused_by_rule`, written
here without the platform's code): a type in the list, or a non-geographic number.
"""

from __future__ import annotations

import phonenumbers
import pytest
from django.db import IntegrityError, transaction
from phonenumbers import PhoneNumberType as T
from twilio.base.exceptions import TwilioRestException

from challenges.models import DeliveryAttempt, FactorCode, Verification
from factors.models import Factor
from limits import special
from services.models import Account
from tests.challenges.conftest import run_due
from tests.helpers import assert_twilio_error, form
from tests.phone import enrolled_factor, sdk_create_factor, sent
from verify_platform.lib import phones

pytestmark = pytest.mark.django_db

REFUSED_TYPES = {T.PREMIUM_RATE, T.SHARED_COST, T.UAN, T.PERSONAL_NUMBER, T.PAGER, T.VOICEMAIL}
# The numbers of the report, each sent a code before: +1 900, GB 09 and 0871, FR 089,
# Inmarsat +870, international freephone +800; and a valid DE 0900.
ISSUE_EXAMPLES = {
    "+19005550100": "premium_rate",
    "+449098765432": "premium_rate",
    "+448712345678": "premium_rate",
    "+33892123456": "premium_rate",
    "+870773111111": "satellite",
    "+80012345678": "international_freephone",
    "+499001234567": "premium_rate",
}
MOBILE = "+447911123456"


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _refused_by_rule(e164: str) -> bool:
    number = phonenumbers.parse(e164)
    return (
        phonenumbers.number_type(number) in REFUSED_TYPES
        or phonenumbers.region_code_for_number(number) == "001"  # non-geographic
    )


def _examples() -> list[str]:
    """phonenumbers' example number of every refused type in every region, and every
    example of every non-geographic entity."""
    found = set(ISSUE_EXAMPLES)
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in REFUSED_TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.number_type(example) == kind:
                found.add(_e164(example))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
        for name in ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
                     "personal_number", "voip", "pager", "uan", "voicemail"):  # fmt: skip
            desc = getattr(metadata, name)
            if desc is not None and desc.example_number:
                found.add(f"+{code}{desc.example_number}")
        found.add(_e164(phonenumbers.example_number_for_non_geo_entity(code)))
    return sorted(n for n in found if phonenumbers.is_valid_number(phonenumbers.parse(n)))


EXAMPLES = _examples()


def _ordinary() -> list[str]:
    """Mobile and fixed-line examples of every region: never refused."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (T.MOBILE, T.FIXED_LINE, T.FIXED_LINE_OR_MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.number_type(example) == kind:
                found.append(_e164(example))
    return found


def _start(api, service, to: str, channel: str = "sms"):
    return form(api, f"/v2/Services/{service.sid}/Verifications", {"To": to, "Channel": channel})


def _factor(api, service, number: str, factor_type: str = "sms"):
    return form(
        api,
        f"/v2/Services/{service.sid}/Entities/special-user-0001/Factors",
        {"FriendlyName": "Phone", "FactorType": factor_type, "Binding.PhoneNumber": number},
    )


def _allow(tenant, *types: str) -> None:
    Account.objects.filter(pk=tenant.sid).update(allowed_special_numbers=list(types))


def _nothing_written_or_sent() -> None:
    assert not Verification.objects.exists() and not DeliveryAttempt.objects.exists()
    assert not Factor.objects.exists() and not FactorCode.objects.exists()
    assert run_due() == [] and sent() == []


def test_the_reference_holds_every_type_and_the_issue_examples():
    kinds = {phonenumbers.number_type(phonenumbers.parse(n)) for n in EXAMPLES}
    assert kinds >= REFUSED_TYPES
    assert {n[:4] for n in EXAMPLES} >= {"+800", "+870", "+881", "+882", "+883", "+979"}
    assert len(EXAMPLES) > 300
    assert all(_refused_by_rule(n) for n in ISSUE_EXAMPLES)


@pytest.mark.parametrize("number", EXAMPLES)
def test_every_special_example_is_typed_special(number):
    assert phones.special_type(number) is not None
    assert phones.special_type(number) in phones.SPECIAL_NUMBER_TYPES


@pytest.mark.parametrize("number", _ordinary())
def test_ordinary_examples_are_not_special(number):
    assert not _refused_by_rule(number)
    assert phones.special_type(number) is None


@pytest.mark.parametrize("number", EXAMPLES)
def test_a_verification_to_a_special_number_is_refused_before_anything_is_written(
    api, service, number, django_capture_on_commit_callbacks
):
    assert _refused_by_rule(number)
    with django_capture_on_commit_callbacks() as callbacks:
        body = assert_twilio_error(_start(api, service, number), 403, 60410)
    assert body["message"].startswith("Verification delivery attempt blocked")
    assert callbacks == []  # nothing enqueued
    _nothing_written_or_sent()


@pytest.mark.parametrize(("number", "kind"), sorted(ISSUE_EXAMPLES.items()))
def test_the_reported_numbers_through_the_sdk_on_every_phone_channel(sdk, service, number, kind):
    verifications = sdk.services(service.sid).verifications
    for channel in ("sms", "whatsapp", "call"):
        with pytest.raises(TwilioRestException) as exc:
            verifications.create(to=number, channel=channel)
        assert (exc.value.status, exc.value.code) == (403, 60410)
        assert phones.SPECIAL_NUMBER_TYPES[kind] in exc.value.msg
    _nothing_written_or_sent()


def test_ordinary_numbers_still_get_codes(api, service):
    for number in (MOBILE, "+14155550142", "+5511987654321", "+18005551212"):  # toll-free US
        assert _start(api, service, number).status_code == 201, number
    assert len(run_due()) == 4


@pytest.mark.parametrize("factor_type", ["sms", "whatsapp", "voice"])
@pytest.mark.parametrize("number", sorted(ISSUE_EXAMPLES))
def test_a_phone_factor_on_a_special_number_is_refused_and_not_kept(
    api, service, number, factor_type, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        assert_twilio_error(_factor(api, service, number, factor_type), 403, 60410)
    assert callbacks == []
    _nothing_written_or_sent()


def test_a_phone_factor_through_the_sdk(sdk, service):
    with pytest.raises(TwilioRestException) as exc:
        sdk_create_factor(
            sdk, service.sid, FactorType="sms", **{"Binding.PhoneNumber": "+19005550100"}
        )
    assert (exc.value.status, exc.value.code) == (403, 60410)
    _nothing_written_or_sent()


def test_the_account_setting_allows_exactly_its_types(api, service, tenant):
    _allow(tenant, "premium_rate", "international_freephone")
    assert _start(api, service, "+19005550100").status_code == 201
    assert _start(api, service, "+80012345678").status_code == 201
    assert _factor(api, service, "+33892123456").status_code == 201
    assert_twilio_error(_start(api, service, "+870773111111"), 403, 60410)  # satellite
    assert_twilio_error(_start(api, service, "+8823421234"), 403, 60410)  # international network
    assert len(run_due()) == 3
    assert sorted(to for _, to, _ in sent()) == ["+19005550100", "+33892123456", "+80012345678"]


def test_another_accounts_setting_does_not_count(api, service, other_tenant):
    _allow(other_tenant, *phones.SPECIAL_NUMBER_TYPES)
    assert_twilio_error(_start(api, service, "+19005550100"), 403, 60410)


def test_a_safe_listed_number_is_never_refused(api, service, other_api):
    for number in ISSUE_EXAMPLES:
        assert form(api, "/v2/SafeList/Numbers", {"PhoneNumber": number}).status_code == 201
    for number in ISSUE_EXAMPLES:
        assert _start(api, service, number).status_code == 201, number
    assert _factor(api, service, "+19005550100", "voice").status_code == 201
    run_due()
    assert sorted(to for _, to, _ in sent()) == sorted([*ISSUE_EXAMPLES, "+19005550100"])
    # Another account's Safe List does not count.
    other_service = form(other_api, "/v2/Services", {"FriendlyName": "Other"}).json()["sid"]
    assert_twilio_error(
        form(
            other_api,
            f"/v2/Services/{other_service}/Verifications",
            {"To": "+19005550100", "Channel": "sms"},
        ),
        403,
        60410,
    )


def test_the_safe_list_wins_over_geo_permissions_and_the_type_together(
    api, service, tenant, settings
):
    settings.VERIFY_ALLOWED_COUNTRIES = ["GB"]
    assert_twilio_error(_start(api, service, "+19005550100"), 403, 60410)
    _allow(tenant, "premium_rate")
    assert_twilio_error(_start(api, service, "+19005550100"), 403, 60605)  # then the country
    assert form(api, "/v2/SafeList/Numbers", {"PhoneNumber": "+19005550100"}).status_code == 201
    assert _start(api, service, "+19005550100").status_code == 201


def test_a_challenge_to_a_factor_whose_type_is_no_longer_allowed_is_refused(api, service, tenant):
    _allow(tenant, "premium_rate")
    factor = enrolled_factor(service, "+19005550100")
    _allow(tenant)
    path = f"/v2/Services/{service.sid}/Entities/{factor.entity.identity}/Challenges"
    before = FactorCode.objects.count()
    assert_twilio_error(form(api, path, {"FactorSid": factor.sid}), 403, 60410)
    assert FactorCode.objects.count() == before and run_due() == []


def test_ordinary_numbers_read_nothing_and_special_ones_one_row(tenant, django_assert_num_queries):
    with django_assert_num_queries(0):
        special.destination_permit(to=MOBILE, account_id=tenant.sid)
    _allow(tenant, "premium_rate")
    with django_assert_num_queries(1):
        special.destination_permit(to="+19005550100", account_id=tenant.sid)


def test_the_database_refuses_an_unknown_type(tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        _allow(tenant, "premium_rate", "everything")


def test_the_admin_edits_the_setting_with_known_types_only(admin_client, tenant):
    url = f"/admin/services/account/{tenant.sid}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="allowed_special_numbers"' in page and 'value="satellite"' in page
    data = {
        "friendly_name": "Tenant",
        "allowed_special_numbers": ["premium_rate", "satellite"],
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
    }
    assert admin_client.post(url, data).status_code == 302
    assert Account.objects.get(pk=tenant.sid).allowed_special_numbers == [
        "premium_rate",
        "satellite",
    ]
    refused = admin_client.post(url, {**data, "allowed_special_numbers": ["everything"]})
    assert (
        refused.status_code == 200
        and "not one of the available choices" in refused.content.decode()
    )
    assert Account.objects.get(pk=tenant.sid).allowed_special_numbers == [
        "premium_rate",
        "satellite",
    ]
