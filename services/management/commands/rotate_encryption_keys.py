"""Re-encrypt every secret under the first key of VERIFY_ENCRYPTION_KEYS.

Run after putting a new key first in the ring; once it reports nothing left to rotate and
nothing unreadable, the old keys can be removed from the ring.

A row that no key of the ring opens (its key was removed too early, or the value was
damaged) is reported by model and primary key and left as it is; the run goes on with the
other rows and exits non-zero at the end, so a script or an operator cannot mistake a
partial rotation for a finished one.
"""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from verify_platform.lib import crypto

# (model label, field) of every column that holds key-ring ciphertext.
ENCRYPTED_FIELDS: list[tuple[str, str]] = [
    ("services.Account", "auth_token_encrypted"),
    ("services.Webhook", "secret_encrypted"),
    ("services.PushCredential", "secret_encrypted"),
    ("factors.Factor", "secret_encrypted"),
    ("factors.Factor", "phone_number_encrypted"),
    ("challenges.FactorCode", "code_sealed"),
    ("challenges.Verification", "code_sealed"),
]


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the current (first) encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        total = 0
        unreadable: list[tuple[str, object]] = []
        for label, field in ENCRYPTED_FIELDS:
            model = apps.get_model(label)
            rotated = skipped = 0
            rows = model._default_manager.exclude(**{field: ""}).values_list("pk", field)
            for pk, token in rows.iterator(chunk_size=batch_size):
                if crypto.is_current(token):
                    continue
                try:
                    new_token = crypto.reencrypt(token)
                except InvalidToken:
                    skipped += 1
                    unreadable.append((label, pk))
                    self.stderr.write(f"{label} pk={pk}: no key of the ring opens {field}; skipped")
                    continue
                with transaction.atomic():
                    # Compare-and-set on the old ciphertext: a secret changed meanwhile is
                    # left to the next run rather than overwritten with a stale value.
                    rotated += model._default_manager.filter(pk=pk, **{field: token}).update(
                        **{field: new_token}
                    )
            line = f"{label}.{field}: {rotated} re-encrypted"
            if skipped:
                line += f", {skipped} unreadable"
            self.stdout.write(line)
            total += rotated
        self.stdout.write(f"done: {total} secret(s) re-encrypted")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secret(s) could not be decrypted with any key of the ring "
                "and were left unchanged (listed above); keep the old keys in the ring until "
                "they are resolved"
            )
