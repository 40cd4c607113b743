"""The device half of a `push` factor: the public key the app signs with and where its
notifications go. A side table (one row per push factor) so the TOTP hot path's factor row
stays narrow; it names the factor by string and imports nothing of `factors.models`."""

from __future__ import annotations

from django.db import models

from verify_platform.lib.sids import new_sid


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


def access_token_sid() -> str:
    """`YK`, Twilio's prefix for an Access Token."""
    return new_sid("YK")


class PushAccessToken(models.Model):
    """An enrolment grant a tenant's backend hands to its app (`POST .../AccessTokens`).

    The token itself is never stored: it is a JWT signed with a key derived from the
    platform's secrets (`factors.push_crypto`) over these columns, so the fetch re-signs the
    same claims and gets the same text. The row makes the grant single-use: the factor create
    it authorises sets `factor_sid` in the same transaction, and a second use finds it set."""

    sid = models.CharField(primary_key=True, max_length=34, default=access_token_sid)
    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    identity = models.CharField(max_length=64)
    factor_type = models.CharField(max_length=16, default="push")
    factor_friendly_name = models.CharField(max_length=64, blank=True, default="")
    ttl = models.PositiveSmallIntegerField(default=60)
    date_created = models.DateTimeField()
    expires_at = models.DateTimeField()
    # The factor this grant created: set once, in the create's transaction.
    factor_sid = models.CharField(max_length=34, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"access token {self.sid}"
