"""Tenants (accounts), their API keys, their Services, and the event outbox."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from verify_platform.lib import sids


class Account(models.Model):
    """A tenant. Its auth token is kept twice: a SHA-256 digest to authenticate requests, and
    encrypted under the key ring because webhooks are signed with it (Twilio's scheme)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    sid = models.CharField(primary_key=True, max_length=34, default=sids.account_sid)
    friendly_name = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    auth_token_digest = models.CharField(max_length=64, editable=False)
    auth_token_encrypted = models.TextField(editable=False)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    # DRF treats the authenticated principal as `request.user`.
    is_authenticated = True
    is_anonymous = False

    class Meta:
        ordering = ("date_created",)

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"


class ApiKey(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"

    sid = models.CharField(primary_key=True, max_length=34, default=sids.api_key_sid)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    friendly_name = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    secret_digest = models.CharField(max_length=64, editable=False)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)
    date_revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ("date_created",)

    def __str__(self) -> str:
        return self.sid


class Service(models.Model):
    """A verification configuration. Field names follow Twilio's wire names, flattened."""

    sid = models.CharField(primary_key=True, max_length=34, default=sids.service_sid)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="services")
    friendly_name = models.CharField(max_length=30)
    code_length = models.PositiveSmallIntegerField(default=6)
    lookup_enabled = models.BooleanField(default=False)
    skip_sms_to_landlines = models.BooleanField(default=False)
    dtmf_input_required = models.BooleanField(default=True)
    tts_name = models.CharField(max_length=64, blank=True, null=True)
    psd2_enabled = models.BooleanField(default=False)
    do_not_share_warning_enabled = models.BooleanField(default=False)
    custom_code_enabled = models.BooleanField(default=False)
    verify_event_subscription_enabled = models.BooleanField(default=False)
    push_include_date = models.BooleanField(default=False)
    push_apn_credential_sid = models.CharField(max_length=34, blank=True, null=True)
    push_fcm_credential_sid = models.CharField(max_length=34, blank=True, null=True)
    totp_issuer = models.CharField(max_length=64, blank=True, null=True)
    totp_time_step = models.PositiveSmallIntegerField(default=30)
    totp_code_length = models.PositiveSmallIntegerField(default=6)
    totp_skew = models.PositiveSmallIntegerField(default=1)
    default_template_sid = models.CharField(max_length=34, blank=True, null=True)
    whatsapp_msg_service_sid = models.CharField(max_length=34, blank=True, null=True)
    whatsapp_from = models.CharField(max_length=64, blank=True, null=True)
    passkeys_relying_party_id = models.CharField(max_length=255, blank=True, null=True)
    passkeys_relying_party_name = models.CharField(max_length=255, blank=True, null=True)
    passkeys_relying_party_origins = models.CharField(max_length=1024, blank=True, null=True)
    passkeys_authenticator_attachment = models.CharField(max_length=16, blank=True, null=True)
    passkeys_discoverable_credentials = models.CharField(max_length=16, blank=True, null=True)
    passkeys_user_verification = models.CharField(max_length=16, blank=True, null=True)
    # Extension: ordered channel steps for `Channel=auto`, e.g.
    # [{"channel": "whatsapp", "timeout": 30}, {"channel": "sms", "timeout": 60}, {"channel": "call"}]
    fallback = models.JSONField(default=list, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created",)
        indexes = [models.Index(fields=["account", "date_created", "sid"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(code_length__gte=4, code_length__lte=10), name="service_code_length"
            ),
            models.CheckConstraint(
                condition=Q(totp_time_step__gte=20, totp_time_step__lte=60),
                name="service_totp_time_step",
            ),
            models.CheckConstraint(
                condition=Q(totp_code_length__gte=3, totp_code_length__lte=8),
                name="service_totp_code_length",
            ),
            models.CheckConstraint(
                condition=Q(totp_skew__gte=0, totp_skew__lte=2), name="service_totp_skew"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"

    @property
    def effective_totp_issuer(self) -> str:
        return self.totp_issuer or self.friendly_name


class Event(models.Model):
    """The outbox: one row per factor, challenge or verification transition, written in the
    same transaction as the change, so webhooks deliver exactly what was committed."""

    sid = models.CharField(primary_key=True, max_length=34, default=sids.event_sid)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64)
    resource_sid = models.CharField(max_length=34)
    payload = models.JSONField(default=dict)
    date_created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("date_created", "sid")
        indexes = [
            models.Index(fields=["service", "date_created"]),
            models.Index(fields=["resource_sid", "date_created"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.resource_sid}"
