"""`rotate_encryption_keys` moves the sealed copies of pending codes to the new key: a
verification started under the old key still delivers the same code on its next fallback
step, and that code still checks, after the old key has left the ring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from challenges import domain
from challenges.models import Verification
from tests.challenges.conftest import MOBILE, outbox_codes, run_due
from verify_platform.lib import crypto

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_pending_verification_code_survives_rotation_and_removal_of_the_old_key(settings, service):
    original = list(settings.VERIFY_ENCRYPTION_KEYS)
    key_old, key_new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    service.fallback = [{"channel": "whatsapp", "timeout": 30}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])

    settings.VERIFY_ENCRYPTION_KEYS = [key_old, *original]
    verification = domain.verification_start(service=service, to=MOBILE, channel="auto", now=T0)
    run_due(T0)
    [(_, _, code)] = outbox_codes()  # the first step, sealed and sent under the old key
    sealed_before = Verification.objects.get(pk=verification.pk).code_sealed
    assert Fernet(key_old.encode()).decrypt(sealed_before.encode()).decode() == code

    settings.VERIFY_ENCRYPTION_KEYS = [key_new, key_old, *original]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "challenges.Verification.code_sealed: 1 re-encrypted" in out.getvalue()

    settings.VERIFY_ENCRYPTION_KEYS = [key_new]  # the old keys are gone
    sealed_after = Verification.objects.get(pk=verification.pk).code_sealed
    assert sealed_after != sealed_before
    with pytest.raises(InvalidToken):
        crypto.decrypt(sealed_before)
    # The next fallback step opens the rotated copy and sends the same code ...
    run_due(T0 + timedelta(seconds=31))
    assert [(channel, sent) for channel, _, sent in outbox_codes()] == [
        ("whatsapp", code),
        ("sms", code),
    ]
    # ... which still checks (the stored hash never depended on the key ring).
    checked = domain.verification_check(
        verification=verification, code=code, now=T0 + timedelta(seconds=40)
    )
    assert checked.status == "approved"
