"""The admin: a verification's delivery timeline, and cancel/resend through the domain."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from challenges import domain
from challenges.models import DeliveryAttempt, Verification
from tests.challenges.conftest import MOBILE, run_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-1")
    client.force_login(user)
    return client


def test_timeline_and_actions(staff, service, locmem_channels):
    verification = domain.verification_start(service=service, to=MOBILE, channel="sms")
    run_due()
    code = locmem_channels.outbox[0].code
    page = staff.get(f"/admin/challenges/verification/{verification.sid}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    attempt = DeliveryAttempt.objects.get(verification=verification)
    assert attempt.sid in html and "delivery timeline" in html.lower()
    assert code not in html  # no code, no hash on the page
    assert verification.code_salt not in html

    changelist = "/admin/challenges/verification/"
    staff.post(changelist, {"action": "resend", "_selected_action": [verification.sid]})
    assert DeliveryAttempt.objects.filter(verification=verification).count() == 2
    staff.post(changelist, {"action": "cancel", "_selected_action": [verification.sid]})
    verification.refresh_from_db()
    assert verification.status == Verification.Status.CANCELED
    assert set(
        DeliveryAttempt.objects.filter(verification=verification).values_list("status", flat=True)
    ) == {"sent", "canceled"}
