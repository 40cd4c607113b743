"""Re-encrypt every secret under the first key of VERIFY_ENCRYPTION_KEYS.

Run after putting a new key first in the ring; once it reports nothing left to rotate, the
old keys can be removed from the ring.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from verify_platform.lib import crypto

# (model label, field) of every column that holds key-ring ciphertext.
ENCRYPTED_FIELDS: list[tuple[str, str]] = [
    ("services.Account", "auth_token_encrypted"),
    ("factors.Factor", "secret_encrypted"),
    ("factors.Factor", "phone_number_encrypted"),
    ("challenges.FactorCode", "code_sealed"),
]


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the current (first) encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        total = 0
        for label, field in ENCRYPTED_FIELDS:
            model = apps.get_model(label)
            rotated = 0
            rows = model._default_manager.exclude(**{field: ""}).values_list("pk", field)
            for pk, token in rows.iterator(chunk_size=batch_size):
                if crypto.is_current(token):
                    continue
                with transaction.atomic():
                    # Compare-and-set on the old ciphertext: a secret changed meanwhile is
                    # left to the next run rather than overwritten with a stale value.
                    rotated += model._default_manager.filter(pk=pk, **{field: token}).update(
                        **{field: crypto.reencrypt(token)}
                    )
            self.stdout.write(f"{label}.{field}: {rotated} re-encrypted")
            total += rotated
        self.stdout.write(f"done: {total} secret(s) re-encrypted")
