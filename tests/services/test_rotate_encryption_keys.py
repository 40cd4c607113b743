"""`rotate_encryption_keys`: webhook secrets rotate too; a row no key opens is reported by
model and primary key, skipped, the others still rotate, and the exit status is non-zero."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from factors.models import Factor
from services.models import Account, Webhook
from tests.factors.conftest import make_factor
from verify_platform.lib import crypto

pytestmark = pytest.mark.django_db


@pytest.fixture
def ring(settings):
    """Switch the key ring; the fixtures' rows were encrypted under the configured keys."""
    original = list(settings.VERIFY_ENCRYPTION_KEYS)

    def use(*keys: str) -> None:
        settings.VERIFY_ENCRYPTION_KEYS = [*keys, *original]

    return use


def make_webhook(service) -> tuple[Webhook, str]:
    from services.webhooks.domain import webhook_create

    return webhook_create(
        service=service,
        friendly_name="Backend",
        event_types=["*"],
        webhook_url="https://example.com/hook",
    )


def test_webhook_signing_secrets_are_rotated(ring, service):
    key_b = Fernet.generate_key().decode()
    webhook, secret = make_webhook(service)
    stored = Webhook.objects.get(pk=webhook.pk).secret_encrypted

    ring(key_b)
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "services.Webhook.secret_encrypted: 1 re-encrypted" in out.getvalue()
    rotated = Webhook.objects.get(pk=webhook.pk).secret_encrypted
    assert rotated != stored and crypto.is_current(rotated)
    assert crypto.decrypt(rotated) == secret


def test_unreadable_row_is_reported_skipped_and_fails_the_run(ring, settings, service):
    key_a, key_b, lost = (Fernet.generate_key().decode() for _ in range(3))
    ring(key_a)
    good, good_seed = make_factor(service, identity="user-good-0001")
    # A seed under a key that is no longer in any ring.
    bad, _ = make_factor(service, identity="user-bad-00001")
    with_lost_key = Fernet(lost.encode()).encrypt(b"JBSWY3DPEHPK3PXP").decode()
    Factor.objects.filter(pk=bad.pk).update(secret_encrypted=with_lost_key)
    webhook, secret = make_webhook(service)

    ring(key_b, key_a)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 secret"):
        call_command("rotate_encryption_keys", stdout=out, stderr=err)

    assert f"factors.Factor pk={bad.pk}" in err.getvalue()
    assert "factors.Factor.secret_encrypted: 1 re-encrypted, 1 unreadable" in out.getvalue()
    # The run went on: every other secret is under the new key, the bad row untouched.
    assert Factor.objects.get(pk=bad.pk).secret_encrypted == with_lost_key
    rotated = Factor.objects.get(pk=good.pk).secret_encrypted
    assert crypto.is_current(rotated) and crypto.decrypt(rotated) == good_seed
    assert crypto.decrypt(Webhook.objects.get(pk=webhook.pk).secret_encrypted) == secret
    for token in Account.objects.values_list("auth_token_encrypted", flat=True):
        assert crypto.is_current(token)
    assert "done: " in out.getvalue()
    # Nothing secret in the report.
    assert good_seed not in out.getvalue() + err.getvalue()
    assert with_lost_key not in out.getvalue() + err.getvalue()

    # From the command line the same run exits non-zero.
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "rotate_encryption_keys"]).execute()
    assert exit_info.value.code != 0


def test_every_ciphertext_column_is_rotated():
    """A new `*_encrypted` or `*_sealed` column that the command does not know would keep
    its old key forever, and removing that key from the ring would make it unreadable."""
    from django.apps import apps

    from services.management.commands.rotate_encryption_keys import ENCRYPTED_FIELDS

    columns = {
        (model._meta.label, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name.endswith(("_encrypted", "_sealed"))
    }
    assert columns and columns == set(ENCRYPTED_FIELDS)
