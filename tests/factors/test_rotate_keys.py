"""`rotate_encryption_keys` re-encrypts TOTP seeds under the ring's first key."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from factors.models import Factor
from tests.factors.conftest import make_factor
from verify_platform.lib import crypto

pytestmark = pytest.mark.django_db


def test_rotation_moves_seeds_to_the_new_key(settings, service):
    # The fixtures' account token was encrypted under the configured ring; keep those keys
    # readable until the rotation has moved everything to key B.
    original = list(settings.VERIFY_ENCRYPTION_KEYS)
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.VERIFY_ENCRYPTION_KEYS = [key_a, *original]
    factor, secret = make_factor(service)
    stored = Factor.objects.get(pk=factor.pk).secret_encrypted
    assert secret not in stored
    assert crypto.decrypt(stored) == secret

    settings.VERIFY_ENCRYPTION_KEYS = [key_b, key_a, *original]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "factors.Factor.secret_encrypted: 1 re-encrypted" in out.getvalue()
    rotated = Factor.objects.get(pk=factor.pk).secret_encrypted
    assert rotated != stored

    settings.VERIFY_ENCRYPTION_KEYS = [key_b]
    assert crypto.decrypt(rotated) == secret
    with pytest.raises(InvalidToken):
        crypto.decrypt(stored)  # the old ciphertext needed key A
    # Nothing left to rotate on a second run.
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "factors.Factor.secret_encrypted: 0 re-encrypted" in out.getvalue()


def test_recovery_factors_have_no_ciphertext_and_are_skipped(settings, service):
    from factors import domain

    original = list(settings.VERIFY_ENCRYPTION_KEYS)
    key_b = Fernet.generate_key().decode()
    domain.factor_create(
        service=service, identity="user-0001-abcd", factor_type="recovery_codes",
        friendly_name="Backup",
    )  # fmt: skip
    settings.VERIFY_ENCRYPTION_KEYS = [key_b, *original]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "factors.Factor.secret_encrypted: 0 re-encrypted" in out.getvalue()
    assert "services.Account.auth_token_encrypted: 1 re-encrypted" in out.getvalue()
