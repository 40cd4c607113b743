"""Push provider credentials (`CR...`): how the worker authenticates to APNs or FCM for an
account's apps. A Service names one of each (`Push.ApnCredentialSid`,
`Push.FcmCredentialSid`); the factor's notification platform picks which.

The private key is kept only as key-ring ciphertext (`secret_encrypted`, rotated by
`rotate_encryption_keys`): it is written once, read only by the worker that signs with it, and
never shown, logged or rendered after creation. The other fields identify the key and where
it is used, and may be shown. Names its account by string and imports nothing of
`services.models`, which imports this module so that Django registers the model.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from verify_platform.lib import sids


def credential_sid() -> str:
    """Twilio's prefix for push credentials (Notify/Conversations `Credentials`)."""
    return sids.new_sid("CR")


class PushCredential(models.Model):
    class Type(models.TextChoices):
        APN = "apn", "APNs (token-based: .p8 key)"
        FCM = "fcm", "FCM (HTTP v1: service account)"

    sid = models.CharField(primary_key=True, max_length=34, default=credential_sid)
    account = models.ForeignKey(
        "services.Account", on_delete=models.CASCADE, related_name="push_credentials"
    )
    friendly_name = models.CharField(max_length=64, blank=True, default="")
    type = models.CharField(max_length=8, choices=Type.choices)
    # APNs: the key's Key ID (the JWT's `kid`). FCM: the service account's `private_key_id`.
    key_id = models.CharField(max_length=64, blank=True, default="")
    # APNs only: the Team ID (the JWT's `iss`), the app's bundle ID (`apns-topic` when the
    # factor names no app), and whether the sandbox host is used (development builds).
    team_id = models.CharField(max_length=32, blank=True, default="")
    topic = models.CharField(max_length=255, blank=True, default="")
    sandbox = models.BooleanField(default=False)
    # FCM only: from the service-account JSON.
    project_id = models.CharField(max_length=128, blank=True, default="")
    client_email = models.EmailField(max_length=255, blank=True, default="")
    token_uri = models.URLField(max_length=255, blank=True, default="")
    # Key-ring ciphertext of the PEM private key (APNs .p8 or the service account's key).
    secret_encrypted = models.TextField(editable=False)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "push credential"
        ordering = ("date_created",)
        indexes = [models.Index(fields=["account", "date_created"], name="push_credential_account")]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=["apn", "fcm"]), name="push_credential_type"
            ),
        ]

    def __str__(self) -> str:
        label = self.friendly_name or self.get_type_display()
        return f"{label} ({self.sid})"
