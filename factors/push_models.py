"""The device half of a `push` factor: the public key the app signs with and where its
notifications go. A side table (one row per push factor) so the TOTP hot path's factor row
stays narrow; it names the factor by string and imports nothing of `factors.models`."""

from __future__ import annotations

from django.db import models


class NotificationPlatform(models.TextChoices):
    """Twilio's `Config.NotificationPlatform`: `none` means the app polls."""

    APN = "apn"
    FCM = "fcm"
    NONE = "none"


class PushBinding(models.Model):
    factor = models.OneToOneField(
        "factors.Factor", on_delete=models.CASCADE, primary_key=True, related_name="push_binding"
    )
    # `Binding.Alg` (only ES256) and `Binding.PublicKey`: base64 DER SubjectPublicKeyInfo of
    # the device's P-256 key. The platform never sees the private key.
    alg = models.CharField(max_length=8, default="ES256")
    public_key = models.TextField()
    app_id = models.CharField(max_length=255, blank=True, default="")
    notification_platform = models.CharField(
        max_length=8, choices=NotificationPlatform.choices, default=NotificationPlatform.NONE
    )
    notification_token = models.CharField(max_length=255, blank=True, default="")
    sdk_version = models.CharField(max_length=64, blank=True, default="")
    # Set when the provider said the token is gone (APNs 410, FCM UNREGISTERED); cleared when
    # the app sends a new token.
    notification_token_invalid_at = models.DateTimeField(null=True, blank=True)
    notification_token_invalid_reason = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"push binding of {self.factor_id}"
