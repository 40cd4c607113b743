"""Fixtures of the OTP engine tests: every channel on the locmem adapter, and a way to run
due delivery attempts in-process (the worker tests run a real worker instead)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.factors.conftest import verified_factor  # noqa: F401  (shared fixture)
from tests.worker import module_worker, outbox, worker  # noqa: F401 (fixtures)

MOBILE = "+447911123456"  # phonenumbers: MOBILE
OTHER_MOBILE = "+5511987654321"
LANDLINE = "+33142685300"  # phonenumbers: FIXED_LINE


@pytest.fixture(autouse=True)
def locmem_channels(settings):
    from channels.adapters import locmem

    settings.VERIFY_CHANNELS = {
        channel: {"BACKEND": "locmem", "OPTIONS": {}}
        for channel in ("sms", "whatsapp", "call", "email")
    }
    locmem.reset()
    yield locmem
    locmem.reset()


def run_due(now: datetime | None = None) -> list[str]:
    """What a worker would do: send every scheduled attempt that is due at `now`."""
    from challenges import domain
    from challenges.models import DeliveryAttempt
    from verify_platform.lib.clock import current_time

    moment = current_time(now)
    due = DeliveryAttempt.objects.filter(
        status=DeliveryAttempt.Status.SCHEDULED, due_at__lte=moment
    ).order_by("due_at", "sid")
    return [domain.delivery_attempt_send(attempt_sid=a.sid, now=now) for a in due]


def outbox_codes() -> list[tuple[str, str, str]]:
    from channels.adapters import locmem

    return [(m.channel, m.to, m.code) for m in locmem.outbox]


def start_verification(api, service, **params):
    """`POST .../Verifications` with `params`; a refused start must leave no verification
    behind."""
    from challenges.models import Verification
    from tests.helpers import form

    before = Verification.objects.count()
    response = form(api, f"/v2/Services/{service.sid}/Verifications", params)
    if response.status_code >= 400:
        assert Verification.objects.count() == before
    return response
