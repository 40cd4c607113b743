"""The `Country` filter agrees with `phonenumbers` (what `channel_data.country` shows) on
every region that shares its calling code with others, where a prefix cannot decide."""

from __future__ import annotations

from datetime import timedelta

import phonenumbers
import pytest

from challenges import attempt_queries
from challenges.models import DeliveryAttempt, Verification
from verify_platform.lib.clock import current_time

pytestmark = pytest.mark.django_db

SHARED = {
    code: regions
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    if len(regions) > 1
}


def _examples() -> set[str]:
    numbers = set()
    for regions in SHARED.values():
        for region in regions:
            for kind in phonenumbers.PhoneNumberType.values():
                example = phonenumbers.example_number_for_type(region, kind)
                if example is not None:
                    numbers.add(phonenumbers.format_number(example, 0))  # E164
    return numbers


def test_every_region_of_a_shared_calling_code(tenant, service):
    now = current_time()
    numbers = sorted(_examples())
    assert len(numbers) > 100 and "+16135550123" not in numbers
    verifications = Verification.objects.bulk_create(
        Verification(
            service=service,
            to=to,
            channel="sms",
            status="expired",
            code_hash="x",
            code_salt="x",
            expires_at=now,
        )
        for to in numbers
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            verification=v, channel="sms", status="sent", due_at=now, deadline=now, tries=1
        )
        for v in verifications
    )
    expected: dict[str, set[str]] = {}
    for to in numbers:
        expected.setdefault(attempt_queries.country_of(to), set()).add(to)
    assert len(expected) > 30  # most regions of those calling codes have an example

    for regions in SHARED.values():
        for region in regions:
            rows = attempt_queries.attempt_list(
                account=tenant.account,
                filters=attempt_queries.AttemptFilter(
                    country=region, date_created_after=now - timedelta(hours=1)
                ),
            )
            found = {a.verification.to for a in rows}
            assert found == expected.get(region, set()), region
